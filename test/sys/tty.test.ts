import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import { pipe2Cloexec } from '../../src/sys/fds.js';
import { ioctlGetTermios, ioctlGetWinsize, ioctlSetWinsize, openPty } from '../../src/sys/tty.js';

function pty(t: Test) {
  const p = openPty();
  t.teardown(() => [p.master, p.slave].forEach((fd) => fs.closeSync(fd)));
  return p;
}

t.test('openPty gives a working pair', async (t) => {
  const p = pty(t);
  t.match(p.name, /^\/dev\/pts\/\d+$/);
  t.ok(fs.fstatSync(p.master).isCharacterDevice());
  t.equal(fs.fstatSync(p.slave).rdev, fs.statSync(p.name).rdev);
  fs.writeSync(p.master, 'hello\n');
  const buf = Buffer.alloc(64);
  t.equal(buf.subarray(0, fs.readSync(p.slave, buf)).toString(), 'hello\n');
});

t.test('TIOCSWINSZ on the master is what the slave reports', async (t) => {
  const p = pty(t);
  ioctlSetWinsize(p.master, 24, 80);
  t.same(ioctlGetWinsize(p.slave), { rows: 24, cols: 80 });
  ioctlSetWinsize(p.master, 50, 200);
  t.same(ioctlGetWinsize(p.master), { rows: 50, cols: 200 });
  // A program on the terminal sees it too.
  const stty = spawn('stty', ['size'], { stdio: [p.slave, 'pipe', 'inherit'] });
  let out = '';
  stty.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  t.equal((await once(stty, 'close'))[0], 0);
  t.equal(out.trim(), '50 200');
});

t.test('sizes are cast to uint16 as the runc shim does', async (t) => {
  const p = pty(t);
  ioctlSetWinsize(p.master, 65536 + 10, 65535);
  t.same(ioctlGetWinsize(p.slave), { rows: 10, cols: 65535 });
});

t.test('a non-terminal is a SyscallError ENOTTY', async (t) => {
  const [r, w] = pipe2Cloexec();
  t.teardown(() => [r, w].forEach((fd) => fs.closeSync(fd)));
  t.throws(() => ioctlSetWinsize(w, 1, 1), { name: 'SyscallError', syscall: 'ioctl', code: 'ENOTTY' });
  t.throws(() => ioctlGetWinsize(r), { syscall: 'ioctl', code: 'ENOTTY' });
});

t.test('TCGETS on the master reads the slave terminal settings', async (t) => {
  const p = pty(t);
  const ICANON = 0o2;
  const VEOF = 4;
  const before = ioctlGetTermios(p.master);
  t.equal(before.cc.length, 19);
  t.equal(before.cc[VEOF], 0x04, 'EOF is ^D by default');
  t.ok(before.lflag & ICANON, 'canonical by default');
  t.same(ioctlGetTermios(p.slave), before, 'the same settings through the slave');
  const stty = spawn('stty', ['eof', '^X', '-icanon'], { stdio: [p.slave, 'inherit', 'inherit'] });
  t.equal((await once(stty, 'close'))[0], 0);
  const after = ioctlGetTermios(p.master);
  t.equal(after.cc[VEOF], 0x18, 'stty eof ^X, seen from the master');
  t.notOk(after.lflag & ICANON, 'stty -icanon, seen from the master');
  const [r, w] = pipe2Cloexec();
  t.teardown(() => [r, w].forEach((fd) => fs.closeSync(fd)));
  t.throws(() => ioctlGetTermios(r), { name: 'SyscallError', syscall: 'ioctl', code: 'ENOTTY' });
});
