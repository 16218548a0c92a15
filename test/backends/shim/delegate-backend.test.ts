// The delegate backend against a fake shim binary (fake-shim.ts): how it starts and groups
// delegates, forwards calls and their codes unchanged, and reports a delegate's death.
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { fileURLToPath } from 'node:url';
import { DelegateBackend } from '../../../src/backends/shim/delegate-backend.js';
import type { DelegateCommand } from '../../../src/backends/shim/launch.js';
import { readTaskRecord } from '../../../src/backends/record.js';
import type { TaskCallContext } from '../../../src/api/task.js';
import { CapturingSink } from '../../../src/events/sink.js';
import { Code } from '../../../src/errors/index.js';
import { processGone } from '../../../src/sys/process-gone.js';
import { processesWhere } from '../../../src/sys/proc.js';
import { tempDir } from '../../helpers/tmp.js';

const FAKE = fileURLToPath(new URL('./fake-shim.js', import.meta.url));
const ctx: TaskCallContext = { service: 'containerd.task.v2.Task', method: 'test', metadata: new Map(), signal: new AbortController().signal };
type Loose = Record<'Start' | 'State' | 'Wait' | 'Kill' | 'Delete' | 'Pause', (req: object, ctx: TaskCallContext) => Promise<Record<string, unknown>>>;

/** The fake server's pid, from the process table (it is detached from us). */
function serverPid(dir: string): number | undefined {
  return processesWhere((argv, pid) => {
    if (!argv.includes(FAKE) || !argv.includes('serve')) return false;
    try {
      return fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`FAKE_SHIM_DIR=${dir}`);
    } catch {
      return false; // gone meanwhile
    }
  })[0];
}

function setup(t: Test, env: Record<string, string> = {}) {
  const dir = tempDir(t, 'switchyard-delegate-');
  const binary = path.join(dir, 'containerd-shim-fake-v2');
  fs.writeFileSync(binary, `#!/bin/sh\nexec "${process.execPath}" "${FAKE}" "$@"\n`, { mode: 0o755 });
  const events = new CapturingSink();
  const backend = new DelegateBackend({ namespace: 'ns1', events, log: pino({ level: 'silent' }), workRoot: path.join(dir, 'work') });
  t.teardown(async () => {
    await backend.close();
    const pid = serverPid(dir);
    if (pid) process.kill(pid, 'SIGKILL');
  });
  const cmd = (id: string): DelegateCommand => ({
    binary,
    namespace: 'ns1',
    id,
    bundle: path.join(dir, 'bundles', id),
    address: '/run/containerd/containerd.sock',
    publishBinary: '/usr/bin/containerd',
    options: { ConfigPath: '/etc/fake.toml' },
    env: { PATH: process.env.PATH ?? '', FAKE_SHIM_DIR: dir, SWITCHYARD_CONFIG: '/ours.toml', ...env },
    timeoutMs: 10_000,
  });
  const create = async (id: string) => {
    const c = cmd(id);
    fs.mkdirSync(c.bundle, { recursive: true });
    fs.writeFileSync(path.join(c.bundle, 'config.json'), '{}');
    fs.writeFileSync(path.join(c.bundle, 'address'), 'unix:///ours.sock');
    return backend.create({ id, bundle: c.bundle, request: { id, bundle: c.bundle } as never }, c, { runtime: 'fake' }, ctx);
  };
  const calls = () => fs.readFileSync(path.join(dir, 'calls'), 'utf8').trim().split('\n');
  return { dir, backend, api: backend as unknown as Loose, events, create, calls };
}

t.test("create: the delegate's start runs in a work dir of links (not our address file), its options on stdin, none of our variables", async (t) => {
  const s = setup(t);
  t.same(await s.create('c1'), { pid: 4321 });
  t.same(s.calls(), ['start c1 cwd=c1 files=config.json,switchyard.json options=any ours=-', 'Create c1 options=runtimeoptions.v1.Options']);
  t.match(readTaskRecord(path.join(s.dir, 'bundles', 'c1')), { id: 'c1', runtime: path.join(s.dir, 'containerd-shim-fake-v2'), delegate: { address: '/run/containerd/containerd.sock' } });
  t.equal(s.backend.taskPid('c1'), 4321);
  t.equal(fs.readFileSync(path.join(s.dir, 'bundles', 'c1', 'address'), 'utf8'), 'unix:///ours.sock', 'our address file is untouched');
});

t.test('calls and their codes pass through unchanged; the last Delete shuts the delegate down', async (t) => {
  const s = setup(t);
  await s.create('c1');
  await s.create('c2');
  const server = serverPid(s.dir);
  t.ok(server, 'one delegate server for both tasks');
  await s.api.Start({ id: 'c1' }, ctx);
  await t.rejects(s.api.Pause({ id: 'c1' }, ctx), { code: Code.FailedPrecondition, message: /cannot pause in this state/ }, "the delegate's own code");
  await t.rejects(s.api.State({ id: 'c1' }, ctx), { code: Code.Unimplemented }, 'what it does not implement, it says so');
  await t.rejects(s.api.Start({ id: 'nope' }, ctx), { message: /task nope not found/ }, 'an unknown task never reaches it');
  const waiting = s.api.Wait({ id: 'c1' }, ctx);
  await s.api.Kill({ id: 'c1', signal: 9 }, ctx);
  t.match(await waiting, { exitStatus: 137 });
  t.match(await s.api.Delete({ id: 'c1' }, ctx), { exitStatus: 137 });
  t.notOk(s.calls().includes('Shutdown'), 'not while c2 remains');
  await s.api.Kill({ id: 'c2', signal: 9 }, ctx);
  await s.api.Delete({ id: 'c2' }, ctx);
  t.ok(s.calls().includes('Shutdown'), 'shut down with its last task');
  await processGone(server!, { signal: AbortSignal.timeout(5000) });
  t.same(fs.readdirSync(path.join(s.dir, 'work')), [], 'work dirs removed');
  t.same(s.events.topics, [], 'the delegate publishes its own events');
});

t.test("a delegate that dies: its tasks exit with what its `delete` says, and a pending Wait returns", async (t) => {
  const s = setup(t);
  await s.create('c1');
  await s.api.Start({ id: 'c1' }, ctx);
  const waiting = s.api.Wait({ id: 'c1' }, ctx);
  await s.api.Kill({ id: 'c1', signal: 31 }, ctx).catch(() => undefined);
  t.match(await waiting, { exitStatus: 42 }, "the pending Wait answers with delete's exit");
  t.equal((await s.events.waitFor('/tasks/exit')).topic, '/tasks/exit', 'nobody else reports it: we do');
  t.match(await s.api.State({ id: 'c1' }, ctx), { status: 3, exitStatus: 42 });
  t.ok(s.calls().some((c) => c.startsWith('delete c1 cwd=c1')), "the delegate's delete ran in the bundle");
  t.match(await s.api.Delete({ id: 'c1' }, ctx), { exitStatus: 42 });
  t.same(s.events.topics, ['/tasks/exit', '/tasks/delete']);
  t.equal(s.backend.taskPid('c1'), 0, 'forgotten');
});

t.test('a start that fails is FailedPrecondition with its words, and leaves no work dir', async (t) => {
  const s = setup(t, { FAKE_SHIM_FAIL_START: '1' });
  await t.rejects(s.create('c1'), { kind: 'failed-precondition', message: /cannot start here/ });
  t.same(fs.readdirSync(path.join(s.dir, 'work')), []);
});
