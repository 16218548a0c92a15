/**
 * The syscalls Node lacks. Nothing here loads koffi until a function is called, so
 * importing this seam is free on the shim's start/delete paths.
 */
export { SyscallError, errnoName, isSyscallError } from './syscall-error.js';
export { libcLoaded } from './libc.js';
export {
  type ExitStatus,
  decodeWaitStatus,
  exitStatusCode,
  isChildSubreaper,
  pidfdOpen,
  setChildSubreaper,
  waitpidNoHang,
} from './process.js';
export { dupCloexec, isNonBlocking, pipe2Cloexec, setNonBlocking } from './fds.js';
export { type Pty, type Termios, type Winsize, ioctlGetTermios, ioctlGetWinsize, ioctlSetWinsize, openPty } from './tty.js';
export { type WaitOptions, pollHangup, waitReadable, waitWritable } from './poll.js';
export { FdPassingError, type ReceivedFd, recvFd, recvFdNow, socketFd } from './fd-passing.js';
export { type ProcStat, childPids, readProcStat } from './proc.js';
export { type GoneOptions, processGone } from './process-gone.js';
export { type ExitInfo, Reaper, type ReaperOptions } from './reaper.js';
export { eventfd, readEventfd, writeEventfd } from './eventfd.js';
