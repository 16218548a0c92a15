/**
 * The plug point for backends that start processes (runc, crun, runsc; later a microVM).
 * The task layer turns it into the Task API; a driver knows nothing of ttrpc or events.
 */

export interface CreateSpec {
  id: string;
  bundle: string;
  /** The container's stdin, stdout, stderr: handed to the runtime, inherited by the container. */
  stdio: [number, number, number];
  pidFile: string;
  consoleSocket?: string;
  /** The bundle's annotations: some flavours (runsc) act on CRI's. */
  annotations?: Record<string, string>;
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

export interface RuntimeDriver {
  /** The runtime's name in the config, for errors and the decision record. */
  readonly name: string;
  /** The runtime binary, for errors and the decision record. */
  readonly binary: string;
  readonly root: string;
  /** What `delete` runs (then `delete --force ID`), from the bundle alone, when the daemon is gone. */
  readonly command: string[];
  /** When set, the init's exit status comes from the runtime (runsc wait), not from the reaper. */
  wait?(id: string): Promise<number>;
  readonly waitsItself?: boolean;
  /** Creates the container; resolves with its init pid once it exists but has not started. */
  create(spec: CreateSpec): Promise<number>;
  start(id: string): Promise<void>;
  kill(id: string, signal: number, all: boolean): Promise<void>;
  delete(id: string, force: boolean): Promise<void>;
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
