import t from 'tap';
import { parseShimArgs } from '../../src/shim/argv.js';
import { decodeRuntimeOptions } from '../../src/shim/options.js';
import { encodeDeleteResponse } from '../../src/shim/delete-response.js';
import { containerd, runtimeoptions } from '../../src/gen/proto.js';
import { socketAddress } from '../../src/shim/address.js';

t.test('containerd 1.6 argv, as observed', async (t) => {
  t.match(parseShimArgs(['-namespace', 'probens', '-address', '/c.sock', '-publish-binary', '/usr/bin/containerd', '-id', 'probe1', '-debug', 'start']), {
    action: 'start',
    namespace: 'probens',
    address: '/c.sock',
    publishBinary: '/usr/bin/containerd',
    id: 'probe1',
    debug: true,
  });
  t.match(parseShimArgs(['-namespace', 'n', '-address', 'a', '-publish-binary', 'p', '-id', 'i', '-bundle', '/b', 'delete']), { action: 'delete', bundle: '/b' });
  t.match(parseShimArgs(['--namespace=n', '-v']), { action: 'version', namespace: 'n' });
  t.match(parseShimArgs(['-namespace', 'n', '-id', 'x']), { action: 'serve' });
  t.throws(() => parseShimArgs(['-bogus', 'x', 'start']), /flag provided but not defined: -bogus/);
  t.throws(() => parseShimArgs(['-id']), /needs an argument/);
  t.throws(() => parseShimArgs(['frobnicate']), /unknown action/);
});

t.test('runtime options on stdin', async (t) => {
  t.equal(decodeRuntimeOptions(Buffer.alloc(0)), undefined, 'empty stdin: no options');
  // The exact bytes containerd 1.6 sent with --runtime-config-path (docs/protocol.md §2.4).
  const inner = Buffer.from(runtimeoptions.v1.Options.encode({ configPath: '/etc/switchyard/x.toml' }).finish());
  const any = Buffer.concat([Buffer.from([0x0a, 25]), Buffer.from('runtimeoptions.v1.Options'), Buffer.from([0x12, inner.length]), inner]);
  t.same(decodeRuntimeOptions(any), { typeUrl: 'runtimeoptions.v1.Options', configPath: '/etc/switchyard/x.toml' });
  t.throws(() => decodeRuntimeOptions(Buffer.from([0x0a, 0x40, 0x41])), /truncated/);
});

t.test('the hand-written DeleteResponse decodes with the generated code', async (t) => {
  const at = new Date(1_700_000_000_123);
  const bytes = encodeDeleteResponse({ pid: 4242, exitStatus: 137, exitedAt: at });
  const d = containerd.task.v2.DeleteResponse.decode(bytes);
  t.equal(d.pid, 4242);
  t.equal(d.exitStatus, 137);
  t.equal(d.exitedAt?.seconds, 1_700_000_000);
  t.equal(d.exitedAt?.nanos, 123_000_000);
  t.same(Buffer.from(containerd.task.v2.DeleteResponse.encode({ pid: 4242, exitStatus: 137, exitedAt: { seconds: 1_700_000_000, nanos: 123_000_000 } }).finish()), bytes);
});

t.test('the shim socket address', async (t) => {
  // The worked example of docs/protocol.md §2.6.
  t.equal(socketAddress('/run/containerd/containerd.sock', 'k8s.io', '0123abcd'), 'unix:///run/containerd/s/48e2587efba6512f6445a3c9f275a26bd275dbb5c4d690f9c54bf5c95d13b5b5');
});
