import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { readBundleSpec, validateBundle, validateId } from '../../src/task/validate.js';
import { tempDir } from '../helpers/tmp.js';
import { kindOf } from '../helpers/error-kind.js';

const kind = kindOf;

t.test('ids: containerd\'s identifier rule, no path tricks', async (t) => {
  t.equal(validateId('abc-1.x_y'), 'abc-1.x_y');
  for (const bad of ['', '../x', 'a/b', '.a', 'a..b', 'a-', 'x'.repeat(77), 'a b', 'é']) t.match(kind(() => validateId(bad, 'exec_id')), /^invalid-argument: exec_id/, JSON.stringify(bad));
});

t.test('bundles: absolute, clean, existing', async (t) => {
  const dir = tempDir(t);
  t.equal(validateBundle(dir), dir);
  t.match(kind(() => validateBundle('rel/dir')), /^invalid-argument/);
  t.match(kind(() => validateBundle(`${dir}/../x`)), /^invalid-argument: .*clean/);
  t.match(kind(() => validateBundle(path.join(dir, 'missing'))), /^failed-precondition/);
});

t.test('config.json: size, JSON, annotation types and sizes, each named', async (t) => {
  const dir = tempDir(t);
  const spec = (v: unknown) => fs.writeFileSync(path.join(dir, 'config.json'), typeof v === 'string' ? v : JSON.stringify(v));
  spec({ annotations: { a: 'b' }, linux: { namespaces: [{ type: 'pid' }] } });
  t.same(readBundleSpec(dir), { annotations: { a: 'b' }, sharedPidNamespace: false });
  spec('{nope');
  t.match(kind(() => readBundleSpec(dir)), /invalid-argument: .*config\.json: invalid JSON/);
  spec({ annotations: { a: 1 } });
  t.match(kind(() => readBundleSpec(dir)), /annotation "a" must be a string/);
  spec({ annotations: { ['k'.repeat(400)]: 'v' } });
  t.match(kind(() => readBundleSpec(dir)), /annotation key "k+…" is longer than 317/);
  spec({ annotations: { a: 'x'.repeat(200 << 10), b: 'y'.repeat(100 << 10) } });
  t.match(kind(() => readBundleSpec(dir)), /annotations exceed 262144 bytes \(at "b"\)/);
  fs.writeFileSync(path.join(dir, 'config.json'), Buffer.alloc((16 << 20) + 1, 32));
  t.match(kind(() => readBundleSpec(dir)), /larger than/);
});
