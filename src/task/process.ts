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
