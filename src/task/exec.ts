import type { Logger } from 'pino';
import type { RuntimeDriver } from '../backends/types.js';
import { failedPrecondition, notFound } from '../errors/index.js';
import type { EventSink } from '../events/sink.js';
import { taskExecStarted, taskExit } from '../events/topics.js';
import type { ProcessStdio } from '../io/process-stdio.js';
import { ExecCreatedState, DeletedState, RunningState, StoppedState, type State, type Transitions } from './states.js';
import { ExitLatch, type Exit, type StdioPaths } from './process.js';

export interface ExecInit {
  containerId: string;
  execId: string;
  /** The OCI process, as the client sent it. */
  process: unknown;
  stdio: ProcessStdio;
  stdioPaths: StdioPaths;
  driver: RuntimeDriver;
  events: EventSink;
  log: Logger;
  /** Resolves when pid exits (the daemon's reaper). */
  watch(pid: number): Promise<Exit>;
}

/** One exec process of a container: created by Exec, run by Start, gone after Delete. */
export class ExecProcess implements Transitions {
  readonly execId: string;
  readonly stdioPaths: StdioPaths;
  private state: State;
  private pidValue = 0;
  private readonly latch = new ExitLatch();
  private starting: Promise<void> | undefined;
  private readonly who: string;

  constructor(private readonly init: ExecInit) {
    this.execId = init.execId;
    this.stdioPaths = init.stdioPaths;
    this.who = `exec ${init.execId} of task ${init.containerId}`;
    this.state = new ExecCreatedState(this, this.who);
  }

  get pid(): number {
    return this.pidValue;
  }
  get status() {
    return this.state.status;
  }
  get exitInfo(): Exit | undefined {
    return this.latch.exit;
  }
  /** Settles once the exec has exited and its exit event is out. */
  get exited(): Promise<Exit> {
    return this.latch.promise;
  }

  start(): Promise<void> {
    return this.state.start();
  }
  kill(signal: number): Promise<void> {
    return this.state.kill(signal, false);
  }
  delete(): Promise<void> {
    return this.state.delete();
  }
  closeStdin(): void {
    this.init.stdio.closeStdin();
  }
  resize(width: number, height: number): void {
    this.init.stdio.resize(width, height);
  }

  async doStart(): Promise<void> {
    const i = this.init;
    this.starting = (async () => {
      const pid = await i.driver.exec({
        id: i.containerId,
        execId: i.execId,
        process: i.process,
        stdio: i.stdio.runtimeStdio,
        consoleSocket: i.stdio.consoleSocket,
      });
      this.pidValue = pid;
      void i.watch(pid).then((exit) => this.onExit(exit));
      await i.stdio.afterRuntime();
      if (!this.latch.exit) this.state = new RunningState(this, this.who);
      i.events.publish(taskExecStarted({ containerId: i.containerId, execId: i.execId, pid }));
      i.log.info({ exec: i.execId, pid }, 'exec started');
    })();
    try {
      await this.starting;
    } catch (err) {
      await i.stdio.close();
      throw err;
    } finally {
      this.starting = undefined;
    }
  }

  async doKill(signal: number): Promise<void> {
    // As runc-v2 does for execs: a plain kill(2) on the pid, no runtime call.
    try {
      process.kill(this.pidValue, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') throw notFound(`process already finished: ${this.who}`, err);
      throw err;
    }
  }

  async doDeleteCreated(): Promise<void> {
    await this.init.stdio.close();
    this.latch.reject(notFound(`${this.who} was deleted before it started`));
    this.state = new DeletedState(this, this.who);
  }

  async doDelete(): Promise<void> {
    await this.init.stdio.close();
    this.state = new DeletedState(this, this.who);
  }

  doPause(): Promise<void> {
    return Promise.reject(failedPrecondition(`cannot pause ${this.who}: pause the task instead`));
  }
  doResume(): Promise<void> {
    return Promise.reject(failedPrecondition(`cannot resume ${this.who}: resume the task instead`));
  }

  private async onExit(exit: Exit): Promise<void> {
    this.state = new StoppedState(this, this.who);
    // exec-started goes out before the exit, even when the process beat Start.
    if (this.starting) await this.starting.catch(() => undefined);
    await this.init.stdio.close();
    this.init.events.publish(
      taskExit({ containerId: this.init.containerId, id: this.execId, pid: this.pidValue, exitStatus: exit.status, exitedAt: exit.at }),
    );
    this.init.log.info({ exec: this.execId, pid: this.pidValue, exitStatus: exit.status }, 'exec exited');
    this.latch.resolve(exit);
  }
}
