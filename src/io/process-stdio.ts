/**
 * The stdio of one container process, with or without a terminal, behind one interface the
 * task layer drives: what to hand the runtime, what to do once the runtime has returned,
 * CloseIO, ResizePty, and the drain at exit.
 */
import fs from 'node:fs';
import type { Logger } from 'pino';
import { failedPrecondition } from '../errors/index.js';
import { createConsoleSocket, type ConsoleSocket } from './console-socket.js';
import { startConsoleCopy, type ConsoleCopy } from './terminal-copy.js';
import { openProcessIO, type ProcessIO } from './process-io.js';
import type { StdioSpec } from './uri.js';

export interface ProcessStdio {
  /** fds for the runtime process (runc create/exec); with a terminal, /dev/null. */
  readonly runtimeStdio: [number, number, number];
  /** For `--console-socket`, when the process has a terminal. */
  readonly consoleSocket: string | undefined;
  /** The runtime call has returned: drop our copies of the container's fds; with a terminal, take the pty master and start copying. */
  afterRuntime(): Promise<void>;
  closeStdin(): void;
  resize(width: number, height: number): void;
  /** The process exited: wait (bounded) for a terminal's last output, then release everything. Idempotent. */
  close(): Promise<void>;
}

export interface OpenStdioOptions {
  containerId: string;
  namespace: string;
  logger?: Logger;
  /** Owner of the pipes we create (runc options io_uid/io_gid). */
  ioUid?: number;
  ioGid?: number;
  /** Where the console socket may live (the bundle). */
  scratchDir: string;
  /** How long the runtime may take to send the pty master. */
  consoleTimeoutMs?: number;
  /** How long to wait at exit for output still in the pty (a background child may hold it open). */
  drainTimeoutMs?: number;
}

export async function openStdio(spec: StdioSpec, opts: OpenStdioOptions): Promise<ProcessStdio> {
  if (spec.kind === 'fifo' && spec.terminal) return TerminalStdio.open(spec, opts);
  if (spec.terminal) throw failedPrecondition(`a terminal needs FIFOs for its stdio, not ${spec.kind}`);
  return new PlainStdio(await openProcessIO(spec, opts));
}

class PlainStdio implements ProcessStdio {
  readonly consoleSocket = undefined;
  constructor(private readonly io: ProcessIO) {}
  get runtimeStdio() {
    return this.io.stdio;
  }
  async afterRuntime(): Promise<void> {
    this.io.afterStart();
  }
  closeStdin(): void {
    this.io.closeStdin();
  }
  /** Nothing to resize: a no-op, as runc-v2 answers, so a client's cleanup of a task without a terminal goes on. */
  resize(): void {}
  close(): Promise<void> {
    return this.io.close();
  }
}

class TerminalStdio implements ProcessStdio {
  private copy: ConsoleCopy | undefined;
  private closing: Promise<void> | undefined;
  private stdinClosed = false;

  private constructor(
    private readonly socket: ConsoleSocket,
    private readonly devnull: number,
    private readonly fifos: { stdin: string | null; stdout: string | null },
    private readonly opts: OpenStdioOptions,
  ) {}

  static async open(spec: Extract<StdioSpec, { kind: 'fifo' }>, opts: OpenStdioOptions): Promise<TerminalStdio> {
    const socket = await createConsoleSocket(opts.scratchDir, { logger: opts.logger });
    const devnull = fs.openSync('/dev/null', fs.constants.O_RDWR);
    return new TerminalStdio(socket, devnull, { stdin: spec.stdin, stdout: spec.stdout }, opts);
  }

  get runtimeStdio(): [number, number, number] {
    return [this.devnull, this.devnull, this.devnull];
  }

  get consoleSocket(): string {
    return this.socket.path;
  }

  async afterRuntime(): Promise<void> {
    try {
      const master = await this.socket.receive(this.opts.consoleTimeoutMs ?? 10_000);
      this.copy = startConsoleCopy(master, this.fifos, { logger: this.opts.logger });
      if (this.stdinClosed) this.copy.closeStdin();
    } finally {
      await this.socket.close();
      this.closeDevnull();
    }
  }

  closeStdin(): void {
    this.stdinClosed = true;
    this.copy?.closeStdin();
  }

  resize(width: number, height: number): void {
    if (!this.copy) throw failedPrecondition('the terminal is not attached yet');
    this.copy.resize(width, height);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closeDevnull();
      await this.socket.close();
      const copy = this.copy;
      if (!copy) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([copy.done, new Promise((r) => (timer = setTimeout(r, this.opts.drainTimeoutMs ?? 2000)))]);
      clearTimeout(timer);
      await copy.close();
    })();
    return this.closing;
  }

  private devnullOpen = true;
  private closeDevnull(): void {
    if (!this.devnullOpen) return;
    this.devnullOpen = false;
    fs.closeSync(this.devnull);
  }
}
