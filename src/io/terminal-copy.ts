/**
 * Copying between a terminal's master and the client's FIFOs: the client's stdin FIFO into
 * the master, the master into the client's stdout FIFO; the slave is the process's 0, 1
 * and 2, so there is no stderr.
 *
 *   const copy = startConsoleCopy(master, { stdin, stdout }, { logger });
 *   copy.resize(cols, rows);  copy.closeStdin();           // ResizePty, CloseIO
 *   await copy.done; await copy.close();                   // after the process exited
 *
 * No thread ever blocks here: the master is non-blocking and read and written from the
 * event loop when epoll says so (sys/poll.ts), and the FIFOs are libuv pipes (net.Socket).
 * Node's tty streams are no use on a master: tty.ReadStream ends at the slave's hangup with
 * output still unread (libuv takes POLLHUP after a short read for EOF, and a pty hands out
 * a few KiB per read), and tty.WriteStream makes the master blocking, so one write could
 * stall the shim until the container reads its terminal.
 */
import fs from 'node:fs';
import net from 'node:net';
import { finished } from 'node:stream/promises';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Logger } from 'pino';
import { ShimError, cancelled, failedPrecondition, internal, invalidArgument } from '../errors/index.js';
import { dupCloexec, setNonBlocking } from '../sys/fds.js';
import { pollHangup, waitReadable, waitWritable } from '../sys/poll.js';
import { ioctlGetTermios, ioctlSetWinsize, type Termios } from '../sys/tty.js';
import { openError } from './fd-set.js';
export interface ConsoleFifos {
  /** The client's stdin FIFO, or null: the terminal then gets no input. */
  stdin: string | null;
  /** The client's stdout FIFO, or null: output is read and dropped, so the process never blocks on it. */
  stdout: string | null;
}

export interface ConsoleCopy {
  /** ResizePty (width = columns, height = rows): TIOCSWINSZ on the master. failedPrecondition after close(). */
  resize(width: number, height: number): void;
  /**
   * CloseIO: drop our own writer on the stdin FIFO. Once the client has closed its end too
   * and everything it wrote is in the terminal, the terminal's EOF character (VEOF, ^D)
   * goes in after it (twice after an unfinished line in canonical mode), so a process
   * reading the tty sees end of file. No-op without stdin.
   */
  closeStdin(): void;
  /**
   * Resolves once the process side is gone (every slave fd closed: the master reads EIO)
   * and everything it wrote is in the stdout FIFO. Also resolves on close(); never rejects.
   */
  readonly done: Promise<void>;
  /** Stops both copies at once and closes every fd, the master included. Idempotent. */
  close(): Promise<void>;
}

export interface ConsoleCopyOptions {
  logger?: Logger;
}

const { O_RDONLY, O_WRONLY, O_RDWR, O_NONBLOCK, O_NOCTTY } = fs.constants;

// c_cc indices and flag bits of asm-generic termios (x86_64, arm64).
const VEOF = 4;
const VEOL = 11;
const VEOL2 = 16;
const ICANON = 0o2;
const IGNCR = 0o200;
const ICRNL = 0o400;
const CTRL_D = 0x04;
const NL = 0x0a;
const CR = 0x0d;

const READ_SIZE = 64 * 1024;
// Give other work a turn after this much output in one go.
const YIELD_EVERY_BYTES = 1024 * 1024;

/**
 * Starts copying stdin FIFO → master and master → stdout FIFO. master becomes ours from this
 * call on: it is closed by close(), or here if opening a FIFO fails (a ShimError from
 * openError: invalidArgument for a missing FIFO, and so on).
 *
 * The FIFOs are opened like the runc shim's: stdin with a reader and a writer of our own,
 * the writer keeping a client's brief absence from looking like EOF until closeStdin();
 * stdout read-write, so a write never fails with EPIPE while the client is away (its
 * output then waits in the FIFO, and the process blocks once that is full).
 */
export function startConsoleCopy(master: number, fifos: ConsoleFifos, opts: ConsoleCopyOptions = {}): ConsoleCopy {
  const opened: number[] = [];
  const open = (what: string, file: string, flags: number) => {
    let fd: number;
    try {
      // O_NONBLOCK: opening a FIFO must not wait for a peer, and libuv wants it anyway.
      fd = fs.openSync(file, flags | O_NONBLOCK | O_NOCTTY);
    } catch (err) {
      throw openError(what, file, err);
    }
    opened.push(fd);
    // As containerd's fifo.OpenFifo; net.Socket would refuse a regular file anyway.
    if (!fs.fstatSync(fd).isFIFO()) throw invalidArgument(`${what} ${file} is not a fifo`);
    return fd;
  };
  try {
    setNonBlocking(master, true);
    // A second fd number for the reads: libuv watches one fd number once, and the writes
    // to the master wait on master itself.
    const readFd = dupCloexec(master);
    opened.push(readFd);
    let stdin: { read: number; keepAlive: number } | undefined;
    if (fifos.stdin) {
      const read = open('stdin fifo', fifos.stdin, O_RDONLY);
      // A reader exists now, so a non-blocking O_WRONLY cannot fail with ENXIO.
      stdin = { read, keepAlive: open('stdin fifo', fifos.stdin, O_WRONLY) };
    }
    const stdout = fifos.stdout ? open('stdout fifo', fifos.stdout, O_RDWR) : undefined;
    return new TerminalCopy(master, readFd, stdin, stdout, opts.logger);
  } catch (err) {
    for (const fd of [master, ...opened]) closeQuietly(fd);
    if (err instanceof ShimError) throw err;
    throw internal('cannot set up the console copy', err);
  }
}

class TerminalCopy implements ConsoleCopy {
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  private readonly stop = new AbortController();
  private stopped = false;
  private closing: Promise<void> | undefined;
  private keepAlive: number | undefined;
  private readonly input: net.Socket | undefined;
  private output: net.Socket | undefined;
  private readonly pumps: Promise<void>[] = [];
  /** The last byte copied into the terminal: decides whether a line is left unfinished. */
  private lastInput: number | undefined;

  constructor(
    private readonly master: number,
    private readonly readFd: number,
    stdin: { read: number; keepAlive: number } | undefined,
    stdout: number | undefined,
    private readonly logger: Logger | undefined,
  ) {
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.keepAlive = stdin?.keepAlive;
    // libuv owns these fds from here on and closes them with the socket.
    if (stdin) this.input = new net.Socket({ fd: stdin.read, readable: true, writable: false });
    if (stdout !== undefined) {
      this.output = new net.Socket({ fd: stdout, readable: false, writable: true });
      this.output.on('error', (err) => this.onOutputError(err));
    }
    this.pumps.push(this.copyOutput().finally(() => this.resolveDone()));
    if (this.input) this.pumps.push(this.copyInput(this.input));
  }

  resize(width: number, height: number): void {
    if (this.stopped) throw failedPrecondition('cannot resize a console that is closed');
    try {
      ioctlSetWinsize(this.master, height, width);
    } catch (err) {
      throw internal(`cannot resize the console to ${width}x${height}`, err);
    }
  }

  closeStdin(): void {
    if (this.keepAlive === undefined) return;
    closeQuietly(this.keepAlive);
    this.keepAlive = undefined;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopped = true;
      this.stop.abort(cancelled('console closed'));
      this.input?.destroy();
      this.output?.destroy();
      this.closeStdin();
      // The pumps may still be between a poll and a read: close their fds only once they
      // have stopped, or a recycled fd number could be read or written.
      await Promise.allSettled(this.pumps);
      closeQuietly(this.readFd);
      closeQuietly(this.master);
    })();
    return this.closing;
  }

  /** master → stdout FIFO, until the master reads EIO. */
  private async copyOutput(): Promise<void> {
    const buf = Buffer.allocUnsafe(READ_SIZE);
    let sinceYield = 0;
    try {
      while (!this.stopped) {
        let n: number;
        try {
          // Non-blocking: data, EAGAIN, or EIO once no slave fd is open. The kernel hands
          // out what the slave wrote before its hangup first, so nothing is cut short.
          n = fs.readSync(this.readFd, buf, 0, buf.length, null);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'EIO') break;
          if (code === 'EINTR') continue;
          if (code !== 'EAGAIN') throw err;
          sinceYield = 0;
          await waitReadable(this.readFd, { signal: this.stop.signal });
          continue;
        }
        if (n === 0) break;
        await this.emit(Buffer.from(buf.subarray(0, n)));
        if ((sinceYield += n) >= YIELD_EVERY_BYTES) {
          sinceYield = 0;
          await yieldToLoop();
        }
      }
      if (!this.stopped) await this.flushOutput();
    } catch (err) {
      if (!this.stopped) this.logger?.error({ err }, 'console output copy failed; the rest of the output is lost');
    }
  }

  /** Into the stdout FIFO, waiting while it is full; dropped when there is none. */
  private async emit(chunk: Buffer): Promise<void> {
    const out = this.output;
    if (!out || out.write(chunk)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        out.off('drain', done).off('close', done);
        resolve();
      };
      out.on('drain', done).on('close', done);
    });
  }

  /** Resolves once every byte written is in the FIFO, then closes our end. */
  private async flushOutput(): Promise<void> {
    const out = this.output;
    if (!out || out.destroyed) return;
    // 'finish' comes after the last write; the shutdown(2) that end() also makes fails
    // with ENOTSOCK on a FIFO, which Node ignores.
    await finished(out.end(), { readable: false }).catch((err: unknown) => this.onOutputError(err as Error));
    out.destroy();
  }

  private onOutputError(err: Error): void {
    // Cannot be EPIPE (we hold a reader too): something unexpected. Keep draining the
    // master into nothing, or the process would block on its terminal.
    if (!this.stopped) this.logger?.warn({ err }, 'console output to the stdout fifo failed; dropping further output');
    this.output?.destroy();
    this.output = undefined;
  }

  /** stdin FIFO → master; at the FIFO's EOF (after closeStdin), the terminal's EOF character. */
  private async copyInput(input: net.Socket): Promise<void> {
    try {
      for await (const chunk of input as AsyncIterable<Buffer>) {
        if (chunk.length === 0) continue;
        if (!(await this.writeMaster(chunk))) {
          this.logger?.debug('console input dropped: no process has the terminal open');
          return;
        }
        this.lastInput = chunk[chunk.length - 1];
      }
      if (!this.stopped) await this.writeMaster(this.eofSequence());
    } catch (err) {
      if (!this.stopped) this.logger?.warn({ err }, 'console input copy failed; further input is dropped');
    } finally {
      input.destroy();
    }
  }

  /** All of data into the terminal; false if no process has it open, so no one would read it. */
  private async writeMaster(data: Buffer): Promise<boolean> {
    let off = 0;
    while (off < data.length && !this.stopped) {
      try {
        // Non-blocking, so never longer than a memory copy.
        off += fs.writeSync(this.master, data, off, data.length - off);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EIO') return false;
        if (code === 'EINTR') continue;
        if (code !== 'EAGAIN') throw err;
        // Without a slave the master still takes a buffer's worth, then polls writable
        // at once and for ever: waiting would spin.
        if (pollHangup(this.master)) return false;
        await waitWritable(this.master, { signal: this.stop.signal });
      }
    }
    return true;
  }

  /**
   * VEOF ends a read only on an empty line: in canonical mode, one after an unfinished
   * line just hands that line over, and a second one is the EOF.
   */
  private eofSequence(): Buffer {
    let t: Termios | undefined;
    try {
      t = ioctlGetTermios(this.master);
    } catch (err) {
      this.logger?.debug({ err }, 'cannot read the terminal settings; sending ^D');
    }
    const eof = t?.cc[VEOF] || CTRL_D;
    const pendingLine = t !== undefined && (t.lflag & ICANON) !== 0 && this.lastInput !== undefined && !endsLine(this.lastInput, t);
    return Buffer.from(pendingLine ? [eof, eof] : [eof]);
  }
}

/** Whether byte, as the last one typed, leaves the canonical line buffer empty. */
function endsLine(byte: number, t: Termios): boolean {
  // 0 in c_cc disables a character (_POSIX_VDISABLE).
  const special = [t.cc[VEOF], t.cc[VEOL], t.cc[VEOL2]].filter((c) => c !== 0);
  return byte === NL || special.includes(byte) || (byte === CR && (t.iflag & ICRNL) !== 0 && (t.iflag & IGNCR) === 0);
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // Only EBADF could come, for an fd we own; EINTR/EIO on close still frees it.
  }
}
