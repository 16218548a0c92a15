import type { Logger } from 'pino';
import type { CheckpointSpec, RuntimeDriver } from '../backends/types.js';
import { alreadyExists, failedPrecondition, notFound } from '../errors/index.js';
import type { EventSink } from '../events/sink.js';
import { taskCheckpointed, taskExecAdded, taskExit, taskPaused, taskResumed, taskStart } from '../events/topics.js';
import type { ProcessStdio } from '../io/process-stdio.js';
import { ExecProcess } from './exec.js';
import { ExitLatch, SerialQueue, StartOrder, type Exit, type StdioPaths } from './process.js';
import { CreatedState, type ProcessOps, type State } from './states.js';

export type { Exit, StdioPaths } from './process.js';

export interface TaskInit {
  id: string;
  bundle: string;
  /** 0 when the container is restored from a checkpoint at Start. */
  pid: number;
  driver: RuntimeDriver;
  stdio: ProcessStdio;
  stdioPaths: StdioPaths;
  events: EventSink;
  log: Logger;
  /** Resolves when pid exits (the daemon's reaper). */
  watch(pid: number): Promise<Exit>;
  sharedPidNamespace: boolean;
  /** Set when Create asked for a restore: Start restores instead of starting. */
  restore?: { checkpoint: CheckpointSpec; pidFile: string };
  /** Undoes what Create set up around the runtime (rootfs mounts). */
  cleanup: () => Promise<void>;
  /** Called once the init's pid is known (at Create, or at Start for a restore). */
  onPid?: (pid: number) => void;
  /** Called at the init's exit, before the exit event: a chance to publish an OOM first. */
  beforeExitEvent?: () => Promise<void>;
}

/** How long the init's exit event waits for its execs' exits (the kernel kills them with it). */
const EXEC_EXIT_GRACE_MS = 5000;

/**
 * One container: its init process and its execs. Exits arrive from the reaper at any
 * moment; the start event always goes out before the exit event, even when the process
 * dies before Start returns, and the init's exit goes out after its execs'. Operations
 * on the task run one at a time (its queue); an exit needs no turn.
 */
export class Task implements ProcessOps {
  readonly id: string;
  readonly bundle: string;
  readonly stdioPaths: StdioPaths;
  private pidValue: number;
  private state: State;
  private readonly latch = new ExitLatch();
  private readonly order = new StartOrder();
  private readonly queue = new SerialQueue();
  private readonly execs = new Map<string, ExecProcess>();
  private readonly who: string;

  constructor(private readonly init: TaskInit) {
    this.id = init.id;
    this.bundle = init.bundle;
    this.stdioPaths = init.stdioPaths;
    this.pidValue = init.pid;
    this.who = `task ${init.id}`;
    this.state = new CreatedState(this, this.who);
    if (init.pid > 0) this.track(init.pid);
  }

  private track(pid: number): void {
    this.pidValue = pid;
    void this.watchInit(pid).then((exit) => this.onExit(exit));
    this.init.onPid?.(pid);
  }

  /** A sandboxed init's exit is the runtime's to tell (runsc wait); the reaper's otherwise, and as a fallback. */
  private watchInit(pid: number): Promise<Exit> {
    const { driver, watch } = this.init;
    if (!driver.capabilities.reportsExit) return watch(pid);
    return driver.wait(this.id).then((status) => ({ status, at: new Date() }), () => watch(pid));
  }

  advance(from: State, to: State): void {
    if (this.state === from) this.state = to;
  }
  settle(to: State): void {
    this.state = to;
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
  get driverName(): string {
    return this.init.driver.name;
  }

  start(): Promise<void> {
    return this.queue.run(() => this.state.start());
  }
  kill(signal: number, all: boolean): Promise<void> {
    return this.queue.run(() => this.state.kill(signal, all));
  }
  /** Resolves after the exit and its event. */
  wait(): Promise<Exit> {
    return this.latch.promise;
  }
  delete(): Promise<void> {
    return this.queue.run(() => this.state.delete());
  }
  pause(): Promise<void> {
    return this.queue.run(() => this.state.pause());
  }
  resume(): Promise<void> {
    return this.queue.run(() => this.state.resume());
  }
  closeStdin(): void {
    this.init.stdio.closeStdin();
  }
  resize(width: number, height: number): void {
    this.init.stdio.resize(width, height);
  }

  /** Every pid in the container, with the exec id of those that are execs. */
  async ps(): Promise<{ pid: number; execId: string }[]> {
    const byPid = new Map<number, string>();
    for (const e of this.execs.values()) if (e.pid) byPid.set(e.pid, e.execId);
    const pids = await this.init.driver.ps(this.id);
    return pids.map((pid) => ({ pid, execId: byPid.get(pid) ?? '' }));
  }

  // ---- execs

  /**
   * Adds an exec in its turn: the task is checked before the exec's stdio is opened, and
   * cannot be deleted in between.
   */
  addExec(execId: string, process: unknown, openStdio: () => Promise<ProcessStdio>, stdioPaths: StdioPaths): Promise<ExecProcess> {
    return this.queue.run(async () => {
      this.canExec(execId);
      const stdio = await openStdio();
      return this.newExec(execId, process, stdio, stdioPaths);
    });
  }

  private newExec(execId: string, process: unknown, stdio: ProcessStdio, stdioPaths: StdioPaths): ExecProcess {
    const exec = new ExecProcess({
      containerId: this.id,
      execId,
      process,
      stdio,
      stdioPaths,
      driver: this.init.driver,
      events: this.init.events,
      log: this.init.log,
      watch: this.init.watch,
    });
    this.execs.set(execId, exec);
    this.init.events.publish(taskExecAdded({ containerId: this.id, execId }));
    return exec;
  }

  private canExec(execId: string): void {
    this.state.guard('exec');
    if (this.execs.has(execId)) throw alreadyExists(`exec ${execId} of task ${this.id} already exists`);
  }

  exec(execId: string): ExecProcess {
    const exec = this.execs.get(execId);
    if (!exec) throw notFound(`exec ${execId} of task ${this.id} not found`);
    return exec;
  }

  deleteExec(execId: string): Promise<ExecProcess> {
    return this.queue.run(async () => {
      const exec = this.exec(execId);
      await exec.delete();
      this.execs.delete(execId);
      return exec;
    });
  }

  get execCount(): number {
    return this.execs.size;
  }

  // ---- container-wide operations

  update(resources: unknown): Promise<void> {
    return this.queue.run(async () => {
      this.state.guard('update');
      this.can('update');
      await this.init.driver.update(this.id, resources);
    });
  }

  checkpoint(spec: CheckpointSpec): Promise<void> {
    return this.queue.run(async () => {
      this.state.guard('checkpoint');
      this.can('checkpoint');
      await this.init.driver.checkpoint(this.id, spec);
      this.init.events.publish(taskCheckpointed({ containerId: this.id, checkpoint: spec.imagePath }));
    });
  }

  /** Refuses what the runtime declares it cannot do, naming it. */
  private can(op: 'pause' | 'update' | 'checkpoint' | 'restore'): void {
    const d = this.init.driver;
    if (!d.capabilities[op]) throw failedPrecondition(`cannot ${op} ${this.who}: runtime ${d.name} does not support ${op}`);
  }

  // ---- transitions

  doStart(): Promise<void> {
    const i = this.init;
    return this.order.run(async () => {
      if (i.restore) {
        this.can('restore');
        const pid = await i.driver.restore({
          id: this.id,
          bundle: this.bundle,
          stdio: i.stdio.runtimeStdio,
          pidFile: i.restore.pidFile,
          consoleSocket: i.stdio.consoleSocket,
          checkpoint: i.restore.checkpoint,
        });
        this.track(pid);
        await i.stdio.afterRuntime();
      } else {
        await i.driver.start(this.id);
      }
      i.events.publish(taskStart({ containerId: this.id, pid: this.pidValue }));
      i.log.info({ pid: this.pidValue }, 'started');
    });
  }

  async doKill(signal: number, all: boolean): Promise<void> {
    const { driver, sharedPidNamespace } = this.init;
    if (this.state.status === 'created' && !driver.capabilities.killCreated) {
      // A runtime that cannot signal a container before it starts (runsc) can still remove
      // it: the task must never be stuck where neither Kill nor Delete gets it out.
      await driver.delete(this.id, true);
      return;
    }
    await driver.kill(this.id, signal, all || sharedPidNamespace);
  }

  async doPause(): Promise<void> {
    this.can('pause');
    await this.init.driver.pause(this.id);
    this.init.events.publish(taskPaused({ containerId: this.id }));
  }

  async doResume(): Promise<void> {
    this.can('pause');
    await this.init.driver.resume(this.id);
    this.init.events.publish(taskResumed({ containerId: this.id }));
  }

  async doDeleteCreated(): Promise<void> {
    if (this.pidValue > 0) {
      await this.init.driver.delete(this.id, true);
      await this.latch.promise;
    } else {
      // A restore that never ran: there is no process, only our stdio.
      await this.init.stdio.close();
      this.latch.resolve({ status: 0, at: new Date() });
    }
    await this.finish();
  }

  async doDelete(): Promise<void> {
    await this.finish();
  }

  private async finish(): Promise<void> {
    for (const exec of this.execs.values()) await exec.delete().catch(() => undefined);
    this.execs.clear();
    try {
      await this.init.driver.delete(this.id, true);
    } catch (err) {
      // The container is already gone from the runtime's state: nothing is left to delete.
      this.init.log.debug({ err }, 'runtime delete after exit');
    }
    await this.init.cleanup();
  }

  private async onExit(exit: Exit): Promise<void> {
    this.state = this.state.exited();
    const i = this.init;
    if (i.sharedPidNamespace) {
      // Without its own pid namespace the init's children outlive it; take them along.
      await i.driver.kill(this.id, 9, true).catch(() => undefined);
    }
    await this.order.settled();
    await this.execsGone();
    await i.stdio.close();
    await i.beforeExitEvent?.().catch((err) => i.log.warn({ err }, 'before exit event'));
    i.events.publish(taskExit({ containerId: this.id, id: this.id, pid: this.pidValue, exitStatus: exit.status, exitedAt: exit.at }));
    i.log.info({ pid: this.pidValue, exitStatus: exit.status }, 'exited');
    this.latch.resolve(exit);
  }

  /** Waits (bounded) for running execs to exit: their exit events come before the init's. */
  private async execsGone(): Promise<void> {
    const running = [...this.execs.values()].filter((e) => e.pid > 0 && !e.exitInfo).map((e) => e.exited.catch(() => undefined));
    if (running.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(running), new Promise((r) => (timer = setTimeout(r, EXEC_EXIT_GRACE_MS)))]);
    clearTimeout(timer);
  }
}
