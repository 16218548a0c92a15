/**
 * The local backend: the Task API for tasks this daemon runs itself through a
 * RuntimeDriver (runc, crun, runsc). It owns their table, their processes' states, the
 * exits from the reaper, and every event those tasks cause.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import type { TaskApi } from '../api/task.js';
import type { RuntimeDriver, TaskBackend, TaskSummary } from '../backends/types.js';
import { notFound, unimplemented } from '../errors/index.js';
import type { EventSink } from '../events/sink.js';
import { taskCreate, taskDelete, timestamp } from '../events/topics.js';
import { containerd } from '../gen/proto.js';
import { openStdio } from '../io/process-stdio.js';
import { parseStdio } from '../io/uri.js';
import type { Reaper } from '../sys/reaper.js';
import type { ExecProcess } from './exec.js';
import { createLocalTask, stdioPathsOf } from './local-create.js';
import type { ContainerMonitor } from './monitor.js';
import { decodeCheckpoint, decodeExecProcess } from './payloads.js';
import { decodeLinuxResources } from './resources-payload.js';
import type { CreateTaskResponse, NewTask } from './placement.js';
import { markTaskDeleted } from '../backends/record.js';
import type { Task } from './task.js';

/** Status numbers of containerd.v1.types.Status. */
const STATUS = { created: 1, running: 2, stopped: 3, deleted: 3, paused: 4 } as const;

export interface LocalBackendOptions {
  namespace: string;
  events: EventSink;
  reaper: Pick<Reaper, 'watch'>;
  log: Logger;
  monitor?: ContainerMonitor;
  /** Where each task's log lines also go (its bundle's log fifo). */
  logs?: { attach(id: string, bundle: string): void; detach(id: string): void };
}

type Api = Omit<TaskApi, 'Create' | 'Connect' | 'Shutdown'>;

export class LocalBackend implements TaskBackend {
  private readonly tasks = new Map<string, Task>();

  constructor(private readonly o: LocalBackendOptions) {}

  async create(task: NewTask, driver: RuntimeDriver, decision: unknown): Promise<CreateTaskResponse> {
    const { id, bundle, request: req } = task;
    this.o.logs?.attach(id, bundle);
    let t: Task;
    try {
      t = await createLocalTask(
        { namespace: this.o.namespace, events: this.o.events, log: this.o.log, monitor: this.o.monitor, watch: (p) => this.watch(p) },
        task,
        driver,
        decision,
      );
    } catch (err) {
      this.o.logs?.detach(id);
      throw err;
    }
    this.tasks.set(id, t);
    const checkpoint = req.checkpoint || '';
    this.o.events.publish(
      taskCreate({
        containerId: id,
        bundle,
        rootfs: (req.rootfs ?? []).map((m) => ({ type: m.type ?? '', source: m.source ?? '', target: m.target ?? '', options: m.options ?? [] })),
        io: { ...t.stdioPaths },
        checkpoint,
        pid: t.pid,
      }),
    );
    this.o.log.child({ task: id }).info({ pid: t.pid, runtime: driver.name, terminal: t.stdioPaths.terminal, checkpoint: checkpoint || undefined }, 'created');
    return { pid: t.pid };
  }

  private watch(pid: number) {
    return this.o.reaper.watch(pid).then((e) => ({ status: e.status, at: e.exitedAt }));
  }

  private get(id: string | null | undefined): Task {
    const task = this.tasks.get(id ?? '');
    if (!task) throw notFound(`task ${id} not found`);
    return task;
  }

  /** The process a request names: the init when exec_id is empty. */
  private proc(id: string | null | undefined, execId: string | null | undefined): { task: Task; exec?: ExecProcess } {
    const task = this.get(id);
    return execId ? { task, exec: task.exec(execId) } : { task };
  }

  taskPid(id: string): number {
    return this.tasks.get(id)?.pid ?? 0;
  }

  summaries(): TaskSummary[] {
    return [...this.tasks.values()].map((t) => ({ id: t.id, runtime: t.driverName, status: t.status, pid: t.pid }));
  }

  async close(): Promise<void> {}

  Start: Api['Start'] = async (req) => {
    const { task, exec } = this.proc(req.id, req.execId);
    await (exec ?? task).start();
    return { pid: (exec ?? task).pid };
  };

  State: Api['State'] = async (req) => {
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

  Wait: Api['Wait'] = async (req, ctx) => {
    const { task, exec } = this.proc(req.id, req.execId);
    const exit = await Promise.race([
      exec ? exec.exited : task.wait(),
      new Promise<never>((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true })),
    ]);
    return { exitStatus: exit.status, exitedAt: timestamp(exit.at) };
  };

  Kill: Api['Kill'] = async (req) => {
    const { task, exec } = this.proc(req.id, req.execId);
    if (exec) await exec.kill(req.signal ?? 0);
    else await task.kill(req.signal ?? 0, !!req.all);
    return {};
  };

  Delete: Api['Delete'] = async (req) => {
    const { task, exec } = this.proc(req.id, req.execId);
    if (exec) {
      await task.deleteExec(exec.execId);
      // Only an exec that never started has no exit: runc-v2 answers 0 for it, and clients rely on that.
      const exit = exec.exitInfo ?? { status: 0, at: new Date() };
      return { pid: exec.pid, exitStatus: exit.status, exitedAt: timestamp(exit.at) };
    }
    await task.delete();
    this.tasks.delete(task.id);
    const exit = task.exitInfo ?? { status: 137, at: new Date() };
    markTaskDeleted(task.bundle, { pid: task.pid, exitStatus: exit.status, exitedAt: exit.at });
    this.o.events.publish(taskDelete({ containerId: task.id, pid: task.pid, exitStatus: exit.status, exitedAt: exit.at }));
    this.o.logs?.detach(task.id);
    return { pid: task.pid, exitStatus: exit.status, exitedAt: timestamp(exit.at) };
  };

  Pids: Api['Pids'] = async (req) => {
    const procs = await this.get(req.id).ps();
    return {
      processes: procs.map(({ pid, execId }) => ({
        pid,
        // As runc-v2: an exec's pid carries its exec id, so `ctr task ps` can tell them apart.
        info: execId ? { type_url: 'containerd.runc.v1.ProcessDetails', value: containerd.runc.v1.ProcessDetails.encode({ execId }).finish() } : null,
      })),
    };
  };

  Exec: Api['Exec'] = async (req) => {
    const task = this.get(req.id);
    const execId = req.execId ?? '';
    const stdioPaths = stdioPathsOf(req);
    const processSpec = decodeExecProcess(req.spec, stdioPaths.terminal);
    const stdioSpec = parseStdio(stdioPaths);
    const log = this.o.log.child({ task: task.id, exec: execId });
    const open = () => openStdio(stdioSpec, { containerId: task.id, namespace: this.o.namespace, logger: log, scratchDir: task.bundle });
    await task.addExec(execId, processSpec, open, stdioPaths);
    return {};
  };

  ResizePty: Api['ResizePty'] = async (req) => {
    const { task, exec } = this.proc(req.id, req.execId);
    (exec ?? task).resize(req.width ?? 0, req.height ?? 0);
    return {};
  };

  CloseIO: Api['CloseIO'] = async (req) => {
    const { task, exec } = this.proc(req.id, req.execId);
    if (req.stdin) (exec ?? task).closeStdin();
    return {};
  };

  Pause: Api['Pause'] = async (req) => {
    await this.get(req.id).pause();
    return {};
  };

  Resume: Api['Resume'] = async (req) => {
    await this.get(req.id).resume();
    return {};
  };

  Update: Api['Update'] = async (req) => {
    const task = this.get(req.id);
    await task.update(decodeLinuxResources(req.resources));
    return {};
  };

  Stats: Api['Stats'] = async (req) => {
    const task = this.get(req.id);
    if (!this.o.monitor) throw unimplemented('Stats: no cgroup monitor in this daemon');
    if (task.pid <= 0 || task.status === 'stopped' || task.status === 'deleted') {
      throw notFound(`task ${task.id} has no running process to measure`);
    }
    const stats = await this.o.monitor.stats({ id: task.id, pid: task.pid });
    return { stats: { type_url: stats.type_url ?? '', value: stats.value ?? new Uint8Array() } };
  };

  Checkpoint: Api['Checkpoint'] = async (req) => {
    const task = this.get(req.id);
    const spec = decodeCheckpoint(req.path ?? '', req.options, path.join(task.bundle, 'criu-work'));
    await task.checkpoint(spec);
    return {};
  };
}
