/** What init and exec processes share: their stdio paths, their end, and a promise of it. */

/** The stdio URIs a process was created with, as State reports them. */
export interface StdioPaths {
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
}

/** A process's end. */
export interface Exit {
  status: number;
  at: Date;
}

export class ExitLatch {
  readonly promise: Promise<Exit>;
  private settle!: (exit: Exit) => void;
  private fail!: (err: unknown) => void;
  private value: Exit | undefined;

  constructor() {
    this.promise = new Promise<Exit>((resolve, reject) => {
      this.settle = resolve;
      this.fail = reject;
    });
    // Nobody may be waiting when a process is deleted before it ran.
    this.promise.catch(() => undefined);
  }

  get exit(): Exit | undefined {
    return this.value;
  }

  resolve(exit: Exit): void {
    if (this.value) return;
    this.value = exit;
    this.settle(exit);
  }

  reject(err: unknown): void {
    this.fail(err);
  }
}

/**
 * Runs a process's operations one at a time, in the order they were asked for: Start,
 * Kill, Delete and Exec on one task never reach the runtime together (as runc-v2's
 * per-process mutex). An exit is not an operation: it arrives whenever the kernel says.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(op: () => Promise<T>): Promise<T> {
    const result = this.tail.then(op, op);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/**
 * The one ordering rule shared by inits and execs: a process may exit before the Start that
 * ran it has returned, yet its start event must go out before its exit event.
 */
export class StartOrder {
  private starting: Promise<void> | undefined;

  async run(start: () => Promise<void>): Promise<void> {
    this.starting = start();
    try {
      await this.starting;
    } finally {
      this.starting = undefined;
    }
  }

  /** Resolves once a Start in progress has finished, whatever its outcome. */
  async settled(): Promise<void> {
    if (this.starting) await this.starting.catch(() => undefined);
  }
}
