/** Terminal calls Node lacks: window size on a pty, and opening a pty pair. */
import fs from 'node:fs';
import { lastError, libc } from './libc.js';
import { O_CLOEXEC } from './fds.js';
import { SyscallError } from './syscall-error.js';

// asm-generic values (x86_64, arm64); powerpc, mips and sparc use others.
const TCGETS = 0x5401;
const TIOCGWINSZ = 0x5413;
const TIOCSWINSZ = 0x5414;
// The kernel's struct termios, which TCGETS fills (not glibc's, which is larger):
// tcflag_t c_iflag, c_oflag, c_cflag, c_lflag (uint32 each), cc_t c_line, cc_t c_cc[19].
const NCCS = 19;
const CC_OFFSET = 17;

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

export interface Termios {
  iflag: number;
  oflag: number;
  cflag: number;
  lflag: number;
  /** c_cc, indexed by VINTR (0) … VEOF (4) …; 0 marks a disabled character. */
  cc: Uint8Array;
}

/**
 * TCGETS. On a pty master the kernel answers for the slave, so this reads the settings of
 * the terminal the container's process sees (canonical mode, its EOF character).
 */
export function ioctlGetTermios(fd: number): Termios {
  const words = new Uint32Array(16);
  if (libc().ioctl(fd, TCGETS, 'void *', words) < 0) throw lastError('ioctl');
  const bytes = new Uint8Array(words.buffer);
  return {
    iflag: words[0]!,
    oflag: words[1]!,
    cflag: words[2]!,
    lflag: words[3]!,
    cc: bytes.slice(CC_OFFSET, CC_OFFSET + NCCS),
  };
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
