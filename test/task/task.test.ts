import t from 'tap';
import pino from 'pino';
import { CapturingSink } from '../../src/events/sink.js';
import { Task, type Exit } from '../../src/task/task.js';
import type { ProcessStdio } from '../../src/io/process-stdio.js';
import { stubDriver } from '../helpers/stub-driver.js';
import { ErrorKind } from '../../src/errors/index.js';
import { decodeTaskEvent } from '../../src/events/topics.js';

/** A runtime that records its calls; processes end when the test says so. */
function harness() {
  const calls: string[] = [];
  const exits = new Map<number, (e: Exit) => void>();
  const watchers = new Map<number, Promise<Exit>>();
  const driver = stubDriver(calls);

  const watch = (pid: number) => {
    let p = watchers.get(pid);
    if (!p) {
      p = new Promise<Exit>((r) => exits.set(pid, r));
      watchers.set(pid, p);
    }
    return p;
  };
  const stdio = (): ProcessStdio & { closed: number; stdinClosed: number } => ({
    runtimeStdio: [0, 1, 2],
    consoleSocket: undefined,
    closed: 0,
    stdinClosed: 0,
    async afterRuntime() {},
    closeStdin() {
      this.stdinClosed++;
    },
    resize() {},
    async close() {
      this.closed++;
    },
  });
  const events = new CapturingSink();
  const task = new Task({
    id: 'c1',
    bundle: '/b',
    pid: 1,
    driver,
    stdio: stdio(),
    stdioPaths: { stdin: '', stdout: '', stderr: '', terminal: false },
    events,
    log: pino({ level: 'silent' }),
    watch,
    sharedPidNamespace: false,
    cleanup: async () => void calls.push('cleanup'),
  });
  const exit = (pid: number, status: number) => {
    void watch(pid);
    exits.get(pid)!({ status, at: new Date() });
  };
  return { task, calls, events, exit, stdio };
}

const kind = async (p: Promise<unknown>) => p.then(() => 'ok', (e: { kind?: string }) => e.kind);

t.test('exec lifecycle: events carry the exec id; the init exit comes after its execs', async (t) => {
  const h = harness();
  await h.task.start();
  const e1 = await h.task.addExec('e1', { args: ['true'] }, async () => h.stdio(), { stdin: '', stdout: '', stderr: '', terminal: false });
  t.equal(e1.status, 'created');
  t.equal(await kind(e1.kill(9)), ErrorKind.FailedPrecondition, 'no kill before start');
  await e1.start();
  t.equal(e1.status, 'running');
  t.same((await h.task.ps()).map((p) => p.execId), ['', 'e1']);
  h.exit(1, 137); // the init dies first...
  await new Promise((r) => setTimeout(r, 20));
  t.notOk(h.events.topics.includes('/tasks/exit'), 'the init exit waits for the running exec');
  h.exit(100, 137); // ...then the kernel takes the exec along
  const exit = await h.task.wait();
  t.equal(exit.status, 137);
  const exits = h.events.events.filter((e) => e.topic === '/tasks/exit').map((e) => decodeTaskEvent(e.typeUrl, e.value).id);
  t.same(exits, ['e1', 'c1']);
  t.same(h.events.topics, ['/tasks/start', '/tasks/exec-added', '/tasks/exec-started', '/tasks/exit', '/tasks/exit']);
  t.equal(await kind(h.task.deleteExec('e1')), 'ok');
  t.equal(await kind(Promise.resolve().then(() => h.task.exec('e1'))), ErrorKind.NotFound);
});

t.test('an exec that exits before Start returns: exec-started still precedes its exit', async (t) => {
  const h = harness();
  await h.task.start();
  const e = await h.task.addExec('fast', { args: ['true'] }, async () => h.stdio(), { stdin: '', stdout: '', stderr: '', terminal: false });
  h.exit(100, 0); // the pid exits the moment it exists
  await e.start();
  await e.exited;
  t.same(h.events.topics.slice(-2), ['/tasks/exec-started', '/tasks/exit']);
});

t.test('pause and resume: states, events, and what each state refuses', async (t) => {
  const h = harness();
  t.equal(await kind(h.task.pause()), ErrorKind.FailedPrecondition, 'no pause before start');
  await h.task.start();
  t.equal(await kind(h.task.resume()), ErrorKind.FailedPrecondition, 'no resume while running');
  await h.task.pause();
  t.equal(h.task.status, 'paused');
  t.equal(await kind(h.task.addExec('x', {}, async () => h.stdio(), { stdin: '', stdout: '', stderr: '', terminal: false })), ErrorKind.FailedPrecondition, 'no exec while paused');
  await h.task.update({ memory: { limit: 1 } });
  await h.task.kill(15, false);
  await h.task.resume();
  t.equal(h.task.status, 'running');
  t.same(h.events.topics, ['/tasks/start', '/tasks/paused', '/tasks/resumed']);
  t.same(h.calls, ['start c1', 'pause c1', 'update c1 {"memory":{"limit":1}}', 'kill c1 15 false', 'resume c1']);
  h.exit(1, 0);
  await h.task.wait();
  t.equal(await kind(h.task.update({})), ErrorKind.FailedPrecondition, 'no update once stopped');
  t.equal(await kind(h.task.checkpoint({ imagePath: '/i' })), ErrorKind.FailedPrecondition, 'no checkpoint once stopped');
  t.equal(await kind(h.task.kill(9, false)), ErrorKind.NotFound, 'kill after exit is NotFound');
});

t.test('delete takes the execs and the rootfs along', async (t) => {
  const h = harness();
  await h.task.start();
  const io = h.stdio();
  await h.task.addExec('e1', { args: ['true'] }, async () => io, { stdin: '', stdout: '', stderr: '', terminal: false });
  h.exit(1, 0);
  await h.task.wait();
  await h.task.delete();
  t.equal(h.task.status, 'deleted');
  t.equal(h.task.execCount, 0);
  t.ok(io.closed > 0, 'the never-started exec released its stdio');
  t.ok(h.calls.includes('cleanup'));
  t.equal(await kind(h.task.delete()), ErrorKind.NotFound);
});
