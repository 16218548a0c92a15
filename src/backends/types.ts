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
}

export interface RuntimeDriver {
  /** The runtime's name in the config, for errors and the decision record. */
  readonly name: string;
  /** What `delete` runs, from the bundle alone, when the daemon is gone. */
  readonly binary: string;
  readonly root: string;
  /** Creates the container; resolves with its init pid once it exists but has not started. */
  create(spec: CreateSpec): Promise<number>;
  start(id: string): Promise<void>;
  kill(id: string, signal: number, all: boolean): Promise<void>;
  delete(id: string, force: boolean): Promise<void>;
  /** Pids of every process in the container. */
  ps(id: string): Promise<number[]>;
}
