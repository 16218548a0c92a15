/**
 * The delegate backend: tasks served by another shim v2 (Kata's, or any delegate). Every
 * Task RPC for them is forwarded unchanged and its status codes come back unchanged. The
 * delegate publishes its own events to containerd, so we publish none for its tasks,
 * except when it dies: then its tasks get the exit (from its `delete`, else 255) nobody
 * else will report.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { TtrpcClient } from '../../transport/ttrpc/client.js';
import { probeUnixSocket } from '../../transport/probe.js';
import { taskServiceV2, taskServiceV3, type TaskApi, type TaskCallContext, type TaskClient } from '../../api/task.js';
import { describe, notFound } from '../../errors/index.js';
import type { EventSink } from '../../events/sink.js';
import { taskDelete, taskExit, timestamp } from '../../events/topics.js';
import { writeTaskRecord } from '../record.js';
import type { TaskBackend, TaskSummary } from '../types.js';
import { deleteDelegate, encodeOptionsAny, startDelegate, type DelegateCommand, type StartAnswer } from './launch.js';

interface Exit {
  status: number;
  at: Date;
}

type Api = Omit<TaskApi, 'Create' | 'Connect' | 'Shutdown'>;
type Method = keyof Api;

interface Delegate {
  address: string;
  client: TtrpcClient;
  task: TaskClient;
  ids: Set<string>;
  /** Where its starts ran: the first is its working directory, kept until it is gone. */
  workDirs: Set<string>;
  /** We are shutting it down: its connection closing is not a death. */
  leaving: boolean;
}

interface DelegatedTask {
  id: string;
  bundle: string;
  cmd: DelegateCommand;
  delegate: Delegate;
  pid: number;
  /** Set when the delegate died under the task. */
  exit?: Exit;
  /** Settles once a death has been handled (exit recorded). */
  dead: Promise<void>;
  markDead: () => void;
}

const WAIT_STATUS = { stopped: 3 };
/** What a shim's start writes into its working directory. */
const OWN_FILES = new Set(['address', 'shim.pid', 'bootstrap.json']);

/** How long a delegate whose last task is deleted gets to forward its last events. */
const EVENTS_DRAIN_MS = 250;

export class DelegateBackend implements TaskBackend {
  private readonly tasks = new Map<string, DelegatedTask>();
  private readonly delegates = new Map<string, Delegate>();

  /** workRoot: a directory of ours for the delegates' start (see DelegateCommand.workDir). */
  constructor(private readonly o: { namespace: string; events: EventSink; log: Logger; workRoot: string }) {}

  taskPid(id: string): number {
    return this.tasks.get(id)?.pid ?? 0;
  }

  summaries(): TaskSummary[] {
    return [...this.tasks.values()].map((t) => ({ id: t.id, runtime: t.cmd.binary, status: t.exit ? 'stopped' : 'delegated', pid: t.pid }));
  }

  /** Shuts down every delegate still running (the daemon is leaving). */
  async close(): Promise<void> {
    for (const d of [...this.delegates.values()]) {
      d.leaving = true;
      this.delegates.delete(d.address);
      d.client.close();
      this.removeWorkDirs(d);
    }
  }

  /** Starts (or finds) the delegate for this task and forwards Create to it. */
  async create(
    task: { id: string; bundle: string; request: Parameters<TaskApi['Create']>[0] },
    cmd: DelegateCommand,
    decision: unknown,
    ctx?: TaskCallContext,
  ): Promise<Awaited<ReturnType<TaskApi['Create']>>> {
    const req = task.request;
    writeTaskRecord(task.bundle, {
      id: task.id,
      namespace: this.o.namespace,
      runtime: cmd.binary,
      decision,
      delegate: { binary: cmd.binary, address: cmd.address, publishBinary: cmd.publishBinary },
    });
    const workDir = this.workDir(cmd);
    let d: Delegate;
    try {
      d = await this.delegate(await startDelegate({ ...cmd, workDir }));
    } catch (err) {
      fs.rmSync(workDir, { recursive: true, force: true });
      throw err;
    }
    d.workDirs.add(workDir);
    let markDead!: () => void;
    const dead = new Promise<void>((r) => (markDead = r));
    const t: DelegatedTask = { id: cmd.id, bundle: cmd.bundle, cmd, delegate: d, pid: 0, dead, markDead };
    d.ids.add(cmd.id);
    this.tasks.set(cmd.id, t);
    try {
      // Our own options (our config path) mean nothing to the delegate: it gets its own, as at start.
      const opts = encodeOptionsAny(cmd.options);
      const res = await d.task.Create({ ...req, options: opts }, { signal: ctx?.signal });
      t.pid = res.pid ?? 0;
      this.o.log.info({ task: cmd.id, delegate: cmd.binary, address: d.address, pid: t.pid }, 'created on a delegate shim');
      return res;
    } catch (err) {
      this.forget(t);
      await deleteDelegate(cmd).catch(() => undefined);
      throw err;
    }
  }

  /**
   * The bundle's entries as links (config.json for the shim's grouping, the `log` FIFO
   * containerd reads its logs from…), without the files a shim writes for itself.
   */
  private workDir(cmd: DelegateCommand): string {
    const dir = path.join(this.o.workRoot, cmd.id);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const name of fs.readdirSync(cmd.bundle)) {
      if (OWN_FILES.has(name)) continue;
      fs.symlinkSync(path.join(cmd.bundle, name), path.join(dir, name));
    }
    return dir;
  }

  private removeWorkDirs(d: Delegate): void {
    for (const dir of d.workDirs) fs.rmSync(dir, { recursive: true, force: true });
    d.workDirs.clear();
  }

  private async delegate({ address, version }: StartAnswer): Promise<Delegate> {
    let d = this.delegates.get(address);
    if (d) return d;
    const client = await TtrpcClient.connect(address);
    d = { address, client, task: client.service(version === 3 ? taskServiceV3 : taskServiceV2), ids: new Set(), workDirs: new Set(), leaving: false };
    this.delegates.set(address, d);
    const me = d;
    client.onClose(() => void this.died(me));
    return d;
  }

  private get(id: string): DelegatedTask {
    const t = this.tasks.get(id);
    if (!t) throw notFound(`task ${id} not found`);
    return t;
  }

  Start: Api['Start'] = (req, ctx) => this.call('Start', req, ctx);
  State: Api['State'] = (req, ctx) => this.call('State', req, ctx);
  Wait: Api['Wait'] = (req, ctx) => this.call('Wait', req, ctx);
  Kill: Api['Kill'] = (req, ctx) => this.call('Kill', req, ctx);
  Delete: Api['Delete'] = (req, ctx) => this.call('Delete', req, ctx);
  Pids: Api['Pids'] = (req, ctx) => this.call('Pids', req, ctx);
  Exec: Api['Exec'] = (req, ctx) => this.call('Exec', req, ctx);
  ResizePty: Api['ResizePty'] = (req, ctx) => this.call('ResizePty', req, ctx);
  CloseIO: Api['CloseIO'] = (req, ctx) => this.call('CloseIO', req, ctx);
  Pause: Api['Pause'] = (req, ctx) => this.call('Pause', req, ctx);
  Resume: Api['Resume'] = (req, ctx) => this.call('Resume', req, ctx);
  Update: Api['Update'] = (req, ctx) => this.call('Update', req, ctx);
  Stats: Api['Stats'] = (req, ctx) => this.call('Stats', req, ctx);
  Checkpoint: Api['Checkpoint'] = (req, ctx) => this.call('Checkpoint', req, ctx);

  /**
   * Forwards one RPC for a delegated task. While the delegate is alive the answer is its own;
   * after it died, we answer from the exit we recorded.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private async call<M extends Method>(method: M, req: { id?: string | null; execId?: string | null }, ctx?: TaskCallContext): Promise<any> {
    const t = this.get(req.id ?? '');
    if (t.exit) return this.afterDeath(t, method, req);
    const fn = t.delegate.task[method] as (r: unknown, o?: { signal?: AbortSignal }) => Promise<unknown>;
    let res: unknown;
    try {
      res = await fn(req, { signal: ctx?.signal });
    } catch (err) {
      // The delegate died during the call (a pending Wait, typically): answer as after its death.
      if (!t.delegate.client.closed || t.delegate.leaving) throw err;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([t.dead, new Promise((r) => (timer = setTimeout(r, 15_000)))]);
      clearTimeout(timer);
      if (!t.exit) throw err;
      return this.afterDeath(t, method, req);
    }
    if (method === 'Delete' && !req.execId) await this.deleted(t);
    return res;
  }

  private async afterDeath(t: DelegatedTask, method: Method, req: { execId?: string | null }): Promise<unknown> {
    const exit = t.exit!;
    if (req.execId) throw notFound(`exec ${req.execId} of task ${t.id}: its shim is gone`);
    switch (method) {
      case 'State':
        return { id: t.id, bundle: t.bundle, pid: t.pid, status: WAIT_STATUS.stopped, exitStatus: exit.status, exitedAt: timestamp(exit.at) };
      case 'Wait':
        return { exitStatus: exit.status, exitedAt: timestamp(exit.at) };
      case 'Delete':
        this.forget(t);
        this.o.events.publish(taskDelete({ containerId: t.id, pid: t.pid, exitStatus: exit.status, exitedAt: exit.at }));
        return { pid: t.pid, exitStatus: exit.status, exitedAt: timestamp(exit.at) };
      case 'Kill':
        throw notFound(`process already finished: task ${t.id} (its shim is gone)`);
      default:
        throw notFound(`task ${t.id}: its shim ${t.cmd.binary} is gone`);
    }
  }

  /** The last task of a delegate is gone: shut it down, as containerd would. */
  private async deleted(t: DelegatedTask): Promise<void> {
    const d = t.delegate;
    this.forget(t);
    if (d.ids.size > 0) return;
    d.leaving = true;
    this.delegates.delete(d.address);
    // runc-v2 queues its /tasks/delete event when Delete returns and forwards it from another
    // goroutine; a Shutdown at once can end the process first and the event is lost (seen
    // under load). containerd's own Shutdown has the same race; we give the event its time.
    await new Promise((r) => setTimeout(r, EVENTS_DRAIN_MS));
    await d.task.Shutdown({ id: t.id }, { timeoutMs: 5000 }).catch(() => undefined);
    d.client.close();
    this.removeWorkDirs(d);
  }

  private forget(t: DelegatedTask): void {
    this.tasks.delete(t.id);
    t.delegate.ids.delete(t.id);
  }

  private async died(d: Delegate): Promise<void> {
    this.delegates.delete(d.address);
    if (d.leaving) return;
    this.removeWorkDirs(d);
    void removeStaleSocket(d.address);
    for (const id of [...d.ids]) {
      const t = this.tasks.get(id);
      if (!t || t.exit) continue;
      let status = 255;
      let at = new Date();
      try {
        const r = await deleteDelegate(t.cmd);
        status = r.exitStatus;
        at = r.exitedAt;
      } catch (err) {
        this.o.log.warn({ task: id, err: describe(err) }, 'delegate delete after its death');
      }
      t.exit = { status, at };
      this.o.log.warn({ task: id, delegate: t.cmd.binary, exitStatus: status }, 'delegate shim died: task reported exited');
      this.o.events.publish(taskExit({ containerId: id, id, pid: t.pid, exitStatus: status, exitedAt: at }));
      t.markDead();
    }
  }
}

/** A shim killed outright leaves its socket behind; remove it once nothing answers there. */
async function removeStaleSocket(address: string): Promise<void> {
  const file = address.replace(/^unix:\/\//, '');
  if (!file.startsWith('/')) return;
  const refused = (await probeUnixSocket(file))?.code === 'ECONNREFUSED';
  if (refused) fs.rmSync(file, { force: true });
}
