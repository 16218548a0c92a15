/**
 * The stdio of one container process (init or exec). The container gets the FIFOs
 * themselves, a log file, or real pipes to a logging binary, never a socketpair, and
 * writes into them directly: nothing is copied in Node, so nothing is lost or cut short
 * when the process exits, and a container that opens /dev/stdout works.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { setNonBlocking } from '../sys/fds.js';
import { startLoggingBinary, type LoggingBinary } from './binary.js';
import { FdSet, openError } from './fd-set.js';
import { openOutputFifo, openStdinFifo, type StdinFifo } from './fifo.js';
import type { StdioSpec } from './uri.js';

export interface ProcessIO {
  /** fds to give the runtime process (runc create / exec) as its 0, 1, 2; the container inherits them. */
  readonly stdio: [number, number, number];
  /** The runtime has handed the fds to the container: close our copies (the client sees EOF only when every writer is gone). */
  afterStart(): void;
  /** CloseIO: drop our keep-alive writer on stdin, so the container sees EOF once the client closes too. */
  closeStdin(): void;
  /** The process exited (or never started): release everything; for binary://, stop the logger. Idempotent. */
  close(): Promise<void>;
}

export interface OpenProcessIOOptions {
  containerId: string;
  namespace: string;
  logger?: Logger;
  /** Owner of the pipes we create (runc options io_uid/io_gid). */
  ioUid?: number;
  ioGid?: number;
  /** binary:// only; see LoggingBinaryOptions. */
  loggerReadyTimeoutMs?: number;
  loggerDrainMs?: number;
  loggerTermTimeoutMs?: number;
}

const { O_WRONLY, O_RDWR, O_APPEND, O_CREAT } = fs.constants;

export async function openProcessIO(spec: StdioSpec, opts: OpenProcessIOOptions): Promise<ProcessIO> {
  const fds = new FdSet();
  let devnull: number | undefined;
  const nullFd = () => (devnull ??= fds.open('/dev/null', '/dev/null', O_RDWR));
  const stdinOf = (file: string | null): StdinFifo | undefined => (file ? openStdinFifo(fds, file) : undefined);
  let binary: LoggingBinary | undefined;
  try {
    let stdin: StdinFifo | undefined;
    let stdio: [number, number, number];
    switch (spec.kind) {
      case 'null':
        stdio = [nullFd(), nullFd(), nullFd()];
        break;
      case 'fifo': {
        stdin = stdinOf(spec.stdin);
        const out = spec.stdout ? openOutputFifo(fds, 'stdout', spec.stdout) : nullFd();
        const err = spec.stderr ? openOutputFifo(fds, 'stderr', spec.stderr) : nullFd();
        stdio = [stdin?.read ?? nullFd(), out, err];
        break;
      }
      case 'file': {
        // As the runc shim: parents 0755, file 0644, both streams appended to one file.
        try {
          fs.mkdirSync(path.dirname(spec.path), { recursive: true, mode: 0o755 });
        } catch (err) {
          throw openError('log directory', path.dirname(spec.path), err, 'create');
        }
        const file = fds.open('log file', spec.path, O_WRONLY | O_APPEND | O_CREAT, 0o644);
        setNonBlocking(file, false);
        stdin = stdinOf(spec.stdin);
        stdio = [stdin?.read ?? nullFd(), file, file];
        break;
      }
      case 'binary': {
        binary = await startLoggingBinary(fds, {
          path: spec.path,
          args: spec.args,
          containerId: opts.containerId,
          namespace: opts.namespace,
          logger: opts.logger,
          readyTimeoutMs: opts.loggerReadyTimeoutMs,
          drainMs: opts.loggerDrainMs,
          termTimeoutMs: opts.loggerTermTimeoutMs,
          ioUid: opts.ioUid,
          ioGid: opts.ioGid,
        });
        stdin = stdinOf(spec.stdin);
        stdio = [stdin?.read ?? nullFd(), binary.stdout, binary.stderr];
        break;
      }
    }
    if (devnull !== undefined) setNonBlocking(devnull, false);
    return new OpenedIO(fds, stdio, stdin?.keepAlive, binary);
  } catch (err) {
    fds.closeAll();
    await binary?.stop();
    throw err;
  }
}

class OpenedIO implements ProcessIO {
  private closing: Promise<void> | undefined;

  constructor(
    private readonly fds: FdSet,
    readonly stdio: [number, number, number],
    private readonly keepAlive: number | undefined,
    private readonly binary: LoggingBinary | undefined,
  ) {}

  afterStart(): void {
    for (const fd of this.stdio) this.fds.close(fd);
  }

  closeStdin(): void {
    this.fds.close(this.keepAlive);
  }

  close(): Promise<void> {
    // Our write ends go first: a logging binary sees EOF and can finish on its own.
    this.fds.closeAll();
    this.closing ??= this.binary ? this.binary.stop() : Promise.resolve();
    return this.closing;
  }
}
