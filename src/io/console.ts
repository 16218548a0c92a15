/**
 * Terminals for container processes (process.terminal: true), as the runc shim does them.
 * The runtime makes the pty itself and passes its master over a unix socket
 * (`runc create|exec --console-socket PATH`, SCM_RIGHTS, the slave's name as data). We then
 * copy the client's stdin FIFO into the master and the master into the client's stdout
 * FIFO; the slave is the process's 0, 1 and 2, so there is no stderr.
 *
 *   const sock = await createConsoleSocket(stateDir);     // runc ... --console-socket sock.path
 *   const master = await sock.receive();                   // once runc has sent it
 *   await sock.close();
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
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Logger } from 'pino';
import { ShimError, cancelled, deadlineExceeded, failedPrecondition, internal, invalidArgument } from '../errors/index.js';
import { FdPassingError, recvFd, socketFd } from '../sys/fd-passing.js';
import { dupCloexec, setNonBlocking } from '../sys/fds.js';
import { pollHangup, waitReadable, waitWritable } from '../sys/poll.js';
import { ioctlGetTermios, ioctlGetWinsize, ioctlSetWinsize, type Termios } from '../sys/tty.js';
import { openError } from './fd-set.js';

// ---------------------------------------------------------------------------------------
// The console socket

/** A unix socket the runtime sends a pty master to. */
export interface ConsoleSocket {
  /** Pass to runc --console-socket. */
  readonly path: string;
  /**
   * Resolves with the pty master, close-on-exec and now the caller's, once the runtime has
   * sent it; a connection made before the call is not lost. Call it once. Rejects with a
   * ShimError: deadlineExceeded after timeoutMs (default 30 s, Infinity for none),
   * invalidArgument for a message that is not one terminal fd, cancelled on close().
   */
  receive(timeoutMs?: number): Promise<number>;
  /** Stops listening and removes the socket file (and any directory made for it). Idempotent. */
  close(): Promise<void>;
}

/** How long runc gets to connect and send the master: the runc shim's Create deadline. */
export const DEFAULT_CONSOLE_RECEIVE_TIMEOUT_MS = 30_000;

// sun_path holds 108 bytes with the terminating NUL.
const MAX_SOCKET_PATH_BYTES = 107;
// For a dir too long to hold a socket; private 0700 directories are made inside.
const FALLBACK_PARENTS = () => [os.tmpdir(), '/run/switchyard/console'];

/**
 * Listens on a new socket with a random name inside dir (made 0700 if missing). When that
 * path would not fit in sun_path, the socket goes into a fresh 0700 directory under
 * os.tmpdir() or /run/switchyard/console instead.
 */
export async function createConsoleSocket(dir: string, opts: { logger?: Logger } = {}): Promise<ConsoleSocket> {
  let file = path.join(dir, `pty-${crypto.randomBytes(8).toString('hex')}.sock`);
  let ownDir: string | undefined;
  if (Buffer.byteLength(file) <= MAX_SOCKET_PATH_BYTES) {
    try {
      await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw openError('console socket directory', dir, err, 'create');
    }
  } else {
    ownDir = await shortPrivateDir(dir);
    file = path.join(ownDir, 'pty.sock');
  }
  const server = net.createServer({ pauseOnConnect: true });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(file, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    if (ownDir) await fs.promises.rm(ownDir, { recursive: true, force: true });
    throw openError('console socket', file, err, 'listen on');
  }
  return new UnixConsoleSocket(file, server, ownDir, opts.logger);
}

async function shortPrivateDir(tooLong: string): Promise<string> {
  // mkdtemp's 6 random characters, then /pty.sock.
  const fits = (parent: string) => Buffer.byteLength(path.join(parent, 'switchyard-pty-XXXXXX', 'pty.sock')) <= MAX_SOCKET_PATH_BYTES;
  let lastErr: unknown;
  for (const parent of FALLBACK_PARENTS().filter(fits)) {
    try {
      await fs.promises.mkdir(parent, { recursive: true, mode: 0o700 });
      return await fs.promises.mkdtemp(path.join(parent, 'switchyard-pty-'));
    } catch (err) {
      lastErr = err;
    }
  }
  if (lastErr) throw openError('console socket directory', os.tmpdir(), lastErr, 'create');
  throw invalidArgument(`console socket directory ${tooLong} is too long for a unix socket, and so is every fallback`);
}

class UnixConsoleSocket implements ConsoleSocket {
  /** Connections accepted before receive() asked for one (runc create may be done by then). */
  private readonly queued: net.Socket[] = [];
  private waiter: ((conn: net.Socket) => void) | undefined;
  private used = false;
  private readonly closing = new AbortController();
  private closed: Promise<void> | undefined;

  constructor(
    readonly path: string,
    private readonly server: net.Server,
    private readonly ownDir: string | undefined,
    private readonly logger: Logger | undefined,
  ) {
    server.on('connection', (conn) => this.onConnection(conn));
    server.on('error', (err) => this.logger?.warn({ err, path }, 'console socket error'));
  }

  private onConnection(conn: net.Socket): void {
    // Never read (libuv would swallow the fd) nor written: an error here means nothing.
    conn.on('error', () => {});
    if (this.waiter) this.waiter(conn);
    else if (!this.used && !this.closed) this.queued.push(conn);
    else conn.destroy();
  }

  async receive(timeoutMs = DEFAULT_CONSOLE_RECEIVE_TIMEOUT_MS): Promise<number> {
    if (this.closed) throw cancelled(`console socket ${this.path} is closed`);
    if (this.used) throw failedPrecondition(`console socket ${this.path}: receive() was already called`);
    this.used = true;
    const ac = new AbortController();
    const onClose = () => ac.abort(cancelled(`console socket ${this.path} closed before the runtime sent the pty master`));
    this.closing.signal.addEventListener('abort', onClose, { once: true });
    const timer = Number.isFinite(timeoutMs)
      ? setTimeout(() => ac.abort(deadlineExceeded(`no pty master on console socket ${this.path} within ${timeoutMs} ms`)), timeoutMs)
      : undefined;
    let conn: net.Socket | undefined;
    try {
      conn = await this.nextConnection(ac.signal);
      const { fd, name } = await recvFd(socketFd(conn), { signal: ac.signal });
      // As go-runc's ReceiveMaster: whatever came must be a terminal.
      try {
        ioctlGetWinsize(fd);
      } catch (err) {
        fs.closeSync(fd);
        throw invalidArgument(`console socket ${this.path}: the fd received (named ${JSON.stringify(name)}) is not a terminal`, err);
      }
      this.logger?.debug({ path: this.path, pty: name }, 'received pty master');
      return fd;
    } catch (err) {
      if (err instanceof ShimError) throw err;
      if (err instanceof FdPassingError) throw invalidArgument(`malformed message on console socket ${this.path}: ${err.message}`, err);
      throw internal(`cannot receive the pty master on console socket ${this.path}`, err);
    } finally {
      if (timer) clearTimeout(timer);
      this.closing.signal.removeEventListener('abort', onClose);
      conn?.destroy();
    }
  }

  private nextConnection(signal: AbortSignal): Promise<net.Socket> {
    const [first, ...rest] = this.queued.splice(0);
    // Only the first connection counts, as with go-runc's single Accept.
    for (const conn of rest) conn.destroy();
    if (first) return Promise.resolve(first);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.waiter = undefined;
        reject(signal.reason);
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiter = (conn) => {
        this.waiter = undefined;
        signal.removeEventListener('abort', onAbort);
        resolve(conn);
      };
    });
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing.abort();
      for (const conn of this.queued.splice(0)) conn.destroy();
      // The callback waits for receive()'s connection, which its finally destroys.
      await new Promise<void>((resolve) => this.server.close(() => resolve()));
      // libuv unlinks the socket when the server closes; this covers the case it could not.
      await fs.promises.rm(this.path, { force: true });
      if (this.ownDir) await fs.promises.rm(this.ownDir, { recursive: true, force: true });
    })();
    return this.closed;
  }
}

// ---------------------------------------------------------------------------------------
// Copying between the client's FIFOs and the master

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
