/**
 * Waiting for a process that is not our child to end. waitpid cannot see it, so no exit
 * status is to be had: only the fact that it is gone.
 */
import fs from 'node:fs';
import { waitReadable } from './poll.js';
import { readProcStat } from './proc.js';
import { pidfdOpen } from './process.js';
import { isSyscallError } from './syscall-error.js';

export interface GoneOptions {
  /** Stop waiting; the promise then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Check interval when no pidfd can be had. Default 200 ms. */
  pollIntervalMs?: number;
  /** false skips the pidfd and polls /proc, as on a kernel without pidfd_open. */
  usePidfd?: boolean;
  /** Keep the event loop alive while waiting (default true). */
  ref?: boolean;
}

/**
 * Resolves once pid has exited. Through a pidfd where the kernel allows (5.3+), which
 * also makes pid reuse harmless once opened; else by reading /proc/<pid>/stat now and
 * then.
 */
export async function processGone(pid: number, opts: GoneOptions = {}): Promise<void> {
  if (opts.usePidfd === false) return pollProc(pid, opts);
  let fd: number;
  try {
    fd = pidfdOpen(pid);
  } catch (err) {
    if (isSyscallError(err, 'ESRCH')) return;
    // ENOSYS before Linux 5.3; EPERM under some seccomp profiles.
    return pollProc(pid, opts);
  }
  try {
    await waitReadable(fd, { signal: opts.signal, ref: opts.ref });
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    return pollProc(pid, opts);
  } finally {
    fs.closeSync(fd);
  }
}

/** A zombie counts as gone (it has exited), and so does a pid that now names another process. */
function pollProc(pid: number, opts: GoneOptions): Promise<void> {
  const first = readProcStat(pid);
  const gone = () => {
    const st = readProcStat(pid);
    return !st || st.state === 'Z' || st.startTime !== first?.startTime;
  };
  return new Promise((resolve, reject) => {
    const { signal } = opts;
    if (signal?.aborted) return reject(signal.reason);
    if (!first || gone()) return resolve();
    const done = (err?: unknown) => {
      clearInterval(timer);
      signal?.removeEventListener('abort', onAbort);
      if (err === undefined) resolve();
      else reject(err);
    };
    const onAbort = () => done(signal!.reason);
    const timer = setInterval(() => gone() && done(), opts.pollIntervalMs ?? 200);
    if (opts.ref === false) timer.unref();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
