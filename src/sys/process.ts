/** Process calls Node lacks: subreaper, waitpid on one pid, pidfd. */
import { lastError, libc } from './libc.js';
import { SyscallError, errnoOf } from './syscall-error.js';

const PR_SET_CHILD_SUBREAPER = 36;
const PR_GET_CHILD_SUBREAPER = 37;
const WNOHANG = 1;
// The same number on every architecture: pidfd_open came after the syscall tables were unified.
const SYS_pidfd_open = 434;

/** How a child ended, as waitpid reports it. */
export type ExitStatus =
  | { readonly kind: 'exited'; readonly code: number }
  | { readonly kind: 'signaled'; readonly signal: number; readonly coreDumped: boolean };

/** containerd's convention (exitSignalOffset): the exit code, or 128 + the killing signal. */
export function exitStatusCode(status: ExitStatus): number {
  return status.kind === 'exited' ? status.code : 128 + status.signal;
}

/** WIFEXITED/WEXITSTATUS/WIFSIGNALED/WTERMSIG/WCOREDUMP on a raw wait status. */
export function decodeWaitStatus(raw: number): ExitStatus {
  const low = raw & 0x7f;
  if (low === 0) return { kind: 'exited', code: (raw >> 8) & 0xff };
  // 0x7f is a stopped child, and 0xffff a continued one; waitpid reports neither without
  // WUNTRACED/WCONTINUED, which we never pass.
  if (low !== 0x7f) return { kind: 'signaled', signal: low, coreDumped: (raw & 0x80) !== 0 };
  throw new RangeError(`wait status 0x${raw.toString(16)} is a stop, not an exit`);
}

/**
 * Make this process the reaper of its orphaned descendants: a container init left behind
 * by `runc create`, or by `runc exec --detach`, becomes our child, so waitpid can collect
 * its exit status.
 */
export function setChildSubreaper(on = true): void {
  if (libc().prctl(PR_SET_CHILD_SUBREAPER, 'unsigned long', on ? 1 : 0) < 0) throw lastError('prctl');
}

export function isChildSubreaper(): boolean {
  const out = new Int32Array(1);
  if (libc().prctl(PR_GET_CHILD_SUBREAPER, 'int *', out) < 0) throw lastError('prctl');
  return out[0] !== 0;
}

/**
 * Reap `pid` if it has exited; null while it runs. Only for pids this process owns and
 * libuv does not: reaping a child_process child steals the status libuv waits for.
 * Throws SyscallError ECHILD when pid is not (or no longer) our child.
 */
export function waitpidNoHang(pid: number): { pid: number; status: ExitStatus } | null {
  assertPid('waitpid', pid);
  const c = libc();
  const raw = new Int32Array(1);
  for (;;) {
    const r = c.waitpid(pid, raw, WNOHANG);
    if (r > 0) return { pid: r, status: decodeWaitStatus(raw[0]!) };
    if (r === 0) return null;
    const err = lastError('waitpid');
    if (err.code !== 'EINTR') throw err;
  }
}

/**
 * A pidfd for pid, close-on-exec. It polls readable once the process has exited, which
 * works for processes that are not our children, where waitpid cannot.
 */
export function pidfdOpen(pid: number): number {
  assertPid('pidfd_open', pid);
  const fd = libc().syscall(SYS_pidfd_open, 'int', pid, 'unsigned int', 0);
  if (fd < 0) throw lastError('pidfd_open');
  return Number(fd);
}

function assertPid(syscall: string, pid: number): void {
  // waitpid(0) and negative pids mean process groups; passing one by mistake would reap
  // children that belong to libuv.
  if (!Number.isInteger(pid) || pid <= 0) {
    throw new SyscallError(syscall, errnoOf('EINVAL'), `pid must be a positive integer, got ${pid}`);
  }
}
