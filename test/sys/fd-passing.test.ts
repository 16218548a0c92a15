import t, { type Test } from 'tap';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { FdPassingError, recvFd, socketFd } from '../../src/sys/fd-passing.js';
import { ioctlSetWinsize } from '../../src/sys/tty.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * What runc does with --console-socket: connect, send the pty master with SCM_RIGHTS and
 * the pty name as data. Then it reads from the slave, and prints what it saw.
 */
const RUNC_LIKE = `
import fcntl, os, socket, struct, sys, termios
master, slave = os.openpty()
name = os.ttyname(slave)
c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
c.connect(sys.argv[1])
socket.send_fds(c, [name.encode()], [master])
os.close(master)
line = os.read(slave, 100).decode().strip()
rows, cols, _, _ = struct.unpack('HHHH', fcntl.ioctl(slave, termios.TIOCGWINSZ, b'\\0' * 8))
print(name, rows, cols, line)
`;

/** Sends every fd it opens (a pty pair: two fds) in one message. */
const TWO_FDS = `
import os, socket, sys
m, s = os.openpty()
c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
c.connect(sys.argv[1])
socket.send_fds(c, [b'two'], [m, s])
`;

/** A console socket as the shim makes it: libuv must not read from accepted sockets. */
async function consoleSocket(t: Test) {
  const sock = path.join(tempDir(t), 'pty.sock');
  const server = net.createServer({ pauseOnConnect: true });
  server.listen(sock);
  await once(server, 'listening');
  t.teardown(() => server.close());
  const nextConnection = async () => {
    const [conn] = (await once(server, 'connection')) as [net.Socket];
    t.teardown(() => conn.destroy());
    return conn;
  };
  return { sock, nextConnection };
}

const openFds = () => fs.readdirSync('/proc/self/fd').length;

t.test('receives a pty master from a runc-like sender', async (t) => {
  const { sock, nextConnection } = await consoleSocket(t);
  const before = openFds();
  const sender = execa('python3', ['-c', RUNC_LIKE, sock], { timeout: 10_000 });
  const conn = await nextConnection();
  const { fd, name } = await recvFd(socketFd(conn), { timeoutMs: 5000 });
  conn.destroy();
  t.match(name, /^\/dev\/pts\/\d+$/);
  t.ok(fs.fstatSync(fd).isCharacterDevice(), 'a terminal device');
  t.ok(/^flags:\s+[0-7]*2[0-7]{6}$/m.test(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8')), 'close-on-exec');
  ioctlSetWinsize(fd, 33, 99);
  fs.writeSync(fd, 'ping\n');
  const { stdout } = await sender;
  fs.closeSync(fd);
  t.equal(stdout.trim(), `${name} 33 99 ping`, 'the sender saw our size and our write on its slave');
  await sleep(10);
  t.equal(openFds(), before, 'no fd leaked');
});

t.test('an fd sent before we ask is still there', async (t) => {
  const { sock, nextConnection } = await consoleSocket(t);
  const sender = execa('python3', ['-c', RUNC_LIKE, sock], { timeout: 10_000 });
  const conn = await nextConnection();
  await sleep(300);
  const { fd } = await recvFd(socketFd(conn), { timeoutMs: 5000 });
  fs.writeSync(fd, 'late\n');
  t.match((await sender).stdout, / late$/m);
  fs.closeSync(fd);
});

t.test('timeout: a peer that sends nothing', async (t) => {
  const { sock, nextConnection } = await consoleSocket(t);
  const client = net.connect(sock);
  t.teardown(() => client.destroy());
  const conn = await nextConnection();
  const started = Date.now();
  await t.rejects(recvFd(socketFd(conn), { timeoutMs: 150 }), { name: 'SyscallError', syscall: 'recvmsg', code: 'ETIMEDOUT' });
  t.ok(Date.now() - started >= 140);
});

t.test('abort: the caller gives up', async (t) => {
  const { sock, nextConnection } = await consoleSocket(t);
  const client = net.connect(sock);
  t.teardown(() => client.destroy());
  const conn = await nextConnection();
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error('process exited')), 50);
  await t.rejects(recvFd(socketFd(conn), { signal: ac.signal }), /process exited/);
});

t.test('protocol errors', async (t) => {
  const { sock, nextConnection } = await consoleSocket(t);
  const before = openFds();

  const quiet = net.connect(sock, () => quiet.end());
  let conn = await nextConnection();
  await t.rejects(recvFd(socketFd(conn), { timeoutMs: 5000 }), new FdPassingError('recvmsg: peer closed the socket without sending an fd'));
  conn.destroy();
  quiet.destroy();

  const chatty = net.connect(sock, () => chatty.end('/dev/pts/0'));
  conn = await nextConnection();
  await t.rejects(recvFd(socketFd(conn), { timeoutMs: 5000 }), { name: 'FdPassingError', message: /expected one fd, got 0/ });
  conn.destroy();
  chatty.destroy();

  const two = execa('python3', ['-c', TWO_FDS, sock], { timeout: 10_000 });
  conn = await nextConnection();
  await t.rejects(recvFd(socketFd(conn), { timeoutMs: 5000 }), { name: 'FdPassingError', message: /truncated|expected one fd/ });
  await two;
  conn.destroy();
  await sleep(10);
  t.equal(openFds(), before, 'the fds of a bad message are closed');
});

t.test('socketFd of a closed socket', async (t) => {
  const { sock, nextConnection } = await consoleSocket(t);
  const client = net.connect(sock);
  t.teardown(() => client.destroy());
  const conn = await nextConnection();
  conn.destroy();
  t.throws(() => socketFd(conn), { name: 'SyscallError', code: 'EBADF' });
});
