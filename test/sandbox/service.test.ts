import t, { type Test } from 'tap';
import { runtime } from '../../src/gen/proto.js';
import { SandboxService } from '../../src/sandbox/service.js';
import type { NewSandbox, PodSandbox, SandboxExit } from '../../src/sandbox/types.js';
import type { SandboxCallContext } from '../../src/api/sandbox.js';
import { tempDir } from '../helpers/tmp.js';

/** A sandbox whose process is a promise the test ends. */
class FakeSandbox implements PodSandbox {
  readonly runtime = 'runc';
  started = 0;
  stopped = 0;
  released = 0;
  private end!: (e: SandboxExit) => void;
  private readonly ended = new Promise<SandboxExit>((r) => (this.end = r));
  constructor(readonly s: NewSandbox) {}
  async start() {
    this.started++;
    return 4242;
  }
  exited() {
    return this.ended;
  }
  crash(status: number) {
    this.end({ status, at: new Date() });
  }
  async stop() {
    this.stopped++;
    this.end({ status: 137, at: new Date() });
    await this.ended;
  }
  async release() {
    this.released++;
  }
}

const ctx = (): SandboxCallContext => ({ service: 's', method: 'm', metadata: new Map(), signal: new AbortController().signal });
const options = (ns = 'default') => ({
  type_url: 'runtime.v1.PodSandboxConfig',
  value: runtime.v1.PodSandboxConfig.encode(runtime.v1.PodSandboxConfig.create({ metadata: { name: 'p', namespace: ns } })).finish(),
});
const kind = async (p: Promise<unknown>) => p.then(() => 'ok', (e: { kind?: string; message: string }) => `${e.kind}: ${e.message}`);

function setup(t: Test) {
  const bundle = tempDir(t);
  const made: FakeSandbox[] = [];
  const ended: string[] = [];
  const idle: boolean[] = [];
  const forgot: string[] = [];
  const svc = new SandboxService({
    place: (s) => {
      if (s.pod.k8sNamespace === 'refused') throw Object.assign(new Error('policy says no'), { kind: 'permission-denied' });
      const f = new FakeSandbox(s);
      made.push(f);
      return f;
    },
    endTasks: async (id) => void ended.push(id),
    forget: (id) => forgot.push(id),
    onIdle: (i) => idle.push(i),
  });
  return { svc, bundle, made, ended, idle, forgot };
}

t.test('create, start, status, stop, wait, shutdown', async (t) => {
  const { svc, bundle, made, ended, idle, forgot } = setup(t);
  await svc.CreateSandbox({ sandboxId: 'sb1', bundlePath: bundle, options: options(), netnsPath: '/run/netns/x', annotations: {}, rootfs: [] } as never, ctx());
  t.equal(made[0]?.s.netnsPath, '/run/netns/x');
  const created = await svc.SandboxStatus({ sandboxId: 'sb1' } as never, ctx());
  t.match(created, { pid: 0, state: 'SANDBOX_NOTREADY' }, 'created: not ready yet');
  const started = await svc.StartSandbox({ sandboxId: 'sb1' } as never, ctx());
  t.equal(started.pid, 4242);
  t.match(await kind(svc.StartSandbox({ sandboxId: 'sb1' } as never, ctx())), /^failed-precondition: sandbox sb1 is ready/);
  t.match(await svc.SandboxStatus({ sandboxId: 'sb1', verbose: true } as never, ctx()), { pid: 4242, state: 'SANDBOX_READY', info: { runtime: 'runc' } });
  t.same(await svc.PingSandbox({ sandboxId: 'sb1' } as never, ctx()), {});
  t.match(await svc.Platform({ sandboxId: 'sb1' } as never, ctx()), { platform: { os: 'linux' } });
  const waiting = svc.WaitSandbox({ sandboxId: 'sb1' } as never, ctx());
  await svc.StopSandbox({ sandboxId: 'sb1', timeoutSecs: 0 } as never, ctx());
  t.same(ended, ['sb1'], 'the pod\'s tasks were ended first');
  t.equal((await waiting).exitStatus, 137, 'Wait returns the sandbox\'s exit');
  t.match(await svc.SandboxStatus({ sandboxId: 'sb1' } as never, ctx()), { pid: 0, state: 'SANDBOX_NOTREADY' });
  await svc.ShutdownSandbox({ sandboxId: 'sb1' } as never, ctx());
  t.equal(made[0]?.released, 1, 'released');
  t.same(forgot, ['sb1']);
  t.equal(svc.size, 0);
  t.equal(idle.at(-1), true, 'idle again');
  t.match(await kind(svc.SandboxStatus({ sandboxId: 'sb1' } as never, ctx())), /^not-found/);
  t.same(await svc.ShutdownSandbox({ sandboxId: 'sb1' } as never, ctx()), {}, 'shutting down a gone pod is done, not an error');
});

t.test('a crash of the sandbox is its exit', async (t) => {
  const { svc, bundle, made } = setup(t);
  await svc.CreateSandbox({ sandboxId: 'sb2', bundlePath: bundle, options: options() } as never, ctx());
  await svc.StartSandbox({ sandboxId: 'sb2' } as never, ctx());
  const waiting = svc.WaitSandbox({ sandboxId: 'sb2' } as never, ctx());
  made[0]!.crash(137);
  t.equal((await waiting).exitStatus, 137);
  t.match(await svc.SandboxStatus({ sandboxId: 'sb2' } as never, ctx()), { state: 'SANDBOX_NOTREADY' });
  t.match(await kind(svc.PingSandbox({ sandboxId: 'sb2' } as never, ctx())), /^failed-precondition/);
});

t.test('stopping a pod that never started; bad requests; refusals leave nothing', async (t) => {
  const { svc, bundle, made } = setup(t);
  await svc.CreateSandbox({ sandboxId: 'sb3', bundlePath: bundle, options: options() } as never, ctx());
  t.match(await kind(svc.CreateSandbox({ sandboxId: 'sb3', bundlePath: bundle, options: options() } as never, ctx())), /^already-exists/);
  const waiting = svc.WaitSandbox({ sandboxId: 'sb3' } as never, ctx());
  await svc.StopSandbox({ sandboxId: 'sb3' } as never, ctx());
  t.equal((await waiting).exitStatus, 0, 'never started: Wait returns at once on stop');
  t.equal(made[0]?.started, 0);
  t.match(await kind(svc.CreateSandbox({ sandboxId: '../x', bundlePath: bundle, options: options() } as never, ctx())), /^invalid-argument: sandbox_id/);
  t.match(await kind(svc.CreateSandbox({ sandboxId: 'sb4', bundlePath: 'rel', options: options() } as never, ctx())), /^invalid-argument: bundle/);
  t.match(await kind(svc.CreateSandbox({ sandboxId: 'sb4', bundlePath: bundle } as never, ctx())), /^invalid-argument: .*PodSandboxConfig/);
  t.match(await kind(svc.CreateSandbox({ sandboxId: 'sb5', bundlePath: bundle, options: options('refused') } as never, ctx())), /^permission-denied: policy says no/);
  t.match(await kind(svc.SandboxStatus({ sandboxId: 'sb5' } as never, ctx())), /^not-found/, 'a refused pod is not kept');
  t.equal(svc.size, 1);
});
