// The Task service in front of its backends: what it checks before a backend sees a request,
// which backend a request reaches, and when the daemon counts as idle.
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import type { TaskCallContext } from '../../src/api/task.js';
import type { TaskBackend } from '../../src/backends/types.js';
import { ErrorKind } from '../../src/errors/index.js';
import type { NewTask, Placement } from '../../src/task/placement.js';
import { TaskService } from '../../src/task/service.js';
import { tempDir } from '../helpers/tmp.js';

const ctx: TaskCallContext = { service: 'containerd.task.v2.Task', method: 'test', metadata: new Map(), signal: new AbortController().signal };
const kind = (p: Promise<unknown>) => p.then(() => 'ok', (e: { kind?: string }) => e.kind);

/** A backend that records which method got which task, and answers {}. */
function fakeBackend(name: string, seen: string[]): TaskBackend {
  const answer = (method: string) => async (req: { id?: string | null; execId?: string | null }) => {
    seen.push(`${name} ${method} ${req.id ?? ''}${req.execId ? `/${req.execId}` : ''}`);
    return {} as never;
  };
  const methods = ['Start', 'State', 'Wait', 'Kill', 'Delete', 'Pids', 'CloseIO', 'Pause', 'Resume', 'Update', 'Stats', 'Checkpoint', 'Exec', 'ResizePty'];
  return {
    ...Object.fromEntries(methods.map((m) => [m, answer(m)])),
    taskPid: () => 77,
    summaries: () => [],
    close: async () => undefined,
  } as unknown as TaskBackend;
}

function setup(t: Test) {
  const dir = tempDir(t, 'switchyard-service-');
  const seen: string[] = [];
  const idle: boolean[] = [];
  const forgotten: string[] = [];
  const shutdowns: boolean[] = [];
  const a = fakeBackend('a', seen);
  const b = fakeBackend('b', seen);
  let gate: Promise<void> | undefined;
  let failCreate = false;
  const placed: NewTask[] = [];
  const service = new TaskService({
    version: 'test',
    place: (task): Placement => {
      placed.push(task);
      if (task.spec.annotations.refuse) throw Object.assign(new Error('policy refuses'), { kind: ErrorKind.PermissionDenied });
      const backend = task.spec.annotations.backend === 'b' ? b : a;
      return {
        backend,
        create: async () => {
          seen.push(`${backend === a ? 'a' : 'b'} Create ${task.id}`);
          if (gate) await gate;
          if (failCreate) throw Object.assign(new Error('runtime failed'), { kind: ErrorKind.Unknown });
          return { pid: 42 };
        },
      };
    },
    forget: (id) => forgotten.push(id),
    onIdle: (i) => idle.push(i),
    onShutdown: (now) => shutdowns.push(now),
  });
  const bundle = (id: string, annotations: Record<string, string> = {}) => {
    const b = path.join(dir, id);
    fs.mkdirSync(b, { recursive: true });
    fs.writeFileSync(path.join(b, 'config.json'), JSON.stringify({ ociVersion: '1.0.2', annotations }));
    return b;
  };
  const create = (id: string, annotations: Record<string, string> = {}) => service.Create({ id, bundle: bundle(id, annotations) } as never, ctx);
  return {
    service, seen, idle, forgotten, shutdowns, placed, create, bundle,
    hold: () => {
      let release!: () => void;
      gate = new Promise((r) => (release = r));
      return () => {
        gate = undefined;
        release();
      };
    },
    failNext: (v: boolean) => (failCreate = v),
  };
}

const call = (s: TaskService, method: keyof TaskService, req: object) => (s[method] as (r: object, c: TaskCallContext) => Promise<unknown>)(req, ctx);

t.test('each request reaches the backend that created its task', async (t) => {
  const s = setup(t);
  t.same(await s.create('one'), { pid: 42 });
  await s.create('two', { backend: 'b' });
  await call(s.service, 'Start', { id: 'one' });
  await call(s.service, 'Kill', { id: 'two', signal: 9 });
  await call(s.service, 'Exec', { id: 'two', execId: 'e1' });
  await call(s.service, 'ResizePty', { id: 'one', width: 80, height: 24 });
  t.same(s.seen, ['a Create one', 'b Create two', 'a Start one', 'b Kill two', 'b Exec two/e1', 'a ResizePty one']);
  t.same(s.placed.map((p) => [p.id, p.spec.annotations]), [['one', {}], ['two', { backend: 'b' }]], 'placement saw the bundle spec');
  t.same(await call(s.service, 'Connect', { id: 'two' }), { shimPid: process.pid, taskPid: 77, version: 'test' });
});

t.test('bad requests are refused before any backend sees them', async (t) => {
  const s = setup(t);
  await s.create('one');
  s.seen.length = 0;
  t.equal(await kind(call(s.service, 'Start', { id: '' })), ErrorKind.InvalidArgument, 'empty id');
  t.equal(await kind(call(s.service, 'Start', { id: '../x' })), ErrorKind.InvalidArgument, 'id with a path');
  t.equal(await kind(call(s.service, 'Start', { id: 'one', execId: 'a/b' })), ErrorKind.InvalidArgument, 'bad exec id');
  t.equal(await kind(call(s.service, 'Kill', { id: 'one', signal: 65 })), ErrorKind.InvalidArgument, 'signal past 64');
  t.equal(await kind(call(s.service, 'Kill', { id: 'one', signal: -1 })), ErrorKind.InvalidArgument, 'negative signal');
  t.equal(await kind(call(s.service, 'Exec', { id: 'one', execId: '' })), ErrorKind.InvalidArgument, 'exec without an id');
  t.equal(await kind(call(s.service, 'ResizePty', { id: 'one', width: 0, height: 24 })), ErrorKind.InvalidArgument, 'zero width');
  t.equal(await kind(call(s.service, 'ResizePty', { id: 'one', width: 70000, height: 24 })), ErrorKind.InvalidArgument, 'huge width');
  t.equal(await kind(call(s.service, 'State', { id: 'nope' })), ErrorKind.NotFound, 'unknown task');
  t.equal(await kind(s.service.Create({ id: 'x', bundle: 'relative' } as never, ctx)), ErrorKind.InvalidArgument, 'relative bundle');
  t.equal(await kind(s.service.Create({ id: 'x', bundle: path.join(s.bundle('x'), 'missing') } as never, ctx)), ErrorKind.FailedPrecondition, 'no such bundle');
  const empty = s.bundle('y');
  fs.rmSync(path.join(empty, 'config.json'));
  t.equal(await kind(s.service.Create({ id: 'y', bundle: empty } as never, ctx)), ErrorKind.InvalidArgument, 'bundle without a spec');
  t.same(s.seen, [], 'no backend was called');
});

t.test('one id, one task: a second Create is AlreadyExists, also while the first is still running', async (t) => {
  const s = setup(t);
  const release = s.hold();
  const first = s.create('one');
  t.equal(await kind(s.create('one')), ErrorKind.AlreadyExists, 'while the first is in flight');
  release();
  await first;
  t.equal(await kind(s.create('one')), ErrorKind.AlreadyExists, 'after it');
  t.same(s.seen, ['a Create one'], 'the backend created it once');
});

t.test('a refused or failed Create leaves nothing: the id is free again and its record forgotten', async (t) => {
  const s = setup(t);
  t.equal(await kind(s.create('r', { refuse: 'yes' })), ErrorKind.PermissionDenied);
  t.equal(await kind(call(s.service, 'State', { id: 'r' })), ErrorKind.NotFound);
  s.failNext(true);
  t.equal(await kind(s.create('f')), ErrorKind.Unknown);
  t.same(s.forgotten, ['f'], 'a failed create forgets what routing kept');
  s.failNext(false);
  t.same(await s.create('f'), { pid: 42 }, 'the id can be created again');
  t.equal(s.service.size, 1);
});

t.test('idle: false from the first Create, true when the last task is deleted; an exec delete keeps the task', async (t) => {
  const s = setup(t);
  await s.create('one');
  await s.create('two');
  await call(s.service, 'Delete', { id: 'one', execId: 'e1' });
  t.equal(s.service.size, 2, 'deleting an exec does not remove its task');
  await call(s.service, 'Delete', { id: 'one' });
  t.same(s.idle.filter((i) => i), [], 'not idle with a task left');
  await call(s.service, 'Delete', { id: 'two' });
  t.equal(s.idle.at(-1), true, 'idle once the table is empty');
  t.same(s.forgotten, ['one', 'two']);
  t.equal(await kind(call(s.service, 'Start', { id: 'one' })), ErrorKind.NotFound, 'deleted tasks are gone');
});

t.test('Shutdown: ignored while tasks remain (one daemon serves many), honoured when none do', async (t) => {
  const s = setup(t);
  await s.create('one');
  t.same(await call(s.service, 'Shutdown', { id: 'one', now: true }), {});
  t.same(s.shutdowns, []);
  await call(s.service, 'Delete', { id: 'one' });
  await call(s.service, 'Shutdown', { id: 'one', now: true });
  t.same(s.shutdowns, [true]);
});
