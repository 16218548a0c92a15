import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import { dupCloexec, isNonBlocking, pipe2Cloexec, setNonBlocking } from '../../src/sys/fds.js';

/** The open flags the kernel reports for one of our fds, as a number. */
function fdFlags(fd: number): number {
  const m = /^flags:\s+([0-7]+)$/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  return parseInt(m![1]!, 8);
}
const O_CLOEXEC = 0o2000000;

t.test('a child writing to /dev/stdout on our pipe2 pipe', async (t) => {
  const [r, w] = pipe2Cloexec();
  t.teardown(() => fs.closeSync(r));
  const child = spawn('sh', ['-c', 'readlink /proc/self/fd/1; echo hi > /dev/stdout'], { stdio: ['ignore', w, 'inherit'] });
  // Our copy of the write end must go, or the read below never sees EOF.
  fs.closeSync(w);
  // With no pipes of Node's own, 'close' follows 'exit' at once: listen before reading.
  const closed = once(child, 'close');
  const chunks: Buffer[] = [];
  for await (const c of fs.createReadStream('', { fd: r, autoClose: false })) chunks.push(c as Buffer);
  const [code] = await closed;
  t.equal(code, 0);
  t.match(Buffer.concat(chunks).toString(), /^pipe:\[\d+\]\nhi\n$/, 'a pipe, not a socket, and /dev/stdout opens');
});

t.test('both ends are close-on-exec and blocking', async (t) => {
  const fds = pipe2Cloexec();
  t.teardown(() => fds.forEach((fd) => fs.closeSync(fd)));
  for (const fd of fds) {
    t.ok(fdFlags(fd) & O_CLOEXEC, `fd ${fd} is O_CLOEXEC`);
    t.equal(isNonBlocking(fd), false);
  }
});

t.test('setNonBlocking toggles O_NONBLOCK', async (t) => {
  const [r, w] = pipe2Cloexec();
  t.teardown(() => [r, w].forEach((fd) => fs.closeSync(fd)));
  setNonBlocking(r, true);
  t.equal(isNonBlocking(r), true);
  t.ok(fdFlags(r) & fs.constants.O_NONBLOCK);
  t.throws(() => fs.readSync(r, Buffer.alloc(1)), { code: 'EAGAIN' }, 'an empty pipe no longer blocks');
  setNonBlocking(r, false);
  t.equal(isNonBlocking(r), false);
});

t.test('dupCloexec: same pipe, new close-on-exec fd', async (t) => {
  const [r, w] = pipe2Cloexec();
  const d = dupCloexec(w);
  t.teardown(() => [r, w, d].forEach((fd) => fs.closeSync(fd)));
  t.not(d, w);
  t.ok(fdFlags(d) & O_CLOEXEC);
  fs.writeSync(d, 'x');
  const buf = Buffer.alloc(1);
  t.equal(fs.readSync(r, buf), 1);
  t.equal(buf.toString(), 'x');
});

t.test('a bad fd is a SyscallError from fcntl', async (t) => {
  const [r, w] = pipe2Cloexec();
  fs.closeSync(r);
  fs.closeSync(w);
  t.throws(() => setNonBlocking(r, true), { name: 'SyscallError', syscall: 'fcntl', code: 'EBADF' });
  t.throws(() => dupCloexec(-1), { syscall: 'fcntl', code: 'EBADF' });
});
