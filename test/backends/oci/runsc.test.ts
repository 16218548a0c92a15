import t from 'tap';
import { checkNetwork, endsProcess, netstackBroken, refusedSignalState, runscCheckpointArgs, runscNetwork, runscRelease, runscRestoreArgs, specNetwork } from '../../../src/backends/oci/runsc.js';
import { cgroupWrites } from '../../../src/backends/oci/cgroup-update.js';
import { ErrorKind } from '../../../src/errors/index.js';

t.test('the network mode is the last --network of the flags; runsc defaults to sandbox', async (t) => {
  t.equal(runscNetwork([]), 'sandbox');
  t.equal(runscNetwork(['--platform=systrap', '--network=host']), 'host');
  t.equal(runscNetwork(['--network=host', '--network', 'none']), 'none');
});

t.test('gVisor issue 10704: runsc before 20240807 on Linux 6.11 or later', async (t) => {
  t.equal(runscRelease('runsc version 0.0~20240729.0'), 20240729);
  t.equal(runscRelease('runsc version release-20240807.0'), 20240807);
  t.match(netstackBroken('runsc version 0.0~20240729.0', '6.18.44-fc'), /0\.0~20240729\.0 cannot run its own network stack .* Linux 6\.18\.44-fc: .*issue 10704/);
  t.equal(netstackBroken('runsc version 0.0~20240729.0', '6.10.3'), undefined, 'older kernels are fine');
  t.equal(netstackBroken('runsc version 0.0~20221219.0', '6.1.0-28-amd64'), undefined, "bookworm's own kernel");
  t.equal(netstackBroken('runsc version release-20240807.0', '6.18.0'), undefined, 'the fixed release');
});

t.test('Create under network = "sandbox" is refused where it cannot work, saying what to change', async (t) => {
  const own = { linux: { namespaces: [{ type: 'network' }] } };
  const host = { linux: { namespaces: [{ type: 'pid' }] } };
  t.equal(specNetwork(own), 'own');
  t.equal(specNetwork(host), 'host');
  const fixed = 'runsc version release-20250101.0';
  t.doesNotThrow(() => checkNetwork({ runtime: 'gv', mode: 'sandbox', spec: own, version: fixed, kernel: '6.18.0' }));
  t.throws(() => checkNetwork({ runtime: 'gv', mode: 'sandbox', spec: host, version: fixed, kernel: '6.18.0' }), {
    kind: ErrorKind.FailedPrecondition,
    message: /host's network cannot run with runsc network = "sandbox".*set network = "host".*\[runtimes\.gv\.runsc_config\]/,
  });
  t.throws(() => checkNetwork({ runtime: 'gv', mode: 'sandbox', spec: own, version: 'runsc version 0.0~20240729.0', kernel: '6.18.0' }), {
    kind: ErrorKind.FailedPrecondition,
    message: /issue 10704.*install runsc 20240807 or newer/,
  });
  for (const mode of ['host', 'none'] as const) t.doesNotThrow(() => checkNetwork({ runtime: 'gv', mode, spec: host, version: 'runsc version 0.0~20240729.0', kernel: '6.18.0' }));
});

t.test("runsc's refusals to signal, and which signals end a process", async (t) => {
  t.equal(refusedSignalState('runsc kill: cannot signal container "c1" in state created'), 'created');
  t.equal(refusedSignalState('cannot signal container "c1" in state paused: unknown'), 'paused');
  t.equal(refusedSignalState('container not found'), undefined);
  t.ok(endsProcess(9) && endsProcess(15) && endsProcess(2));
  t.notOk(endsProcess(0) || endsProcess(28) || endsProcess(17));
});

t.test('checkpoint and restore in runsc spelling; CRIU-only options refused', async (t) => {
  t.same(runscCheckpointArgs('c1', { imagePath: '/i', workPath: '/w', leaveRunning: true }), ['checkpoint', '--image-path', '/i', '--work-path', '/w', '--leave-running', 'c1']);
  t.throws(() => runscCheckpointArgs('c1', { imagePath: '/i', tcpEstablished: true }), { kind: ErrorKind.FailedPrecondition, message: /without CRIU: tcpEstablished/ });
  // containerd's client always asks for file locks; gVisor's kernel keeps them in what it saves.
  t.same(runscCheckpointArgs('c1', { imagePath: '/i', fileLocks: true }), ['checkpoint', '--image-path', '/i', 'c1']);
  t.throws(() => runscCheckpointArgs('c1', { imagePath: '/i', shellJob: true }), { kind: ErrorKind.FailedPrecondition, message: /without CRIU: shellJob/ });
  t.same(runscRestoreArgs({ id: 'c1', bundle: '/b', pidFile: '/b/init.pid', imagePath: '/i' }), ['restore', '--detach', '--image-path', '/i', '--bundle', '/b', '--pid-file', '/b/init.pid', 'c1']);
});

t.test('Update as cgroup writes, v1 and v2', async (t) => {
  t.same(cgroupWrites(1, { memory: { limit: 100, swap: 200 }, cpu: { shares: 512, quota: 50000, period: 100000 }, pids: { limit: 10 } }), [
    ['memory', 'memory.memsw.limit_in_bytes', '200'],
    ['memory', 'memory.limit_in_bytes', '100'],
    ['cpu', 'cpu.shares', '512'],
    ['cpu', 'cpu.cfs_period_us', '100000'],
    ['cpu', 'cpu.cfs_quota_us', '50000'],
    ['pids', 'pids.max', '10'],
  ]);
  t.same(cgroupWrites(2, { memory: { limit: -1 }, cpu: { shares: 1024, quota: 20000 } }), [
    ['', 'memory.max', 'max'],
    ['', 'cpu.weight', '39'],
    ['', 'cpu.max', '20000 100000'],
  ]);
  t.throws(() => cgroupWrites(1, { blockIO: { weight: 10 } }), { kind: ErrorKind.FailedPrecondition, message: /cannot update blockIO/ });
});
