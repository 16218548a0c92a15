import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { TaskServiceDefinition } from '../api/task.js';
import type { ServiceImplementation } from '../transport/service.js';
import { alreadyExists, failedPrecondition, invalidArgument, notFound, unimplemented, describe } from '../errors/index.js';
import type { EventSink } from '../events/sink.js';
import { taskCreate, taskDelete, timestamp } from '../events/topics.js';
import { openProcessIO, type ProcessIO } from '../io/process-io.js';
import { parseStdio } from '../io/uri.js';
import type { RuntimeDriver } from '../backends/types.js';
import type { Reaper } from '../sys/reaper.js';
import { mount, unmountAll } from '../sys/mount.js';
import { Task } from './task.js';
import { readBundleSpec, validateBundle, validateId } from './validate.js';
import { writeTaskRecord } from './record.js';

/** Status numbers of containerd.v1.types.Status. */
const STATUS = { created: 1, running: 2, stopped: 3, deleted: 3 } as const;

export interface TaskServiceOptions {
  namespace: string;
  events: EventSink;
  reaper: Pick<Reaper, 'watch'>;
  log: Logger;
  /** The backend for a new task; the router (later) decides which. */
  driverFor(task: { id: string; annotations: Record<string, string> }): RuntimeDriver;
  /** Called whenever the table becomes empty or stops being empty. */
  onIdle?(idle: boolean): void;
  /** Called for Shutdown when no task is left. */
  onShutdown?(now: boolean): void;
  version: string;
  /** Where each task's log lines also go (its bundle's log fifo). */
  logs?: { attach(id: string, bundle: string): void; detach(id: string): void };
}

type Impl = ServiceImplementation<TaskServiceDefinition>;

/**
 * The Task API over a table of tasks. It validates every request where it enters, and is
 * the only place on the server side that raises errors meant for containerd.
 */
export class TaskService implements Impl {
  private readonly tasks = new Map<string, Task>();
  /** Ids being created: a second Create of one id is refused while the first runs. */
  private readonly creating = new Set<string>();

  constructor(private readonly o: TaskServiceOptions) {}

  get size(): number {
    return this.tasks.size + this.creating.size;
  }

  list(): Task[] {
    return [...this.tasks.values()];
  }

  private get(id: string | null | undefined): Task {
    const task = this.tasks.get(validateId(id));
    if (!task) throw notFound(`task ${id} not found`);
    return task;
  }

  private noExec(execId: string | null | undefined, what: string): void {
    if (execId) throw unimplemented(`${what} of exec processes is not supported yet (exec ${execId})`);
  }

  Create: Impl['Create'] = async (req) => {
    const id = validateId(req.id);
    const bundle = validateBundle(req.bundle);
    if (this.tasks.has(id) || this.creating.has(id)) throw alreadyExists(`task ${id} already exists`);
    if (req.terminal) throw unimplemented('terminal (tty) tasks are not supported yet');
    if (req.checkpoint) throw unimplemented('restore from a checkpoint is not supported yet');
    const spec = readBundleSpec(bundle);
    const stdioSpec = parseStdio({ stdin: req.stdin ?? '', stdout: req.stdout ?? '', stderr: req.stderr ?? '', terminal: false });
    this.o.logs?.attach(id, bundle);
    const log = this.o.log.child({ task: id });
    this.creating.add(id);
    this.o.onIdle?.(false);
    const undo: (() => Promise<void> | void)[] = [];
    try {
      const driver = this.o.driverFor({ id, annotations: spec.annotations });
      const rootfs = path.join(bundle, 'rootfs');
      if ((req.rootfs ?? []).length > 0) {
        fs.mkdirSync(rootfs, { recursive: true });
        undo.push(() => unmountAll(rootfs));
        for (const m of req.rootfs ?? []) {
          try {
            mount({ type: m.type ?? '', source: m.source ?? '', options: m.options ?? [] }, rootfs);
          } catch (err) {
            throw failedPrecondition(`mount rootfs for ${id}: ${(err as Error).message}`, err);
          }
        }
      }
      writeTaskRecord(bundle, { id, namespace: this.o.namespace, runtime: driver.name, binary: driver.binary, root: driver.root });
      const io: ProcessIO = await openProcessIO(stdioSpec, { containerId: id, namespace: this.o.namespace, logger: log });
      undo.push(() => io.close());
      const pidFile = path.join(bundle, 'init.pid');
      const pid = await driver.create({ id, bundle, stdio: io.stdio, pidFile });
      undo.push(() => driver.delete(id, true).catch(() => undefined));
      io.afterStart();
      const task = new Task({
        id,
        bundle,
        pid,
        driver,
        io,
        stdio: { stdin: req.stdin ?? '', stdout: req.stdout ?? '', stderr: req.stderr ?? '', terminal: false },
        events: this.o.events,
        log,
        exited: this.o.reaper.watch(pid).then((e) => ({ status: e.status, at: e.exitedAt })),
        sharedPidNamespace: spec.sharedPidNamespace,
        cleanup: async () => {
          if ((req.rootfs ?? []).length > 0) unmountAll(rootfs);
        },
      });
      this.tasks.set(id, task);
      this.o.events.publish(
        taskCreate({
          containerId: id,
          bundle,
          rootfs: (req.rootfs ?? []).map((m) => ({ type: m.type ?? '', source: m.source ?? '', target: m.target ?? '', options: m.options ?? [] })),
          io: { ...task.stdio },
          checkpoint: '',
          pid,
        }),
      );
      log.info({ pid, runtime: driver.name }, 'created');
      return { pid };
    } catch (err) {
      log.warn({ err: describe(err) }, 'create failed');
      this.o.logs?.detach(id);
      for (const step of undo.reverse()) {
        try {
          await step();
        } catch (e) {
          log.warn({ err: describe(e) }, 'create: cleanup step failed');
        }
      }
      throw err;
    } finally {
      this.creating.delete(id);
      if (this.size === 0) this.o.onIdle?.(true);
    }
  };

  Start: Impl['Start'] = async (req) => {
    this.noExec(req.execId, 'Start');
    const task = this.get(req.id);
    await task.start();
    return { pid: task.pid };
  };

  State: Impl['State'] = async (req) => {
    this.noExec(req.execId, 'State');
    const task = this.get(req.id);
    const exit = task.exitInfo;
    return {
      id: task.id,
      bundle: task.bundle,
      pid: task.pid,
      status: STATUS[task.status],
      stdin: task.stdio.stdin,
      stdout: task.stdio.stdout,
      stderr: task.stdio.stderr,
      terminal: task.stdio.terminal,
      exitStatus: exit?.status ?? 0,
      exitedAt: exit ? timestamp(exit.at) : null,
      execId: '',
    };
  };

  Wait: Impl['Wait'] = async (req, ctx) => {
    this.noExec(req.execId, 'Wait');
    const task = this.get(req.id);
    const exit = await Promise.race([
      task.wait(),
      new Promise<never>((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true })),
    ]);
    return { exitStatus: exit.status, exitedAt: timestamp(exit.at) };
  };

  Kill: Impl['Kill'] = async (req) => {
    this.noExec(req.execId, 'Kill');
    const signal = req.signal ?? 0;
    if (!Number.isInteger(signal) || signal < 0 || signal > 64) throw invalidArgument(`signal ${signal} is out of range`);
    await this.get(req.id).kill(signal, !!req.all);
    return {};
  };

  Delete: Impl['Delete'] = async (req) => {
    this.noExec(req.execId, 'Delete');
    const task = this.get(req.id);
    await task.delete();
    this.tasks.delete(task.id);
    const exit = task.exitInfo ?? { status: 137, at: new Date() };
    this.o.events.publish(taskDelete({ containerId: task.id, pid: task.pid, exitStatus: exit.status, exitedAt: exit.at }));
    this.o.logs?.detach(task.id);
    if (this.size === 0) this.o.onIdle?.(true);
    return { pid: task.pid, exitStatus: exit.status, exitedAt: timestamp(exit.at) };
  };

  Pids: Impl['Pids'] = async (req) => {
    const task = this.get(req.id);
    const pids = await task.ps();
    return { processes: pids.map((pid) => ({ pid })) };
  };

  Connect: Impl['Connect'] = async (req) => {
    const task = req.id ? this.tasks.get(req.id) : undefined;
    return { shimPid: process.pid, taskPid: task?.pid ?? 0, version: this.o.version };
  };

  Shutdown: Impl['Shutdown'] = async (req) => {
    // One daemon serves many tasks: it goes only when none is left (containerd ignores errors).
    if (this.size === 0) this.o.onShutdown?.(!!req.now);
    return {};
  };

  Pause: Impl['Pause'] = async () => {
    throw unimplemented('Pause is not supported yet');
  };
  Resume: Impl['Resume'] = async () => {
    throw unimplemented('Resume is not supported yet');
  };
  Checkpoint: Impl['Checkpoint'] = async () => {
    throw unimplemented('Checkpoint is not supported yet');
  };
  Exec: Impl['Exec'] = async () => {
    throw unimplemented('Exec is not supported yet');
  };
  ResizePty: Impl['ResizePty'] = async () => {
    throw unimplemented('ResizePty is not supported yet');
  };
  CloseIO: Impl['CloseIO'] = async (req) => {
    this.noExec(req.execId, 'CloseIO');
    this.get(req.id).closeStdin();
    return {};
  };
  Update: Impl['Update'] = async () => {
    throw unimplemented('Update is not supported yet');
  };
  Stats: Impl['Stats'] = async () => {
    throw unimplemented('Stats is not supported yet');
  };
}
