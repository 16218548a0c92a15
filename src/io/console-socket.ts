/**
 * The console socket of a container process with a terminal (process.terminal: true), as
 * the runc shim does it: the runtime makes the pty itself and passes its master over a
 * unix socket (`runc create|exec --console-socket PATH`, SCM_RIGHTS, the slave's name as
 * data). terminal-copy.ts then moves bytes between the master and the client's FIFOs.
 *
 *   const sock = await createConsoleSocket(stateDir);     // runc ... --console-socket sock.path
 *   const master = await sock.receive();                   // once runc has sent it
 *   await sock.close();
 */
import { randomHex } from '../sys/random.js';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { ShimError, cancelled, deadlineExceeded, failedPrecondition, internal, invalidArgument } from '../errors/index.js';
import { FdPassingError, recvFd, socketFd } from '../sys/fd-passing.js';
import { ioctlGetWinsize } from '../sys/tty.js';
import { openError } from './fd-set.js';
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
  let file = path.join(dir, `pty-${randomHex(8)}.sock`);
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
