import t from 'tap';
import { createConsoleSocket } from '../../src/io/console-socket.js';
import { SEND_PIPE, sendMaster, closeAll, fdCountSettled } from './pty-fixtures.js';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { ioctlGetWinsize, ioctlSetWinsize, openPty } from '../../src/sys/tty.js';
import { tempDir } from '../helpers/tmp.js';
import { openFdCount } from './client.js';

t.test('console socket: receives the pty master a runc-like sender passes', async (t) => {
  const dir = path.join(tempDir(t), 'state', 'c1');
  const before = openFdCount();
  const sock = await createConsoleSocket(dir);
  t.equal(path.dirname(sock.path), dir, 'inside dir');
  t.equal(fs.statSync(dir).mode & 0o777, 0o700, 'dir made 0700');
  t.ok(fs.statSync(sock.path).isSocket());

  const p = openPty();
  // runc create has sent the master and exited before the shim asks for it.
  await sendMaster(sock.path, p);
  const fd = await sock.receive(5000);
  t.not(fd, p.master);
  t.ok(/^flags:\s+[0-7]*2[0-7]{6}$/m.test(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8')), 'close-on-exec');
  ioctlSetWinsize(fd, 33, 99);
  t.same(ioctlGetWinsize(p.slave), { rows: 33, cols: 99 }, 'the same terminal as the sender’s');
  fs.writeSync(fd, 'ping\n');
  const buf = Buffer.alloc(16);
  t.equal(buf.subarray(0, fs.readSync(p.slave, buf)).toString(), 'ping\n');

  await t.rejects(sock.receive(), { name: 'ShimError', kind: 'failed-precondition' }, 'receive() is once');
  await sock.close();
  t.notOk(fs.existsSync(sock.path), 'socket file removed');
  await sock.close();
  await t.rejects(sock.receive(), { name: 'ShimError', kind: 'cancelled' });
  closeAll(fd, p.master, p.slave);
  t.equal(await fdCountSettled(), before, 'no fd leaked');
});

t.test('console socket: receive() waits for a sender that comes later', async (t) => {
  const sock = await createConsoleSocket(tempDir(t));
  t.teardown(() => sock.close());
  const p = openPty();
  t.teardown(() => closeAll(p.master, p.slave));
  const receiving = sock.receive(5000);
  await sleep(100);
  await sendMaster(sock.path, p);
  const fd = await receiving;
  t.same(ioctlGetWinsize(fd), ioctlGetWinsize(p.master));
  fs.closeSync(fd);
});

t.test('console socket: timeout', async (t) => {
  const sock = await createConsoleSocket(tempDir(t));
  t.teardown(() => sock.close());
  let started = Date.now();
  await t.rejects(sock.receive(150), { name: 'ShimError', kind: 'deadline-exceeded', message: /within 150 ms/ }, 'nobody connects');
  t.ok(Date.now() - started >= 140);

  const quiet = await createConsoleSocket(tempDir(t));
  t.teardown(() => quiet.close());
  const client = net.connect(quiet.path);
  t.teardown(() => client.destroy());
  started = Date.now();
  await t.rejects(quiet.receive(150), { name: 'ShimError', kind: 'deadline-exceeded' }, 'a peer that sends nothing');
  t.ok(Date.now() - started >= 140);
});

t.test('console socket: malformed messages are invalidArgument, and leak nothing', async (t) => {
  const dir = tempDir(t);
  const before = openFdCount();

  let sock = await createConsoleSocket(dir);
  const chatty = net.connect(sock.path, () => chatty.end('/dev/pts/0'));
  await t.rejects(sock.receive(5000), { name: 'ShimError', kind: 'invalid-argument', message: /expected one fd, got 0/ }, 'data, no fd');
  await sock.close();
  chatty.destroy();

  sock = await createConsoleSocket(dir);
  const silent = net.connect(sock.path, () => silent.end());
  await t.rejects(sock.receive(5000), { kind: 'invalid-argument', message: /closed the socket without sending an fd/ }, 'hang-up');
  await sock.close();
  silent.destroy();

  sock = await createConsoleSocket(dir);
  await execa('python3', ['-c', SEND_PIPE, sock.path], { timeout: 10_000 });
  await t.rejects(sock.receive(5000), { kind: 'invalid-argument', message: /not a terminal/ }, 'an fd, but not a terminal');
  await sock.close();

  t.equal(await fdCountSettled(), before, 'received fds closed');
  t.same(fs.readdirSync(dir), [], 'every socket file removed');
});

t.test('console socket: close() while receive() waits', async (t) => {
  const sock = await createConsoleSocket(tempDir(t));
  const receiving = sock.receive();
  setTimeout(() => void sock.close(), 50);
  await t.rejects(receiving, { name: 'ShimError', kind: 'cancelled' });
  await sock.close();
  t.notOk(fs.existsSync(sock.path));

  // Also with a connection that has sent nothing yet.
  const sock2 = await createConsoleSocket(tempDir(t));
  const client = net.connect(sock2.path);
  t.teardown(() => client.destroy());
  const receiving2 = t.rejects(sock2.receive(), { name: 'ShimError', kind: 'cancelled' }, 'with a quiet peer connected');
  await sleep(50);
  await sock2.close();
  await receiving2;
});

t.test('console socket: a dir too long for sun_path falls back to a private short one', async (t) => {
  const dir = path.join(tempDir(t), 'x'.repeat(100));
  const sock = await createConsoleSocket(dir);
  t.ok(Buffer.byteLength(sock.path) < 108, sock.path);
  t.ok(sock.path.startsWith(os.tmpdir() + path.sep), 'under os.tmpdir()');
  const own = path.dirname(sock.path);
  t.equal(fs.statSync(own).mode & 0o777, 0o700, 'in a directory of its own, 0700');
  const p = openPty();
  t.teardown(() => closeAll(p.master, p.slave));
  await sendMaster(sock.path, p);
  fs.closeSync(await sock.receive(5000));
  await sock.close();
  t.notOk(fs.existsSync(own), 'that directory removed too');
});

// ---------------------------------------------------------------------------------------
// The copy

