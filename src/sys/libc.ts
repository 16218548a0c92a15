/**
 * The one place that loads koffi and declares libc functions. Loading is deferred to the
 * first call: koffi's native module costs tens of milliseconds, and the shim's `start` and
 * `delete` actions, which containerd runs for every container, never need it.
 *
 * Raw functions return -1 and leave errno set; callers turn that into a SyscallError with
 * `lastError()` immediately, before any other native call can overwrite errno.
 */
import { createRequire } from 'node:module';
import { SyscallError } from './syscall-error.js';

export type Koffi = typeof import('koffi').default;
type KoffiType = ReturnType<Koffi['struct']>;

/** The JS shape koffi marshals `struct msghdr` from and back into (buffers are used in place). */
export interface MsgHdr {
  msg_name: Buffer | null;
  msg_namelen: number;
  msg_iov: { iov_base: Buffer; iov_len: number }[];
  msg_iovlen: number;
  msg_control: Buffer | null;
  msg_controllen: number;
  msg_flags: number;
}

export interface Libc {
  readonly koffi: Koffi;
  readonly cmsghdr: KoffiType;
  /** Variadic: pass each extra argument as a koffi type name then its value. */
  prctl(option: number, ...typedArgs: unknown[]): number;
  waitpid(pid: number, status: Int32Array, options: number): number;
  pipe2(fds: Int32Array, flags: number): number;
  /** Variadic like prctl. */
  fcntl(fd: number, cmd: number, ...typedArgs: unknown[]): number;
  /** Variadic like prctl. */
  ioctl(fd: number, request: number, ...typedArgs: unknown[]): number;
  recvmsg(fd: number, msg: MsgHdr, flags: number): number;
  posix_openpt(flags: number): number;
  grantpt(fd: number): number;
  unlockpt(fd: number): number;
  ptsname_r(fd: number, buf: Buffer, buflen: number): number;
  /** Variadic: syscall(number, 'int', a, ...). Returns a C long, so a number here. */
  syscall(nr: number, ...typedArgs: unknown[]): number;
  /** fds: struct pollfd[] ({ int fd; short events, revents; }), filled in place. */
  poll(fds: Int16Array, nfds: number, timeout: number): number;
  strerror(errnum: number): string;
  /** posix_spawn and its helpers: opaque glibc structures live in Buffers we size generously. */
  posix_spawn(pid: Int32Array, path: string, fileActions: Buffer, attr: Buffer, argv: (string | null)[], envp: (string | null)[]): number;
  posix_spawn_file_actions_init(fa: Buffer): number;
  posix_spawn_file_actions_destroy(fa: Buffer): number;
  posix_spawn_file_actions_adddup2(fa: Buffer, fd: number, newfd: number): number;
  posix_spawn_file_actions_addopen(fa: Buffer, fd: number, path: string, oflag: number, mode: number): number;
  posix_spawn_file_actions_addclosefrom_np(fa: Buffer, from: number): number;
  posix_spawnattr_init(attr: Buffer): number;
  posix_spawnattr_destroy(attr: Buffer): number;
  posix_spawnattr_setflags(attr: Buffer, flags: number): number;
  posix_spawnattr_setsigdefault(attr: Buffer, set: Buffer): number;
  posix_spawnattr_setsigmask(attr: Buffer, set: Buffer): number;
  sigemptyset(set: Buffer): number;
}

let bound: Libc | undefined;

export function libc(): Libc {
  bound ??= bind();
  return bound;
}

/** Whether koffi has been loaded yet; lets tests prove a fast path stayed native-free. */
export function libcLoaded(): boolean {
  return bound !== undefined;
}

/** The error for the call that just returned -1. Call it before anything else native. */
export function lastError(syscall: string): SyscallError {
  const c = libc();
  const errno = c.koffi.errno();
  return new SyscallError(syscall, errno, c.strerror(errno));
}

function bind(): Libc {
  // createRequire keeps the load synchronous and on demand; a static import would load
  // the native module whenever anything under src/sys is imported.
  const koffi = createRequire(import.meta.url)('koffi') as Koffi;
  const lib = koffi.load('libc.so.6');

  // Anonymous types: koffi's type names are process-global, and a named 'iovec' would
  // collide with any other module that declares one.
  const iovec = koffi.struct({ iov_base: 'void *', iov_len: 'size_t' });
  const msghdr = koffi.struct({
    msg_name: 'void *',
    msg_namelen: 'uint32_t',
    msg_iov: koffi.pointer(iovec),
    msg_iovlen: 'size_t',
    msg_control: 'void *',
    msg_controllen: 'size_t',
    msg_flags: 'int',
  });
  const cmsghdr = koffi.struct({ cmsg_len: 'size_t', cmsg_level: 'int', cmsg_type: 'int' });

  return {
    koffi,
    cmsghdr,
    prctl: lib.func('int prctl(int option, ...)'),
    waitpid: lib.func('int waitpid(int pid, _Out_ int *status, int options)'),
    pipe2: lib.func('int pipe2(_Out_ int *fds, int flags)'),
    fcntl: lib.func('int fcntl(int fd, int cmd, ...)'),
    ioctl: lib.func('int ioctl(int fd, unsigned long request, ...)'),
    // intptr_t stands in for ssize_t, which koffi does not name; same width on Linux.
    recvmsg: lib.func('recvmsg', 'intptr_t', ['int', koffi.inout(koffi.pointer(msghdr)), 'int']),
    posix_openpt: lib.func('int posix_openpt(int flags)'),
    grantpt: lib.func('int grantpt(int fd)'),
    unlockpt: lib.func('int unlockpt(int fd)'),
    ptsname_r: lib.func('int ptsname_r(int fd, _Out_ char *buf, size_t buflen)'),
    // Through syscall(2), not glibc's pidfd_open wrapper, which needs glibc 2.36.
    syscall: lib.func('long syscall(long nr, ...)'),
    poll: lib.func('int poll(void *fds, unsigned long nfds, int timeout)'),
    strerror: lib.func('const char *strerror(int errnum)'),
    posix_spawn: lib.func('int posix_spawn(_Out_ int *pid, const char *path, void *fa, void *attr, const char **argv, const char **envp)'),
    posix_spawn_file_actions_init: lib.func('int posix_spawn_file_actions_init(void *fa)'),
    posix_spawn_file_actions_destroy: lib.func('int posix_spawn_file_actions_destroy(void *fa)'),
    posix_spawn_file_actions_adddup2: lib.func('int posix_spawn_file_actions_adddup2(void *fa, int fd, int newfd)'),
    posix_spawn_file_actions_addopen: lib.func('int posix_spawn_file_actions_addopen(void *fa, int fd, const char *path, int oflag, unsigned int mode)'),
    // glibc 2.34 and later (bookworm has 2.36).
    posix_spawn_file_actions_addclosefrom_np: lib.func('int posix_spawn_file_actions_addclosefrom_np(void *fa, int from)'),
    posix_spawnattr_init: lib.func('int posix_spawnattr_init(void *attr)'),
    posix_spawnattr_destroy: lib.func('int posix_spawnattr_destroy(void *attr)'),
    posix_spawnattr_setflags: lib.func('int posix_spawnattr_setflags(void *attr, short flags)'),
    posix_spawnattr_setsigdefault: lib.func('int posix_spawnattr_setsigdefault(void *attr, const void *set)'),
    posix_spawnattr_setsigmask: lib.func('int posix_spawnattr_setsigmask(void *attr, const void *set)'),
    sigemptyset: lib.func('int sigemptyset(void *set)'),
  };
}
