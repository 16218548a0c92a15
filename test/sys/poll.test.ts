import t from 'tap';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { pipe2Cloexec, setNonBlocking } from '../../src/sys/fds.js';
import { pollHangup, waitReadable, waitWritable } from '../../src/sys/poll.js';
import { openPty } from '../../src/sys/tty.js';

/**
 * Writes to a non-blocking fd until it reports EAGAIN; returns the bytes written. Whole
 * lines: a canonical-mode terminal drops what does not fit in its line, so it would take
 * newline-less input forever.
 */
function fill(fd: number): number {
  setNonBlocking(fd, true);
  const chunk = Buffer.from(`${'x'.repeat(63)}\n`.repeat(64));
  let total = 0;
  for (;;) {
    try {
      total += fs.writeSync(fd, chunk);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return total;
      throw err;
    }
  }
}

t.test('waitWritable: a full pipe becomes writable once the reader drains it', async (t) => {
  const [r, w] = pipe2Cloexec();
  t.teardown(() => [r, w].forEach((fd) => fs.closeSync(fd)));
  t.ok(fill(w) > 0);
  let writable = false;
  const waiting = waitWritable(w).then(() => (writable = true));
  await sleep(100);
  t.notOk(writable, 'not while full');
  const buf = Buffer.alloc(65536);
  fs.readSync(r, buf);
  await waiting;
  t.ok(writable);
  t.ok(fs.writeSync(w, 'y') === 1, 'a write now succeeds');
});

t.test('waitWritable: a pty master whose slave does not read', async (t) => {
  const p = openPty();
  t.teardown(() => [p.master, p.slave].forEach((fd) => fs.closeSync(fd)));
  t.ok(fill(p.master) > 0);
  // The kernel moves input on to the slave's line discipline in a worker, which frees some
  // room again just after the first EAGAIN.
  await sleep(50);
  fill(p.master);
  await t.rejects(waitWritable(p.master, { timeoutMs: 100 }), { name: 'SyscallError', code: 'ETIMEDOUT', message: /not writable/ });
  // The slave reading its input makes room again.
  setNonBlocking(p.slave, true);
  const buf = Buffer.alloc(65536);
  for (;;) {
    try {
      fs.readSync(p.slave, buf);
    } catch {
      break;
    }
  }
  await waitWritable(p.master, { timeoutMs: 5000 });
  t.ok(fs.writeSync(p.master, 'y\n') > 0, 'room again once the slave reads');
});

t.test('waitWritable: abort', async (t) => {
  const [r, w] = pipe2Cloexec();
  t.teardown(() => [r, w].forEach((fd) => fs.closeSync(fd)));
  fill(w);
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error('gave up')), 20);
  await t.rejects(waitWritable(w, { signal: ac.signal }), /gave up/);
});

t.test('waitReadable and waitWritable on two fds of one pipe at once', async (t) => {
  const [r, w] = pipe2Cloexec();
  t.teardown(() => [r, w].forEach((fd) => fs.closeSync(fd)));
  let readable = false;
  const reading = waitReadable(r, { timeoutMs: 5000 }).then(() => (readable = true));
  // An empty pipe: its write end is writable at once, while the read end waits on.
  await waitWritable(w, { timeoutMs: 5000 });
  await new Promise((res) => setImmediate(res));
  t.notOk(readable, 'the read end waits while the pipe is empty');
  t.equal(fs.writeSync(w, 'z'), 1);
  await reading;
  t.ok(readable, 'the write wakes the read end');
  const buf = Buffer.alloc(4);
  t.equal(fs.readSync(r, buf), 1);
  t.equal(buf.toString('utf8', 0, 1), 'z', 'the byte written is there to read');
});

t.test('pollHangup: a pty master without a slave, a pipe without a reader', async (t) => {
  const p = openPty();
  t.teardown(() => fs.closeSync(p.master));
  t.notOk(pollHangup(p.master), 'slave open');
  fs.closeSync(p.slave);
  t.ok(pollHangup(p.master), 'slave closed');
  // Why it matters: the master takes input until it is full, then still polls writable.
  await sleep(50);
  fill(p.master);
  await waitWritable(p.master, { timeoutMs: 1000 });
  t.ok(pollHangup(p.master), 'still hung up');

  const [r, w] = pipe2Cloexec();
  t.teardown(() => fs.closeSync(w));
  t.notOk(pollHangup(w), 'reader open');
  fs.closeSync(r);
  t.ok(pollHangup(w), 'reader closed');
  t.throws(() => pollHangup(r), { name: 'SyscallError', code: 'EBADF' });
});
