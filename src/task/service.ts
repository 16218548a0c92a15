/**
 * The Task API as containerd calls it: every request validated where it enters, then
 * handed to the backend that owns its task. The service holds only the id → backend
 * table; what a task runs on is the backends' business, and which backend owns a new
 * task is the Placement's.
 */
import type { TaskApi, TaskCallContext } from '../api/task.js';
import type { TaskBackend } from '../backends/types.js';
import { alreadyExists, invalidArgument, notFound } from '../errors/index.js';
import type { NewTask, Placement } from './placement.js';
import { readBundleSpec, validateBundle, validateId } from './validate.js';

export interface TaskServiceOptions {
  /** Chooses the backend of a new task under the node's policy (throws its refusals). */
  place(task: NewTask): Placement;
  /** The task is gone: forget what was kept for it (its routing decision). */
  forget?(id: string): void;
  /** Called whenever the table becomes empty or stops being empty. */
  onIdle?(idle: boolean): void;
  /** Called for Shutdown when no task is left. */
  onShutdown?(now: boolean): void;
  version: string;
}

/** Signals a process can be sent (Linux has 64). */
const MAX_SIGNAL = 64;
const MAX_PTY_SIDE = 0xffff;

/** A request that names a task, and maybe one of its execs. */
interface Addressed {
  id?: string | null;
  execId?: string | null;
}

export class TaskService implements TaskApi {
  private readonly owners = new Map<string, TaskBackend>();
  /** Ids being created: a second Create of one id is refused while the first runs. */
  private readonly creating = new Set<string>();

  constructor(private readonly o: TaskServiceOptions) {}

  get size(): number {
    return this.owners.size + this.creating.size;
  }

  /** The backends that own tasks now, each once. */
  backends(): TaskBackend[] {
    return [...new Set(this.owners.values())];
  }

  /** The owner of the task a request names; the exec id, when given, is checked too. */
  private owner(req: Addressed): TaskBackend {
    const id = validateId(req.id);
    if (req.execId) validateId(req.execId, 'exec_id');
    const backend = this.owners.get(id);
    if (!backend) throw notFound(`task ${id} not found`);
    return backend;
  }

  private idleCheck(): void {
    if (this.size === 0) this.o.onIdle?.(true);
  }

  Create: TaskApi['Create'] = async (req, ctx) => {
    const id = validateId(req.id);
    const bundle = validateBundle(req.bundle);
    if (this.owners.has(id) || this.creating.has(id)) throw alreadyExists(`task ${id} already exists`);
    const spec = readBundleSpec(bundle);
    this.creating.add(id);
    this.o.onIdle?.(false);
    try {
      const placement = this.o.place({ id, bundle, spec, request: req });
      let res;
      try {
        res = await placement.create(ctx);
      } catch (err) {
        this.o.forget?.(id);
        throw err;
      }
      this.owners.set(id, placement.backend);
      return res;
    } finally {
      this.creating.delete(id);
      this.idleCheck();
    }
  };

  Start: TaskApi['Start'] = async (req, ctx) => this.owner(req).Start(req, ctx);
  State: TaskApi['State'] = async (req, ctx) => this.owner(req).State(req, ctx);
  Wait: TaskApi['Wait'] = async (req, ctx) => this.owner(req).Wait(req, ctx);
  Pids: TaskApi['Pids'] = async (req, ctx) => this.owner(req).Pids(req, ctx);
  CloseIO: TaskApi['CloseIO'] = async (req, ctx) => this.owner(req).CloseIO(req, ctx);
  Pause: TaskApi['Pause'] = async (req, ctx) => this.owner(req).Pause(req, ctx);
  Resume: TaskApi['Resume'] = async (req, ctx) => this.owner(req).Resume(req, ctx);
  Update: TaskApi['Update'] = async (req, ctx) => this.owner(req).Update(req, ctx);
  Stats: TaskApi['Stats'] = async (req, ctx) => this.owner(req).Stats(req, ctx);
  Checkpoint: TaskApi['Checkpoint'] = async (req, ctx) => this.owner(req).Checkpoint(req, ctx);

  Kill: TaskApi['Kill'] = async (req, ctx) => {
    const backend = this.owner(req);
    const signal = req.signal ?? 0;
    if (!Number.isInteger(signal) || signal < 0 || signal > MAX_SIGNAL) throw invalidArgument(`signal ${signal} is out of range`);
    return backend.Kill(req, ctx);
  };

  Exec: TaskApi['Exec'] = async (req, ctx) => {
    const backend = this.owner(req);
    validateId(req.execId, 'exec_id');
    return backend.Exec(req, ctx);
  };

  ResizePty: TaskApi['ResizePty'] = async (req, ctx) => {
    const backend = this.owner(req);
    const width = req.width ?? 0;
    const height = req.height ?? 0;
    if (width <= 0 || height <= 0 || width > MAX_PTY_SIDE || height > MAX_PTY_SIDE) throw invalidArgument(`size ${width}x${height} is out of range`);
    return backend.ResizePty(req, ctx);
  };

  Delete: TaskApi['Delete'] = async (req, ctx: TaskCallContext) => {
    const res = await this.owner(req).Delete(req, ctx);
    if (!req.execId) {
      this.owners.delete(req.id ?? '');
      this.o.forget?.(req.id ?? '');
      this.idleCheck();
    }
    return res;
  };

  Connect: TaskApi['Connect'] = async (req) => {
    const backend = req.id ? this.owners.get(req.id) : undefined;
    return { shimPid: process.pid, taskPid: backend?.taskPid(req.id ?? '') ?? 0, version: this.o.version };
  };

  Shutdown: TaskApi['Shutdown'] = async (req) => {
    // One daemon serves many tasks: it goes only when none is left (containerd ignores errors).
    if (this.size === 0) this.o.onShutdown?.(!!req.now);
    return {};
  };
}
