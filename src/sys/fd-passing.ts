/**
 * Receiving one fd over a unix socket (SCM_RIGHTS): runc's --console-socket sends the pty
 * master this way, with the pty's name as the data. Node cannot (nodejs/node#53391).
 * The layout checks follow go-runc's recvFd, which containerd's runc shim uses.
 */
import fs from 'node:fs';
import os from 'node:os';
import type net from 'node:net';
import { dupCloexec } from './fds.js';
import { lastError, libc } from './libc.js';
import { waitReadable, type WaitOptions } from './poll.js';
import { SyscallError, errnoOf } from './syscall-error.js';

const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const MSG_CTRUNC = 0x8;
const MSG_DONTWAIT = 0x40;
// The received fd is born close-on-exec, so a runc or exec spawned meanwhile cannot
// inherit the container's pty master.
const MSG_CMSG_CLOEXEC = 0x40000000;
// go-runc's MaxNameLen: a name this long or longer is refused as malformed.
const MAX_NAME_LEN = 4096;

export interface ReceivedFd {
  fd: number;
  /** The message's data: for runc, the pty slave's path (/dev/pts/N). */
  name: string;
}

/** A malformed fd-passing message: the peer spoke, but not the console-socket protocol. */
export class FdPassingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FdPassingError';
  }
}

/**
 * The fd under a connected net.Socket. The socket must come from
 * `net.createServer({ pauseOnConnect: true })`: a socket libuv reads from loses the
 * passed fd, since libuv's read discards control messages.
 */
export function socketFd(socket: net.Socket): number {
  // Node exposes no public accessor; _handle is the libuv pipe wrap.
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) {
    throw new SyscallError('recvmsg', errnoOf('EBADF'), 'socket has no file descriptor (closed, or not a unix socket?)');
  }
  return fd;
}

/**
 * One non-blocking recvmsg for a single fd; null when nothing has arrived yet.
 * Throws SyscallError for a failed call, FdPassingError for a message without exactly one fd.
 */
export function recvFdNow(socketFd: number): ReceivedFd | null {
  const c = libc();
  const space = cmsgSpace(c, 4);
  const data = Buffer.alloc(MAX_NAME_LEN);
  const control = Buffer.alloc(space);
  const msg = {
    msg_name: null,
    msg_namelen: 0,
    msg_iov: [{ iov_base: data, iov_len: data.length }],
    msg_iovlen: 1,
    msg_control: control,
    msg_controllen: control.length,
    msg_flags: 0,
  };
  let n: number;
  for (;;) {
    // MSG_DONTWAIT: never block the event loop, even on a socket left in blocking mode.
    n = Number(c.recvmsg(socketFd, msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC));
    if (n >= 0) break;
    const err = lastError('recvmsg');
    if (err.code === 'EAGAIN') return null;
    if (err.code !== 'EINTR') throw err;
  }
  const fds = parseRights(c, control.subarray(0, msg.msg_controllen));
  const fail = (why: string) => {
    for (const fd of fds) fs.closeSync(fd);
    return new FdPassingError(`recvmsg: ${why}`);
  };
  if (msg.msg_flags & MSG_CTRUNC) throw fail('control data truncated (more than one fd sent?)');
  if (n === 0 && fds.length === 0) throw fail('peer closed the socket without sending an fd');
  if (n >= MAX_NAME_LEN) throw fail(`name of ${n} bytes is too long`);
  if (fds.length !== 1) throw fail(`expected one fd, got ${fds.length}`);
  return { fd: fds[0]!, name: data.subarray(0, n).toString().replace(/\0+$/, '') };
}

/**
 * Wait for and receive one fd. socketFd stays open and owned by the caller; a socket from
 * socketFd() may be destroyed once this settles. The protocol's 30 s limit is the
 * caller's timeoutMs.
 */
export async function recvFd(socketFd: number, opts: Omit<WaitOptions, 'ref'> = {}): Promise<ReceivedFd> {
  const deadline = opts.timeoutMs === undefined ? undefined : Date.now() + opts.timeoutMs;
  // A private dup to poll: libuv allows one watcher per fd number, and the original may
  // belong to a Node socket.
  const fd = dupCloexec(socketFd);
  try {
    for (;;) {
      const got = recvFdNow(fd);
      if (got) return got;
      const timeoutMs = deadline === undefined ? undefined : Math.max(0, deadline - Date.now());
      await waitReadable(fd, { signal: opts.signal, timeoutMs }).catch((err: unknown) => {
        if (err instanceof SyscallError && err.code === 'ETIMEDOUT') {
          throw new SyscallError('recvmsg', err.errno, `no fd received within ${opts.timeoutMs} ms`);
        }
        throw err;
      });
    }
  } finally {
    fs.closeSync(fd);
  }
}

type LibcHandle = ReturnType<typeof libc>;

const readInt = os.endianness() === 'LE' ? (b: Buffer, o: number) => b.readInt32LE(o) : (b: Buffer, o: number) => b.readInt32BE(o);

const align = (c: LibcHandle, n: number) => {
  const a = c.koffi.sizeof('size_t');
  return (n + a - 1) & ~(a - 1);
};
/** CMSG_SPACE(n) */
const cmsgSpace = (c: LibcHandle, n: number) => align(c, c.koffi.sizeof(c.cmsghdr)) + align(c, n);

/** Every fd in the SCM_RIGHTS messages of a control buffer (CMSG_FIRSTHDR/NXTHDR). */
function parseRights(c: LibcHandle, control: Buffer): number[] {
  const fds: number[] = [];
  const header = align(c, c.koffi.sizeof(c.cmsghdr));
  for (let off = 0; off + header <= control.length; ) {
    const h = c.koffi.decode(control.subarray(off), c.cmsghdr) as { cmsg_len: number; cmsg_level: number; cmsg_type: number };
    const len = Number(h.cmsg_len);
    if (len < header || off + len > control.length) break;
    if (h.cmsg_level === SOL_SOCKET && h.cmsg_type === SCM_RIGHTS) {
      for (let p = off + header; p + 4 <= off + len; p += 4) fds.push(readInt(control, p));
    }
    off += align(c, len);
  }
  return fds;
}
