// The local backend over a recording runtime: what containerd sees through the Task API
// (answers, events, codes), and that one task's operations never reach the runtime together.
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import { CapturingSink } from '../../src/events/sink.js';
import { LocalBackend } from '../../src/task/local-backend.js';
import { readBundleSpec } from '../../src/task/validate.js';
import type { TaskCallContext } from '../../src/api/task.js';
import type { ExitInfo } from '../../src/sys/reaper.js';
import type { RuntimeDriver } from '../../src/backends/types.js';
import { readTaskRecord } from '../../src/backends/record.js';
import { ErrorKind } from '../../src/errors/index.js';
import { stubDriver } from '../helpers/stub-driver.js';
import { tempDir } from '../helpers/tmp.js';

/** A reaper whose processes exit when the test says. */
function fakeReaper() {
  const exits = new Map<number, (e: ExitInfo) => void>();
  const promises = new Map<number, Promise<ExitInfo>>();
  const watch = (pid: number) => {
    let p = promises.get(pid);
    if (!p) {
      p = new Promise((r) => exits.set(pid, r));
      promises.set(pid, p);
    }
    return p;
  };
  return {
    watch,
    exit(pid: number, status: number) {
      void watch(pid);
      exits.get(pid)!({ pid, status, exitedAt: new Date(), unknownStatus: false });
    },
  };
}

const ctx = (signal = new AbortController().signal): TaskCallContext => ({ service: 'containerd.task.v2.Task', method: 'test', metadata: new Map(), signal });
type LooseApi = Record<'Start' | 'State' | 'Wait' | 'Kill' | 'Delete' | 'Pause' | 'Stats', (req: object, ctx: TaskCallContext) => Promise<Record<string, unknown>>>;
const kind = (p: Promise<unknown>) => p.then(() => 'ok', (e: { kind?: string }) => e.kind);

function setup(t: Test, driverOverrides: Partial<RuntimeDriver> = {}) {
  const dir = tempDir(t, 'switchyard-local-');
  const calls: string[] = [];
  const driver = stubDriver(calls, driverOverrides);
  const events = new CapturingSink();
  const reaper = fakeReaper();
  const local = new LocalBackend({ namespace: 'ns1', events, reaper, log: pino({ level: 'silent' }) });
  // Requests as containerd's decoder leaves them: fields not sent are absent.
  const backend = local as unknown as LooseApi & Pick<LocalBackend, 'create' | 'summaries' | 'taskPid'>;
  const create = async (id: string) => {
    const bundle = path.join(dir, id);
    fs.mkdirSync(bundle);
    fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify({ ociVersion: '1.0.2', annotations: { a: 'b' } }));
    return backend.create({ id, bundle, spec: readBundleSpec(bundle), request: { id, bundle } as never }, driver, { runtime: 'fake' });
  };
  return { dir, calls, driver, events, reaper, backend, create };
}

t.test('create: the runtime makes the container, containerd gets its pid and /tasks/create, the bundle a record', async (t) => {
  const s = setup(t);
  t.same(await s.create('c1'), { pid: 1 });
  t.same(s.calls, ['create c1']);
  t.same(s.events.topics, ['/tasks/create']);
  t.match(readTaskRecord(path.join(s.dir, 'c1')), { id: 'c1', namespace: 'ns1', runtime: 'fake', cleanup: ['fake', 'delete', '--force', 'c1'], decision: { runtime: 'fake' } });
  t.same(s.backend.summaries(), [{ id: 'c1', runtime: 'fake', status: 'created', pid: 1 }]);
  t.equal(s.backend.taskPid('c1'), 1);
  t.match(await s.backend.State({ id: 'c1' }, ctx()), { id: 'c1', pid: 1, status: 1, exitStatus: 0 });
});

t.test('a failed create leaves no task behind and says why', async (t) => {
  const s = setup(t, {
    create: async () => {
      throw Object.assign(new Error('fake create: invalid spec'), { kind: ErrorKind.InvalidArgument });
    },
  });
  t.equal(await kind(s.create('c1')), ErrorKind.InvalidArgument);
  t.equal(await kind(s.backend.State({ id: 'c1' }, ctx())), ErrorKind.NotFound);
  t.same(s.events.topics, [], 'no /tasks/create for a task that does not exist');
  t.same(s.backend.summaries(), []);
});

t.test("one task's Start, Kill and Delete reach the runtime one at a time, in the order asked", async (t) => {
  let active = 0;
  let most = 0;
  const order: string[] = [];
  const slow = (name: string) => async (id: string) => {
    active++;
    most = Math.max(most, active);
    order.push(`${name} ${id} begin`);
    await sleep(30);
    order.push(`${name} ${id} end`);
    active--;
  };
  const s = setup(t, { start: slow('start'), kill: slow('kill'), delete: slow('delete') });
  await s.create('c1');
  const started = s.backend.Start({ id: 'c1' }, ctx());
  const killed = s.backend.Kill({ id: 'c1', signal: 9 }, ctx());
  // A running task is not deleted before it exits (containerd kills, waits, then deletes).
  const early = kind(s.backend.Delete({ id: 'c1' }, ctx()));
  await started;
  await killed;
  t.equal(await early, ErrorKind.FailedPrecondition, 'Delete of a running task is refused');
  t.equal(most, 1, 'never two runtime calls at once');
  t.same(order, ['start c1 begin', 'start c1 end', 'kill c1 begin', 'kill c1 end']);
  s.reaper.exit(1, 137);
  t.same(await s.backend.Wait({ id: 'c1' }, ctx()), { exitStatus: 137, exitedAt: await s.backend.State({ id: 'c1' }, ctx()).then((r) => r.exitedAt) });
  const deleted = await s.backend.Delete({ id: 'c1' }, ctx());
  t.match(deleted, { pid: 1, exitStatus: 137 });
  t.equal(most, 1);
  t.same(s.events.topics, ['/tasks/create', '/tasks/start', '/tasks/exit', '/tasks/delete']);
  t.equal(await kind(s.backend.State({ id: 'c1' }, ctx())), ErrorKind.NotFound, 'gone after Delete');
  t.match(readTaskRecord(path.join(s.dir, 'c1')), { deleted: { pid: 1, exitStatus: 137 } }, 'the record keeps the exit for a later shim delete');
});

t.test('Start and Delete of a created task, asked together: one runtime call at a time', async (t) => {
  let active = 0;
  let most = 0;
  const slow = async () => {
    active++;
    most = Math.max(most, active);
    await sleep(30);
    active--;
  };
  const s = setup(t, { start: slow, delete: slow });
  await s.create('c1');
  const results = await Promise.allSettled([s.backend.Start({ id: 'c1' }, ctx()), s.backend.Delete({ id: 'c1' }, ctx())]);
  t.equal(most, 1, 'never together');
  t.equal(results[0].status, 'fulfilled', 'Start ran first');
  t.equal(results[1].status, 'rejected', 'Delete then found a running task');
});

t.test('two tasks are independent: a slow one does not hold the other', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const calls: string[] = [];
  const s = setup(t, {
    start: async (id) => {
      calls.push(`start ${id}`);
      if (id === 'slow') await gate;
    },
  });
  await s.create('slow');
  await s.create('fast');
  const slowStart = s.backend.Start({ id: 'slow' }, ctx());
  await s.backend.Start({ id: 'fast' }, ctx());
  t.same(calls, ['start slow', 'start fast'], 'fast started while slow was still starting');
  release();
  await slowStart;
});

t.test('Wait ends when containerd gives up on the call, and the task stays', async (t) => {
  const s = setup(t);
  await s.create('c1');
  await s.backend.Start({ id: 'c1' }, ctx());
  const ac = new AbortController();
  const waiting = s.backend.Wait({ id: 'c1' }, ctx(ac.signal));
  ac.abort(Object.assign(new Error('cancelled'), { kind: ErrorKind.Cancelled }));
  t.equal(await kind(waiting), ErrorKind.Cancelled);
  t.match(await s.backend.State({ id: 'c1' }, ctx()), { status: 2 }, 'still running');
});

t.test('Kill of an unknown task or exec is NotFound; Stats without a cgroup monitor is Unimplemented', async (t) => {
  const s = setup(t);
  t.equal(await kind(s.backend.Kill({ id: 'nope', signal: 9 }, ctx())), ErrorKind.NotFound);
  await s.create('c1');
  t.equal(await kind(s.backend.Kill({ id: 'c1', execId: 'e9', signal: 9 }, ctx())), ErrorKind.NotFound);
  t.equal(await kind(s.backend.Stats({ id: 'c1' }, ctx())), ErrorKind.Unimplemented);
});

t.test('an operation the runtime does not have is refused before it is asked', async (t) => {
  const calls: string[] = [];
  const s = setup(t);
  const noPause = stubDriver(calls, { capabilities: { killCreated: true, reportsExit: false, pause: false, update: true, checkpoint: true, restore: true } });
  const bundle = path.join(s.dir, 'np');
  fs.mkdirSync(bundle);
  fs.writeFileSync(path.join(bundle, 'config.json'), '{"ociVersion":"1.0.2"}');
  await s.backend.create({ id: 'np', bundle, spec: readBundleSpec(bundle), request: { id: 'np', bundle } as never }, noPause, {});
  await s.backend.Start({ id: 'np' }, ctx());
  t.equal(await kind(s.backend.Pause({ id: 'np' }, ctx())), ErrorKind.FailedPrecondition);
  t.notOk(calls.includes('pause np'), 'the runtime was not asked');
});
