import t from 'tap';
import { createArgs, deleteArgs, globalArgs, killArgs, psArgs, startArgs } from '../../../src/backends/oci/args.js';

t.test('runc argv as go-runc builds it', async (t) => {
  t.same(globalArgs({ root: '/run/r/ns', log: '/b/log.json' }), ['--root', '/run/r/ns', '--log', '/b/log.json', '--log-format', 'json']);
  t.same(globalArgs({ root: '/r', systemdCgroup: true, extra: ['--debug'] }), ['--root', '/r', '--systemd-cgroup', '--debug']);
  t.same(createArgs({ id: 'c1', bundle: '/b', pidFile: '/b/init.pid' }), ['create', '--bundle', '/b', '--pid-file', '/b/init.pid', 'c1']);
  t.same(createArgs({ id: 'c1', bundle: '/b', pidFile: '/p', consoleSocket: '/s', noPivot: true, noNewKeyring: true }), [
    'create', '--bundle', '/b', '--pid-file', '/p', '--console-socket', '/s', '--no-pivot', '--no-new-keyring', 'c1',
  ]);
  t.same(startArgs('c1'), ['start', 'c1']);
  t.same(killArgs('c1', 15, false), ['kill', 'c1', '15']);
  t.same(killArgs('c1', 9, true), ['kill', '--all', 'c1', '9']);
  t.same(deleteArgs('c1', true), ['delete', '--force', 'c1']);
  t.same(psArgs('c1'), ['ps', '--format', 'json', 'c1']);
});
