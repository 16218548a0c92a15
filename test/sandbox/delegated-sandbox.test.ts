import t, { type Test } from 'tap';
import path from 'node:path';
import { sandboxService, type SandboxApi } from '../../src/api/sandbox.js';
import { DelegatedSandbox } from '../../src/sandbox/delegated-sandbox.js';
import { TtrpcServer } from '../../src/transport/ttrpc/server.js';
import { TtrpcClient } from '../../src/transport/ttrpc/client.js';
import { debugService } from '../../src/api/debug.js';
import type { NewSandbox } from '../../src/sandbox/types.js';
import { tempDir } from '../helpers/tmp.js';

const sb: NewSandbox = { id: 'sb1', bundle: '/b', netnsPath: '/run/netns/x', pod: { name: 'p', uid: 'u', k8sNamespace: 'default', hostname: '', annotations: {}, cgroupParent: '', namespaces: { network: 'pod', ipc: 'pod', pid: 'node' }, logDirectory: '' } };

/** A delegate that serves the Sandbox API, recording what it was asked. */
function fakeDelegate(calls: string[]): SandboxApi {
  let end!: () => void;
  const ended = new Promise<void>((r) => (end = r));
  return {
    CreateSandbox: async (req) => (calls.push(`create ${req.sandboxId} ${req.netnsPath}`), {}),
    StartSandbox: async () => (calls.push('start'), { pid: 777 }),
    Platform: async () => ({ platform: { os: 'linux', architecture: 'amd64' } }),
    StopSandbox: async () => (calls.push('stop'), end(), {}),
    WaitSandbox: async () => (await ended, { exitStatus: 9, exitedAt: { seconds: 1, nanos: 0 } }),
    SandboxStatus: async () => ({}),
    PingSandbox: async () => ({}),
    ShutdownSandbox: async () => (calls.push('shutdown'), {}),
    SandboxMetrics: async () => ({}),
  };
}

async function serve(t: Test, impl?: SandboxApi): Promise<string> {
  const sock = path.join(tempDir(t), 'd.sock');
  const server = new TtrpcServer();
  if (impl) server.addService(sandboxService, impl);
  else server.addService(debugService, { Calls: async () => ({}), Info: async () => ({}) });
  await server.listen(sock);
  t.teardown(() => server.close());
  return sock;
}

const deps = (address: string, log: string[]) => ({
  binary: 'fake-shim',
  start: async () => (log.push('binary start'), address),
  connect: async (a: string) => {
    const c = await TtrpcClient.connect(a);
    return { sandbox: c.service(sandboxService), close: () => c.close() };
  },
  remove: async () => void log.push('binary delete'),
});

t.test('a delegate that serves the Sandbox API: every call forwarded, its exit is the pod\'s', async (t) => {
  const calls: string[] = [];
  const log: string[] = [];
  const d = new DelegatedSandbox('kata', sb, deps(await serve(t, fakeDelegate(calls)), log));
  await d.create({ sandboxId: 'sb1', bundlePath: '/b', netnsPath: '/run/netns/x' });
  t.equal(await d.start(), 777);
  await d.stop(0);
  t.match(await d.exited(), { status: 9 });
  await d.release();
  t.same(calls, ['create sb1 /run/netns/x', 'start', 'stop', 'shutdown']);
  t.same(log, ['binary start', 'binary delete'], 'started for the pod, deleted after shutdown');
});

t.test('a delegate without the Sandbox API: FailedPrecondition, and it is cleaned up', async (t) => {
  const log: string[] = [];
  const d = new DelegatedSandbox('runc-v2', sb, deps(await serve(t), log));
  await t.rejects(d.create({ sandboxId: 'sb1' }), { kind: 'failed-precondition', message: /delegate shim \(fake-shim\) that does not serve containerd's Sandbox API/ });
  t.same(log, ['binary start', 'binary delete']);
});

t.test('a delegate that cannot start for a pod without config.json: FailedPrecondition naming why', async (t) => {
  const d = new DelegatedSandbox('runc-v2', sb, { ...deps('/nowhere', []), start: async () => Promise.reject(new Error('open config.json: no such file')) });
  await t.rejects(d.create({ sandboxId: 'sb1' }), { kind: 'failed-precondition', message: /could not start for a pod without a pause container: open config\.json/ });
});
