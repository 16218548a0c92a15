import type { Logger } from 'pino';
import type { RuntimeDriver } from '../backends/types.js';
import { ErrorKind, failedPrecondition, isKind, notFound } from '../errors/index.js';
import type { EventSink } from '../events/sink.js';
import { taskExecStarted, taskExit } from '../events/topics.js';
import type { ProcessStdio } from '../io/process-stdio.js';
import { ExecCreatedState, type ProcessOps, type State } from './states.js';
import { ExitLatch, SerialQueue, StartOrder, type Exit, type StdioPaths } from './process.js';

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
export class ExecProcess implements ProcessOps {
  readonly execId: string;
  readonly stdioPaths: StdioPaths;
  private state: State;
  private pidValue = 0;
  private readonly latch = new ExitLatch();
  private readonly order = new StartOrder();
  private readonly queue = new SerialQueue();
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

  advance(from: State, to: State): void {
    if (this.state === from) this.state = to;
  }
  settle(to: State): void {
    this.state = to;
  }

  start(): Promise<void> {
    return this.queue.run(() => this.state.start());
  }
  kill(signal: number): Promise<void> {
    return this.queue.run(() => this.state.kill(signal, false));
  }
  delete(): Promise<void> {
    return this.queue.run(() => this.state.delete());
  }
  closeStdin(): void {
    this.init.stdio.closeStdin();
  }
  resize(width: number, height: number): void {
    this.init.stdio.resize(width, height);
  }

  async doStart(): Promise<void> {
    const i = this.init;
    const start = async () => {
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
      i.events.publish(taskExecStarted({ containerId: i.containerId, execId: i.execId, pid }));
      i.log.info({ exec: i.execId, pid }, 'exec started');
    };
    try {
      await this.order.run(start);
    } catch (err) {
      await i.stdio.close();
      throw err;
    }
  }

  async doKill(signal: number): Promise<void> {
    try {
      await this.init.driver.killExec(this.init.containerId, this.pidValue, signal);
    } catch (err) {
      throw isKind(err, ErrorKind.NotFound) ? notFound(`process already finished: ${this.who}`, err) : err;
    }
  }

  async doDeleteCreated(): Promise<void> {
    await this.init.stdio.close();
    this.latch.reject(notFound(`${this.who} was deleted before it started`));
  }

  async doDelete(): Promise<void> {
    await this.init.stdio.close();
  }

  doPause(): Promise<void> {
    return Promise.reject(failedPrecondition(`cannot pause ${this.who}: pause the task instead`));
  }
  doResume(): Promise<void> {
    return Promise.reject(failedPrecondition(`cannot resume ${this.who}: resume the task instead`));
  }

  private async onExit(exit: Exit): Promise<void> {
    this.state = this.state.exited();
    await this.order.settled();
    await this.init.stdio.close();
    this.init.events.publish(
      taskExit({ containerId: this.init.containerId, id: this.execId, pid: this.pidValue, exitStatus: exit.status, exitedAt: exit.at }),
    );
    this.init.log.info({ exec: this.execId, pid: this.pidValue, exitStatus: exit.status }, 'exec exited');
    this.latch.resolve(exit);
  }
}
