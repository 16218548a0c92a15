/**
 * The two plug points of the daemon (docs/architecture in the README):
 * - `RuntimeDriver`, small, for backends that start processes (runc, crun, runsc; later a
 *   microVM). The local task layer turns it into the Task API.
 * - `TaskBackend`, the Task API's own shape, for the tasks one backend owns: the local
 *   backend over any driver, or a delegate that forwards to another shim v2.
 * Neither knows of ttrpc or of containerd's events wire.
 */
import type { TaskApi } from '../api/task.js';

export interface CreateSpec {
  id: string;
  bundle: string;
  /** The container's stdin, stdout, stderr: handed to the runtime, inherited by the container. */
  stdio: [number, number, number];
  pidFile: string;
  consoleSocket?: string;
  /** The bundle's annotations: some flavours (runsc) act on CRI's. */
  annotations?: Record<string, string>;
  /** runc's create --no-pivot and --no-new-keyring, from the task's runc options. */
  noPivot?: boolean;
  noNewKeyring?: boolean;
}

export interface ExecSpec {
  id: string;
  execId: string;
  /** The OCI process (JSON object) the client sent. */
  process: unknown;
  stdio: [number, number, number];
  consoleSocket?: string;
}

export interface RestoreSpec extends CreateSpec {
  checkpoint: CheckpointSpec;
}

export interface CheckpointSpec {
  imagePath: string;
  workPath?: string;
  /** Keep the container running after the dump. */
  leaveRunning?: boolean;
  tcpEstablished?: boolean;
  externalUnixSockets?: boolean;
  shellJob?: boolean;
  fileLocks?: boolean;
  emptyNamespaces?: readonly string[];
  cgroupsMode?: string;
}

/**
 * What a runtime can do, declared once, so the task layer asks instead of testing names.
 * An operation a driver lacks is refused with FailedPrecondition naming the runtime.
 */
export interface DriverCapabilities {
  /** Signals a container that was created but never started (runc, crun; runsc refuses). */
  readonly killCreated: boolean;
  /** Knows the init's exit itself when the host pid does not tell it (runsc wait). */
  readonly reportsExit: boolean;
  readonly pause: boolean;
  readonly update: boolean;
  readonly checkpoint: boolean;
  readonly restore: boolean;
}

export interface RuntimeDriver {
  /** The runtime's name in the config, for errors, metrics and the decision record. */
  readonly name: string;
  readonly capabilities: DriverCapabilities;
  /**
   * The argv that removes container `id` by itself, with no daemon left: written into the
   * task record at Create and replayed by the shim binary's `delete`.
   */
  cleanupArgv(id: string): string[];
  /** Creates the container; resolves with its init pid once it exists but has not started. */
  create(spec: CreateSpec): Promise<number>;
  start(id: string): Promise<void>;
  /** Signals the container's init (every process with `all`). */
  kill(id: string, signal: number, all: boolean): Promise<void>;
  /** Signals one exec process of the container. */
  killExec(id: string, pid: number, signal: number): Promise<void>;
  delete(id: string, force: boolean): Promise<void>;
  /** Resolves with the init's exit status; only where capabilities.reportsExit. */
  wait(id: string): Promise<number>;
  /** Pids of every process in the container. */
  ps(id: string): Promise<number[]>;
  /** Starts an extra process in a running container; resolves with its pid. */
  exec(spec: ExecSpec): Promise<number>;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  /** Applies OCI LinuxResources (a JSON object) to the running container. */
  update(id: string, resources: unknown): Promise<void>;
  checkpoint(id: string, spec: CheckpointSpec): Promise<void>;
  /** Creates and starts the container from a checkpoint image; resolves with its init pid. */
  restore(spec: RestoreSpec): Promise<number>;
}

/** One task as a backend shows it to metrics and the CLI. */
export interface TaskSummary {
  id: string;
  runtime: string;
  status: string;
  pid: number;
}

/**
 * The Task API for the tasks one backend owns. The Task service has validated every
 * request (ids, ranges, payload types) before it reaches a backend, and routes each call
 * by task id; Create reaches a backend through a Placement, since only the choice of
 * backend knows what the new task runs on.
 */
export interface TaskBackend extends Omit<TaskApi, 'Create' | 'Connect' | 'Shutdown'> {
  /** The pid of a task it owns, for Connect; 0 when unknown. */
  taskPid(id: string): number;
  summaries(): TaskSummary[];
  /** Releases what the backend holds for itself (connections to delegates) as the daemon exits. */
  close(): Promise<void>;
}
