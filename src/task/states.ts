import { failedPrecondition, notFound } from '../errors/index.js';

/**
 * The init process's states, one small class each (after containerd's pkg/process): every
 * state answers every operation, and a forbidden one names the state it was refused in.
 */
export type Status = 'created' | 'running' | 'stopped' | 'deleted';

export interface StateOps {
  start(): Promise<void>;
  kill(signal: number, all: boolean): Promise<void>;
  delete(): Promise<void>;
}

export interface Transitions {
  doStart(): Promise<void>;
  doKill(signal: number, all: boolean): Promise<void>;
  /** Removes a container that never started: the runtime kills its init. */
  doDeleteCreated(): Promise<void>;
  doDelete(): Promise<void>;
}

export abstract class State implements StateOps {
  abstract readonly status: Status;
  constructor(protected readonly p: Transitions, protected readonly id: string) {}
  protected refuse(op: string): Promise<never> {
    return Promise.reject(failedPrecondition(`cannot ${op} task ${this.id}: it is ${this.status}`));
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
}

export class RunningState extends State {
  readonly status = 'running';
  override kill(signal: number, all: boolean) {
    return this.p.doKill(signal, all);
  }
}

export class StoppedState extends State {
  readonly status = 'stopped';
  override kill(): Promise<void> {
    // containerd and CRI read NotFound on Kill as "already finished", which it is.
    return Promise.reject(notFound(`process already finished: task ${this.id}`));
  }
  override delete() {
    return this.p.doDelete();
  }
}

export class DeletedState extends State {
  readonly status = 'deleted';
  override kill(): Promise<void> {
    return Promise.reject(notFound(`task ${this.id} is deleted`));
  }
  override delete(): Promise<void> {
    return Promise.reject(notFound(`task ${this.id} is deleted`));
  }
}
