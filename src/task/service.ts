import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { TaskServiceDefinition } from '../api/task.js';
import type { ServiceImplementation } from '../transport/service.js';
import { alreadyExists, failedPrecondition, invalidArgument, notFound, unimplemented, describe } from '../errors/index.js';
import type { EventSink } from '../events/sink.js';
import { taskCreate, taskDelete, taskOOM, timestamp } from '../events/topics.js';
import { openStdio, type ProcessStdio } from '../io/process-stdio.js';
import { parseStdio } from '../io/uri.js';
import { containerd } from '../gen/proto.js';
import type { RuntimeDriver } from '../backends/types.js';
import type { Reaper } from '../sys/reaper.js';
import { mount, unmountAll } from '../sys/mount.js';
import { Task, type StdioPaths } from './task.js';
import type { ExecProcess } from './exec.js';
import { readBundleSpec, validateBundle, validateId } from './validate.js';
import { markTaskDeleted, writeTaskRecord } from './record.js';
import { decodeCheckpoint, decodeCreateOptions, decodeExecProcess } from './payloads.js';
import { decodeLinuxResources } from '../cgroups/resources.js';
import type { ContainerMonitor, OomWatch } from './monitor.js';
import type { DelegatedTasks } from './delegated.js';
import type { DelegateCommand } from '../backends/shim/launch.js';

/** Status numbers of containerd.v1.types.Status. */
const STATUS = { created: 1, running: 2, stopped: 3, deleted: 3, paused: 4 } as const;

export interface TaskServiceOptions {
  namespace: string;
  events: EventSink;
  reaper: Pick<Reaper, 'watch'>;
  log: Logger;
  /** The backend for a new task, and the routing decision that chose it (kept in the bundle's record). */
  driverFor(task: { id: string; bundle: string; annotations: Record<string, string> }): {
    driver?: RuntimeDriver;
    /** Set instead of driver when the runtime is another shim v2 that serves the task itself. */
    delegate?: (task: { id: string; bundle: string }) => DelegateCommand;
    decision?: unknown;
  };
  /** Tasks served by delegate shims (type = "shim" runtimes). */
  delegates?: DelegatedTasks;
  /** The task is gone: forget what was kept for it (its decision). */
  forget?(id: string): void;
  /** Called whenever the table becomes empty or stops being empty. */
  onIdle?(idle: boolean): void;
  /** Called for Shutdown when no task is left. */
  onShutdown?(now: boolean): void;
  version: string;
  /** Where each task's log lines also go (its bundle's log fifo). */
  logs?: { attach(id: string, bundle: string): void; detach(id: string): void };
  monitor?: ContainerMonitor;
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
    return this.tasks.size + this.creating.size + (this.o.delegates?.size ?? 0);
  }

  /** Forwards the call when the task is served by a delegate shim. */
  private delegated<R>(method: keyof TaskServiceDefinition, req: { id?: string | null; execId?: string | null }, ctx?: Parameters<Impl['Start']>[1]): Promise<R> | undefined {
    if (!this.o.delegates?.has(req.id)) return undefined;
    return this.o.delegates.call(method, req, ctx) as Promise<R>;
  }

  list(): Task[] {
    return [...this.tasks.values()];
  }

  private get(id: string | null | undefined): Task {
    const task = this.tasks.get(validateId(id));
    if (!task) throw notFound(`task ${id} not found`);
    return task;
  }

  /** The process a request names: the init when exec_id is empty. */
  private proc(id: string | null | undefined, execId: string | null | undefined): { task: Task; exec?: ExecProcess } {
    const task = this.get(id);
    if (!execId) return { task };
    return { task, exec: task.exec(validateId(execId, 'exec_id')) };
  }

  Create: Impl['Create'] = async (req, ctx) => {
    const id = validateId(req.id);
    const bundle = validateBundle(req.bundle);
    if (this.tasks.has(id) || this.creating.has(id) || this.o.delegates?.has(id)) throw alreadyExists(`task ${id} already exists`);
    const spec = readBundleSpec(bundle);
    const options = decodeCreateOptions(req.options);
    const terminal = !!req.terminal;
    const stdioPaths: StdioPaths = { stdin: req.stdin ?? '', stdout: req.stdout ?? '', stderr: req.stderr ?? '', terminal };
    const stdioSpec = parseStdio(stdioPaths);
    const checkpoint = req.checkpoint || options.criuImagePath || '';
    if (checkpoint && !checkpoint.startsWith('/')) throw invalidArgument(`checkpoint: ${JSON.stringify(checkpoint)} must be an absolute path`);
    this.o.logs?.attach(id, bundle);
    const log = this.o.log.child({ task: id });
    this.creating.add(id);
    this.o.onIdle?.(false);
    const undo: (() => Promise<void> | void)[] = [];
    try {
      const routed = this.o.driverFor({ id, bundle, annotations: spec.annotations });
      const decision = routed.decision;
      undo.push(() => this.o.forget?.(id));
      if (routed.delegate && this.o.delegates) {
        const cmd = routed.delegate({ id, bundle });
        writeTaskRecord(bundle, { id, namespace: this.o.namespace, runtime: cmd.binary, binary: cmd.binary, root: '', decision, delegate: { binary: cmd.binary, address: cmd.address, publishBinary: cmd.publishBinary } });
        this.o.logs?.detach(id);
        return await this.o.delegates.create(req, cmd, ctx);
      }
      const driver = routed.driver!;
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
      writeTaskRecord(bundle, { id, namespace: this.o.namespace, runtime: driver.name, binary: driver.binary, root: driver.root, command: driver.command, decision });
      const stdio: ProcessStdio = await openStdio(stdioSpec, {
        containerId: id,
        namespace: this.o.namespace,
        logger: log,
        scratchDir: bundle,
        ioUid: options.ioUid,
        ioGid: options.ioGid,
      });
      undo.push(() => stdio.close());
      const pidFile = path.join(bundle, 'init.pid');
      let pid = 0;
      if (!checkpoint) {
        pid = await driver.create({ id, bundle, stdio: stdio.runtimeStdio, pidFile, consoleSocket: stdio.consoleSocket, annotations: spec.annotations });
        undo.push(() => driver.delete(id, true).catch(() => undefined));
        await stdio.afterRuntime();
      }
      const reap = (p: number) => this.o.reaper.watch(p).then((e) => ({ status: e.status, at: e.exitedAt }));
      let oom: OomWatch | undefined;
      const publishOom = () => this.o.events.publish(taskOOM({ containerId: id }));
      const startOomWatch = (p: number) => {
        try {
          oom = this.o.monitor?.watchOom({ id, pid: p }, publishOom);
        } catch (err) {
          log.warn({ err: describe(err) }, 'cannot watch for OOM kills');
        }
      };
      const task = new Task({
        id,
        bundle,
        pid,
        driver,
        stdio,
        stdioPaths,
        events: this.o.events,
        log,
        watch: reap,
        // runsc knows a sandboxed container's exit when the host pid does not (gVisor's shim asks it too).
        watchInit: driver.wait && driver.waitsItself ? (p) => driver.wait!(id).then((status) => ({ status, at: new Date() }), () => reap(p)) : undefined,
        sharedPidNamespace: spec.sharedPidNamespace,
        restore: checkpoint
          ? { pidFile, checkpoint: { imagePath: checkpoint, workPath: options.criuWorkPath ?? path.join(bundle, 'criu-work') } }
          : undefined,
        onPid: startOomWatch,
        beforeExitEvent: async () => {
          // The OOM notice may still be in flight when the exit is reaped: it goes out first.
          if (oom?.pending()) publishOom();
          oom?.close();
        },
        cleanup: async () => {
          oom?.close();
          if ((req.rootfs ?? []).length > 0) unmountAll(rootfs);
        },
      });
      this.tasks.set(id, task);
      this.o.events.publish(
        taskCreate({
          containerId: id,
          bundle,
          rootfs: (req.rootfs ?? []).map((m) => ({ type: m.type ?? '', source: m.source ?? '', target: m.target ?? '', options: m.options ?? [] })),
          io: { ...stdioPaths },
          checkpoint,
          pid,
        }),
      );
      log.info({ pid, runtime: driver.name, terminal, checkpoint: checkpoint || undefined }, 'created');
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

  Start: Impl['Start'] = async (req, ctx) => {
    const fwd = this.delegated<Awaited<ReturnType<Impl['Start']>>>('Start', req, ctx);
    if (fwd) return fwd;
    const { task, exec } = this.proc(req.id, req.execId);
    if (exec) {
      await exec.start();
      return { pid: exec.pid };
    }
    await task.start();
    return { pid: task.pid };
  };

  State: Impl['State'] = async (req, ctx) => {
    const fwd = this.delegated<Awaited<ReturnType<Impl['State']>>>('State', req, ctx);
    if (fwd) return fwd;
    const { task, exec } = this.proc(req.id, req.execId);
    const p = exec ?? task;
    const exit = p.exitInfo;
    return {
      id: task.id,
      bundle: task.bundle,
      pid: p.pid,
      status: STATUS[p.status],
      stdin: p.stdioPaths.stdin,
      stdout: p.stdioPaths.stdout,
      stderr: p.stdioPaths.stderr,
      terminal: p.stdioPaths.terminal,
      exitStatus: exit?.status ?? 0,
      exitedAt: exit ? timestamp(exit.at) : null,
      execId: exec?.execId ?? '',
    };
  };

  Wait: Impl['Wait'] = async (req, ctx) => {
    const fwd = this.delegated<Awaited<ReturnType<Impl['Wait']>>>('Wait', req, ctx);
    if (fwd) return fwd;
    const { task, exec } = this.proc(req.id, req.execId);
    const exit = await Promise.race([
      exec ? exec.exited : task.wait(),
      new Promise<never>((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true })),
    ]);
    return { exitStatus: exit.status, exitedAt: timestamp(exit.at) };
  };

  Kill: Impl['Kill'] = async (req, ctx) => {
    const fwd = this.delegated<Awaited<ReturnType<Impl['Kill']>>>('Kill', req, ctx);
    if (fwd) return fwd;
    const signal = req.signal ?? 0;
    if (!Number.isInteger(signal) || signal < 0 || signal > 64) throw invalidArgument(`signal ${signal} is out of range`);
    const { task, exec } = this.proc(req.id, req.execId);
    if (exec) await exec.kill(signal);
    else await task.kill(signal, !!req.all);
    return {};
  };

  Delete: Impl['Delete'] = async (req, ctx) => {
    const fwd = this.delegated<Awaited<ReturnType<Impl['Delete']>>>('Delete', req, ctx);
    if (fwd) {
      const res = await fwd;
      if (!req.execId) {
        this.o.forget?.(req.id ?? '');
        if (this.size === 0) this.o.onIdle?.(true);
      }
      return res;
    }
    const { task, exec } = this.proc(req.id, req.execId);
    if (exec) {
      await task.deleteExec(exec.execId);
      const exit = exec.exitInfo ?? { status: 255, at: new Date() };
      return { pid: exec.pid, exitStatus: exit.status, exitedAt: timestamp(exit.at) };
    }
    await task.delete();
    this.tasks.delete(task.id);
    const exit = task.exitInfo ?? { status: 137, at: new Date() };
    markTaskDeleted(task.bundle, { pid: task.pid, exitStatus: exit.status, exitedAt: exit.at });
    this.o.events.publish(taskDelete({ containerId: task.id, pid: task.pid, exitStatus: exit.status, exitedAt: exit.at }));
    this.o.logs?.detach(task.id);
    this.o.forget?.(task.id);
    if (this.size === 0) this.o.onIdle?.(true);
    return { pid: task.pid, exitStatus: exit.status, exitedAt: timestamp(exit.at) };
  };

  Pids: Impl['Pids'] = async (req, ctx) => {
    const fwd = this.delegated<Awaited<ReturnType<Impl['Pids']>>>('Pids', req, ctx);
    if (fwd) return fwd;
    const task = this.get(req.id);
    const procs = await task.ps();
    return {
      processes: procs.map(({ pid, execId }) => ({
        pid,
        // As runc-v2: an exec's pid carries its exec id, so `ctr task ps` can tell them apart.
        info: execId ? { type_url: 'containerd.runc.v1.ProcessDetails', value: containerd.runc.v1.ProcessDetails.encode({ execId }).finish() } : null,
      })),
    };
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

  Exec: Impl['Exec'] = async (req, ctx) => {
    const fwd = this.delegated<Awaited<ReturnType<Impl['Exec']>>>('Exec', req, ctx);
    if (fwd) return fwd;
    const task = this.get(req.id);
    const execId = validateId(req.execId, 'exec_id');
    task.canExec(execId);
    const terminal = !!req.terminal;
    const processSpec = decodeExecProcess(req.spec, terminal);
    const stdioPaths: StdioPaths = { stdin: req.stdin ?? '', stdout: req.stdout ?? '', stderr: req.stderr ?? '', terminal };
    const log = this.o.log.child({ task: task.id, exec: execId });
    const stdio = await openStdio(parseStdio(stdioPaths), {
      containerId: task.id,
      namespace: this.o.namespace,
      logger: log,
      scratchDir: task.bundle,
    });
    try {
      task.addExec(execId, processSpec, stdio, stdioPaths);
    } catch (err) {
      await stdio.close();
      throw err;
    }
    return {};
  };

  ResizePty: Impl['ResizePty'] = async (req, ctx) => {
    const fwd = this.delegated<Awaited<ReturnType<Impl['ResizePty']>>>('ResizePty', req, ctx);
    if (fwd) return fwd;
    const { task, exec } = this.proc(req.id, req.execId);
    const width = req.width ?? 0;
    const height = req.height ?? 0;
    if (width <= 0 || height <= 0 || width > 0xffff || height > 0xffff) throw invalidArgument(`size ${width}x${height} is out of range`);
    (exec ?? task).resize(width, height);
    return {};
  };

  CloseIO: Impl['CloseIO'] = async (req, ctx) => {
    const fwd = this.delegated<Awaited<ReturnType<Impl['CloseIO']>>>('CloseIO', req, ctx);
    if (fwd) return fwd;
    const { task, exec } = this.proc(req.id, req.execId);
    if (req.stdin) (exec ?? task).closeStdin();
    return {};
  };

  Pause: Impl['Pause'] = async (req, ctx) => {
    const fwd = this.delegated<Awaited<ReturnType<Impl['Pause']>>>('Pause', req, ctx);
    if (fwd) return fwd;
    await this.get(req.id).pause();
    return {};
  };

  Resume: Impl['Resume'] = async (req, ctx) => {
    const fwd = this.delegated<Awaited<ReturnType<Impl['Resume']>>>('Resume', req, ctx);
    if (fwd) return fwd;
    await this.get(req.id).resume();
    return {};
  };

  Update: Impl['Update'] = async (req, ctx) => {
    const fwd = this.delegated<Awaited<ReturnType<Impl['Update']>>>('Update', req, ctx);
    if (fwd) return fwd;
    const task = this.get(req.id);
    await task.update(decodeLinuxResources(req.resources));
    return {};
  };

  Stats: Impl['Stats'] = async (req, ctx) => {
    const fwd = this.delegated<Awaited<ReturnType<Impl['Stats']>>>('Stats', req, ctx);
    if (fwd) return fwd;
    const task = this.get(req.id);
    if (!this.o.monitor) throw unimplemented('Stats: no cgroup monitor in this daemon');
    if (task.pid <= 0 || task.status === 'stopped' || task.status === 'deleted') {
      throw notFound(`task ${task.id} has no running process to measure`);
    }
    const stats = await this.o.monitor.stats({ id: task.id, pid: task.pid });
    return { stats: { type_url: stats.type_url ?? '', value: stats.value ?? new Uint8Array() } };
  };

  Checkpoint: Impl['Checkpoint'] = async (req, ctx) => {
    const fwd = this.delegated<Awaited<ReturnType<Impl['Checkpoint']>>>('Checkpoint', req, ctx);
    if (fwd) return fwd;
    const task = this.get(req.id);
    const spec = decodeCheckpoint(req.path ?? '', req.options, path.join(task.bundle, 'criu-work'));
    await task.checkpoint(spec);
    return {};
  };
}
