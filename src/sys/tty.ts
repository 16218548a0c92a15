/** Terminal calls Node lacks: window size on a pty, and opening a pty pair. */
import fs from 'node:fs';
import { lastError, libc } from './libc.js';
import { O_CLOEXEC } from './fds.js';
import { SyscallError } from './syscall-error.js';

// asm-generic values (x86_64, arm64); powerpc, mips and sparc use others.
const TIOCGWINSZ = 0x5413;
const TIOCSWINSZ = 0x5414;

export interface Winsize {
  rows: number;
  cols: number;
}

/**
 * TIOCSWINSZ on fd (runc's pty master, for ResizePty). Sizes are cast to uint16 like the
 * runc shim's `uint16(width)`: containerd sends uint32, the kernel struct holds uint16.
 */
export function ioctlSetWinsize(fd: number, rows: number, cols: number): void {
  // struct winsize { unsigned short ws_row, ws_col, ws_xpixel, ws_ypixel; }
  const ws = new Uint16Array([rows & 0xffff, cols & 0xffff, 0, 0]);
  if (libc().ioctl(fd, TIOCSWINSZ, 'void *', ws) < 0) throw lastError('ioctl');
}

export function ioctlGetWinsize(fd: number): Winsize {
  const ws = new Uint16Array(4);
  if (libc().ioctl(fd, TIOCGWINSZ, 'void *', ws) < 0) throw lastError('ioctl');
  return { rows: ws[0]!, cols: ws[1]! };
}

export interface Pty {
  master: number;
  slave: number;
  /** /dev/pts/N */
  name: string;
}

/**
 * A new pty pair, both ends close-on-exec and neither our controlling terminal. runc
 * makes the container's own pty; this is for tests and for processes the shim itself
 * runs on a terminal.
 */
export function openPty(): Pty {
  const c = libc();
  const master = c.posix_openpt(fs.constants.O_RDWR | fs.constants.O_NOCTTY | O_CLOEXEC);
  if (master < 0) throw lastError('posix_openpt');
  try {
    if (c.grantpt(master) < 0) throw lastError('grantpt');
    if (c.unlockpt(master) < 0) throw lastError('unlockpt');
    const buf = Buffer.alloc(128);
    const r = c.ptsname_r(master, buf, buf.length);
    // ptsname_r returns its error number; errno is not promised.
    if (r !== 0) throw new SyscallError('ptsname_r', r);
    const name = buf.subarray(0, buf.indexOf(0)).toString();
    // libuv opens every file close-on-exec already.
    const slave = fs.openSync(name, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
    return { master, slave, name };
  } catch (err) {
    fs.closeSync(master);
    throw err;
  }
}
