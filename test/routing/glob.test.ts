import t from 'tap';
import { globMatch, isCatchAll } from '../../src/config/glob.js';

t.test('namespace globs', async (t) => {
  const cases: [string, string, boolean][] = [
    ['team-*', 'team-a', true],
    ['team-*', 'team-', true],
    ['team-*', 'team', false],
    ['team-*', 'my-team-a', false],
    ['*-prod', 'shop-prod', true],
    ['secure-?', 'secure-1', true],
    ['secure-?', 'secure-12', false],
    ['default', 'default', true],
    ['default', 'defaults', false],
    ['k8s.io', 'k8s.io', true],
    ['k8s.io', 'k8sxio', false],
    ['*', '', true],
    ['*', 'anything', true],
  ];
  for (const [p, name, want] of cases) t.equal(globMatch(p, name), want, `${p} ~ ${name}`);
  t.ok(isCatchAll('*'));
  t.ok(isCatchAll('**'));
  t.notOk(isCatchAll('*-*'));
});
