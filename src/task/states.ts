import { failedPrecondition, notFound } from '../errors/index.js';

/**
 * The states of a container's init process and of its execs, one small class each (after
 * containerd's pkg/process): every state answers every operation, and a forbidden one says
 * which process refused it and in what state.
 */
export type Status = 'created' | 'running' | 'paused' | 'stopped' | 'deleted';

/** What a state may ask its process to do. Exec processes never pause or resume. */
export interface Transitions {
  doStart(): Promise<void>;
  doKill(signal: number, all: boolean): Promise<void>;
  /** Removes a process that never started. */
  doDeleteCreated(): Promise<void>;
  doDelete(): Promise<void>;
  doPause(): Promise<void>;
  doResume(): Promise<void>;
}

/** Operations on the container that only some init states allow; the state only guards them. */
export type Guarded = 'exec' | 'update' | 'checkpoint';

export abstract class State {
  abstract readonly status: Status;
  /** who: "task c1" or "exec e1 of task c1", for error messages. */
  constructor(protected readonly p: Transitions, protected readonly who: string) {}
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
    throw failedPrecondition(`cannot ${op} ${this.who}: it is ${this.status}`);
  }
}

export class CreatedState extends State {
  readonly status = 'created';
  override start() {
    return this.p.doStart();
  }
  override kill(signal: number, all: boolean) {
    return this.p.doKill(signal, all);
  }
  override delete() {
    return this.p.doDeleteCreated();
  }
  override guard(op: Guarded): void {
    if (op === 'checkpoint') super.guard(op);
  }
}

/** An exec that has not started has no pid to signal. */
export class ExecCreatedState extends CreatedState {
  override kill(): Promise<void> {
    return this.refuse('kill');
  }
  override guard(op: Guarded): void {
    State.prototype.guard.call(this, op);
  }
}

export class RunningState extends State {
  readonly status = 'running';
  override kill(signal: number, all: boolean) {
    return this.p.doKill(signal, all);
  }
  override pause() {
    return this.p.doPause();
  }
  override guard(): void {}
}

export class PausedState extends State {
  readonly status = 'paused';
  override kill(signal: number, all: boolean) {
    // The signal is delivered when the container thaws, as with runc-v2.
    return this.p.doKill(signal, all);
  }
  override resume() {
    return this.p.doResume();
  }
  override guard(op: Guarded): void {
    if (op === 'exec') super.guard(op);
  }
}

export class StoppedState extends State {
  readonly status = 'stopped';
  override kill(): Promise<void> {
    // containerd and CRI read NotFound on Kill as "already finished", which it is.
    return Promise.reject(notFound(`process already finished: ${this.who}`));
  }
  override delete() {
    return this.p.doDelete();
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
}
