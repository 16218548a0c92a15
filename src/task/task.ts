import path from 'node:path';
import type { Logger } from 'pino';
import type { RuntimeDriver } from '../backends/types.js';
import type { EventSink } from '../events/sink.js';
import { taskExit, taskStart } from '../events/topics.js';
import type { ProcessIO } from '../io/process-io.js';
import { CreatedState, DeletedState, RunningState, StoppedState, type State, type Transitions } from './states.js';

export interface Exit {
  status: number;
  at: Date;
}

export interface TaskInit {
  id: string;
  bundle: string;
  pid: number;
  driver: RuntimeDriver;
  io: ProcessIO;
  stdio: { stdin: string; stdout: string; stderr: string; terminal: boolean };
  events: EventSink;
  log: Logger;
  /** Resolves when the init process is gone, with its status. */
  exited: Promise<Exit>;
  sharedPidNamespace: boolean;
  /** Undoes what Create set up around the runtime (rootfs mounts). */
  cleanup: () => Promise<void>;
}

/**
 * One container and its init process. Exits arrive from the reaper at any moment; the
 * start event always goes out before the exit event, even when the process dies before
 * Start returns.
 */
export class Task implements Transitions {
  readonly id: string;
  readonly bundle: string;
  readonly pid: number;
  readonly stdio: TaskInit['stdio'];
  readonly createdAt = new Date();
  private state: State;
  private exit: Exit | undefined;
  private starting: Promise<void> | undefined;
  private readonly exited: Promise<Exit>;

  constructor(private readonly init: TaskInit) {
    this.id = init.id;
    this.bundle = init.bundle;
    this.pid = init.pid;
    this.stdio = init.stdio;
    this.state = new CreatedState(this, this.id);
    this.exited = init.exited.then((exit) => this.onExit(exit));
  }

  get status() {
    return this.state.status;
  }

  get exitInfo(): Exit | undefined {
    return this.exit;
  }

  start(): Promise<void> {
    return this.state.start();
  }

  kill(signal: number, all: boolean): Promise<void> {
    return this.state.kill(signal, all);
  }

  /** Waits for the exit (and its event) when the init has not stopped yet. */
  wait(): Promise<Exit> {
    return this.exited;
  }

  delete(): Promise<void> {
    return this.state.delete();
  }

  ps(): Promise<number[]> {
    return this.init.driver.ps(this.id);
  }

  closeStdin(): void {
    this.init.io.closeStdin();
  }

  async doStart(): Promise<void> {
    this.starting = (async () => {
      await this.init.driver.start(this.id);
      if (!this.exit) this.state = new RunningState(this, this.id);
      this.init.events.publish(taskStart({ containerId: this.id, pid: this.pid }));
      this.init.log.info({ pid: this.pid }, 'started');
    })();
    try {
      await this.starting;
    } finally {
      this.starting = undefined;
    }
  }

  async doKill(signal: number, all: boolean): Promise<void> {
    await this.init.driver.kill(this.id, signal, all || this.init.sharedPidNamespace);
  }

  async doDeleteCreated(): Promise<void> {
    await this.init.driver.delete(this.id, true);
    await this.exited;
    await this.finish();
  }

  async doDelete(): Promise<void> {
    await this.finish();
  }

  private async finish(): Promise<void> {
    try {
      await this.init.driver.delete(this.id, true);
    } catch (err) {
      // The container is already gone from the runtime's state: nothing is left to delete.
      this.init.log.debug({ err }, 'runtime delete after exit');
    }
    await this.init.cleanup();
    this.state = new DeletedState(this, this.id);
  }

  private async onExit(exit: Exit): Promise<Exit> {
    this.exit = exit;
    this.state = new StoppedState(this, this.id);
    if (this.init.sharedPidNamespace) {
      // Without its own pid namespace the init's children outlive it; take them along.
      await this.init.driver.kill(this.id, 9, true).catch(() => undefined);
    }
    // The exit event must follow the start event even if the process beat Start.
    if (this.starting) await this.starting.catch(() => undefined);
    await this.init.io.close();
    this.init.events.publish(
      taskExit({ containerId: this.id, id: this.id, pid: this.pid, exitStatus: exit.status, exitedAt: exit.at }),
    );
    this.init.log.info({ pid: this.pid, exitStatus: exit.status }, 'exited');
    return exit;
  }

  get rootfs(): string {
    return path.join(this.bundle, 'rootfs');
  }
}
