import { failedPrecondition, notFound } from '../errors/index.js';

/**
 * The states of a container's init process and of its execs, one small class each (after
 * containerd's pkg/process): every state answers every operation, decides the state that
 * follows it, and a forbidden operation says which process refused it and in what state.
 */
export type Status = 'created' | 'running' | 'paused' | 'stopped' | 'deleted';

/** What a state may ask of its process. Exec processes never pause or resume. */
export interface ProcessOps {
  doStart(): Promise<void>;
  doKill(signal: number, all: boolean): Promise<void>;
  /** Removes a process that never started. */
  doDeleteCreated(): Promise<void>;
  doDelete(): Promise<void>;
  doPause(): Promise<void>;
  doResume(): Promise<void>;
  /** Moves from `from` to `to`, unless the process has left `from` meanwhile (it exited during a Start). */
  advance(from: State, to: State): void;
  /** Moves to `to` whatever the state is now. */
  settle(to: State): void;
}

/** Operations on the container that only some init states allow; the state only guards them. */
export type Guarded = 'exec' | 'update' | 'checkpoint';

export abstract class State {
  abstract readonly status: Status;
  /** The guarded operations this state allows. */
  protected readonly allows: readonly Guarded[] = [];
  /** who: "task c1" or "exec e1 of task c1", for error messages. */
  constructor(protected readonly p: ProcessOps, protected readonly who: string) {}
  protected refuse(op: string): Promise<never> {
    return Promise.reject(failedPrecondition(`cannot ${op} ${this.who}: it is ${this.status}`));
  }
  start(): Promise<void> {
    return this.refuse('start');
  }
  kill(signal: number, all: boolean): Promise<void> {
    void signal;
    void all;
    return this.refuse('kill');
  }
  delete(): Promise<void> {
    return this.refuse('delete');
  }
  pause(): Promise<void> {
    return this.refuse('pause');
  }
  resume(): Promise<void> {
    return this.refuse('resume');
  }
  /** Throws unless `op` is allowed in this state. */
  guard(op: Guarded): void {
    if (!this.allows.includes(op)) throw failedPrecondition(`cannot ${op} ${this.who}: it is ${this.status}`);
  }
  /** The state after the process's exit. */
  exited(): State {
    return new StoppedState(this.p, this.who);
  }
  protected async remove(how: () => Promise<void>): Promise<void> {
    await how();
    // Whatever happened meanwhile (the exit the removal caused), the process is gone now.
    this.p.settle(new DeletedState(this.p, this.who));
  }
}

export class CreatedState extends State {
  readonly status = 'created';
  protected override readonly allows: readonly Guarded[] = ['exec', 'update'];
  override async start() {
    await this.p.doStart();
    this.p.advance(this, new RunningState(this.p, this.who));
  }
  override kill(signal: number, all: boolean) {
    return this.p.doKill(signal, all);
  }
  override delete() {
    return this.remove(() => this.p.doDeleteCreated());
  }
}

/** An exec that has not started has no pid to signal, and takes no exec of its own. */
export class ExecCreatedState extends CreatedState {
  protected override readonly allows: readonly Guarded[] = [];
  override kill(): Promise<void> {
    return this.refuse('kill');
  }
}

export class RunningState extends State {
  readonly status = 'running';
  protected override readonly allows: readonly Guarded[] = ['exec', 'update', 'checkpoint'];
  override kill(signal: number, all: boolean) {
    return this.p.doKill(signal, all);
  }
  override async pause() {
    await this.p.doPause();
    this.p.advance(this, new PausedState(this.p, this.who));
  }
}

export class PausedState extends State {
  readonly status = 'paused';
  protected override readonly allows: readonly Guarded[] = ['update', 'checkpoint'];
  override kill(signal: number, all: boolean) {
    // The signal is delivered when the container thaws, as with runc-v2.
    return this.p.doKill(signal, all);
  }
  override async resume() {
    await this.p.doResume();
    this.p.advance(this, new RunningState(this.p, this.who));
  }
}

export class StoppedState extends State {
  readonly status = 'stopped';
  override kill(): Promise<void> {
    // containerd and CRI read NotFound on Kill as "already finished", which it is.
    return Promise.reject(notFound(`process already finished: ${this.who}`));
  }
  override delete() {
    return this.remove(() => this.p.doDelete());
  }
  override exited(): State {
    return this;
  }
}

export class DeletedState extends State {
  readonly status = 'deleted';
  override kill(): Promise<void> {
    return Promise.reject(notFound(`${this.who} is deleted`));
  }
  override delete(): Promise<void> {
    return Promise.reject(notFound(`${this.who} is deleted`));
  }
  override exited(): State {
    return this;
  }
}
