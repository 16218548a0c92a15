/**
 * Waiting for an fd to become readable on Node's own event loop, through koffi's libuv
 * poll handle: no thread blocked in poll(2), no busy loop.
 *
 * koffi's typings say the callback gets one events object; it actually gets
 * (status, events), status being a negative errno. The API is marked experimental by
 * koffi, which is why it is used only here.
 */
import { type Koffi, lastError, libc } from './libc.js';
import { SyscallError, errnoOf } from './syscall-error.js';

type PollHandle = ReturnType<Koffi['node']['poll']>;
/** koffi.node.poll as it really behaves. */
type Poll = (fd: number, opts: { readable?: boolean; writable?: boolean }, callback: (status: number) => void) => PollHandle;

export interface WaitOptions {
  /** Reject with ETIMEDOUT after this long. */
  timeoutMs?: number;
  /** Reject with the signal's reason when aborted. */
  signal?: AbortSignal;
  /** Keep the event loop alive while waiting (default true). */
  ref?: boolean;
}

/**
 * Resolves once fd is readable (for a pidfd: once the process has exited; for a pty
 * master, also once the slave side has hung up).
 * The fd must not be one a libuv handle is already watching: libuv keeps one watcher per
 * fd number and refuses a second (EEXIST). Pass a dup instead.
 * libuv sets O_NONBLOCK on fd, hence on every fd sharing its open file description.
 * Do not close fd before the promise settles.
 */
export function waitReadable(fd: number, opts: WaitOptions = {}): Promise<void> {
  return waitFor(fd, 'readable', opts);
}

/**
 * Resolves once a write to fd would not fail with EAGAIN (or would fail at once, as on a
 * hung-up pty). For fds no Node stream can write safely: tty.WriteStream makes a pty
 * master blocking, and then one write stalls the event loop until the container reads
 * its terminal. Same rules as waitReadable.
 */
export function waitWritable(fd: number, opts: WaitOptions = {}): Promise<void> {
  return waitFor(fd, 'writable', opts);
}

function waitFor(fd: number, event: 'readable' | 'writable', opts: WaitOptions): Promise<void> {
  const { koffi } = libc();
  const { signal, timeoutMs } = opts;
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    let timer: NodeJS.Timeout | undefined;
    let handle: PollHandle | null = null;
    const finish = (err?: unknown) => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      // close() takes the fd out of epoll at once, so the caller may close fd right after.
      handle?.close();
      handle = null;
      if (err === undefined) resolve();
      else reject(err);
    };
    const onAbort = () => finish(signal!.reason);
    const onPoll = (status: number) => {
      if (status < 0) finish(new SyscallError('poll', -status));
      else finish();
    };
    try {
      handle = (koffi.node.poll as unknown as Poll)(fd, { [event]: true }, onPoll);
    } catch (err) {
      return reject(pollInitError(fd, err));
    }
    if (opts.ref === false) handle.unref();
    signal?.addEventListener('abort', onAbort, { once: true });
    if (timeoutMs !== undefined) {
      timer = setTimeout(
        () => finish(new SyscallError('poll', errnoOf('ETIMEDOUT'), `fd ${fd} not ${event} after ${timeoutMs} ms`)),
        timeoutMs,
      );
      if (opts.ref === false) timer.unref();
    }
  });
}

const POLLERR = 0x8;
const POLLHUP = 0x10;
const POLLNVAL = 0x20;

/**
 * Whether fd reports a hangup (POLLHUP or POLLERR) right now, without waiting: for a pty
 * master, that no slave fd is open; for a pipe's write end, that no reader is left. Such
 * an fd polls writable at once (libuv merges the hangup into the events asked for), so a
 * writer that gets EAGAIN must check this before waiting, or it spins.
 */
export function pollHangup(fd: number): boolean {
  // struct pollfd { int fd; short events; short revents; }: events 0, hangups come anyway.
  const pfd = new Int16Array(4);
  new Int32Array(pfd.buffer)[0] = fd;
  for (;;) {
    if (libc().poll(pfd, 1, 0) >= 0) break;
    const err = lastError('poll');
    if (err.code !== 'EINTR') throw err;
  }
  const revents = pfd[3]!;
  if (revents & POLLNVAL) throw new SyscallError('poll', errnoOf('EBADF'), `fd ${fd} is not open`);
  return (revents & (POLLHUP | POLLERR)) !== 0;
}

/** koffi reports a failed uv_poll_init only as text (uv_strerror); recover the errno. */
function pollInitError(fd: number, err: unknown): SyscallError {
  const text = err instanceof Error ? err.message : String(err);
  const code = /already exists/i.test(text) ? 'EEXIST' : /bad file descriptor/i.test(text) ? 'EBADF' : 'EINVAL';
  return new SyscallError('poll', errnoOf(code), `cannot watch fd ${fd}: ${text}`, { cause: err });
}
