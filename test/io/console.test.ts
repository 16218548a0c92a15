import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { createConsoleSocket, startConsoleCopy, type ConsoleCopy, type ConsoleFifos } from '../../src/io/console.js';
import { ioctlGetWinsize, ioctlSetWinsize, openPty, type Pty } from '../../src/sys/tty.js';
import { tempDir } from '../helpers/tmp.js';
import { makeFifos, openFdCount, openReader, openWriter, sha256, writeAndClose } from './client.js';

// ---------------------------------------------------------------------------------------
// Helpers

/** What runc does with --console-socket: connect, send fd 3 with SCM_RIGHTS, the name as data. */
const SEND_FD3 = `
import socket, sys
c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
c.connect(sys.argv[1])
socket.send_fds(c, [sys.argv[2].encode()], [3])
`;

/** Sends the read end of a pipe: an fd, but no terminal. */
const SEND_PIPE = `
import os, socket, sys
r, w = os.pipe()
c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
c.connect(sys.argv[1])
socket.send_fds(c, [b'pipe'], [r])
`;

/** Sends our pty master to sock as runc would; resolves when the sender is done. */
async function sendMaster(sock: string, p: Pty): Promise<void> {
  const sender = spawn('python3', ['-c', SEND_FD3, sock, p.name], { stdio: ['ignore', 'inherit', 'inherit', p.master], timeout: 10_000 });
  const [code] = (await once(sender, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`sender exited with ${code}`);
}

const closeAll = (...fds: number[]) => fds.forEach((fd) => fs.closeSync(fd));

/** Counting only once every socket's close has run. */
async function fdCountSettled(): Promise<number> {
  await sleep(20);
  return openFdCount();
}

/**
 * A "container" on the slave: sh -c script with the slave as 0, 1 and 2, in its own
 * session. Our copy of the slave is closed, so the master reads EIO when the script ends.
 */
function onTerminal(t: Test, p: Pty, script: string): Promise<number | null> {
  const child = spawn('sh', ['-c', script], { stdio: [p.slave, p.slave, p.slave], detached: true });
  fs.closeSync(p.slave);
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
}

/** The client's side of the stdout FIFO, read as it arrives. */
function watchOutput(fd: number) {
  const s = new net.Socket({ fd, readable: true, writable: false });
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  const all = new Promise<Buffer>((resolve, reject) => {
    s.on('end', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
  });
  const text = () => Buffer.concat(chunks).toString();
  return {
    text,
    /** Everything, once the shim has closed its end. */
    all,
    async waitFor(want: string, timeoutMs = 5000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!text().includes(want)) {
        if (Date.now() > deadline) throw new Error(`no ${JSON.stringify(want)} in output ${JSON.stringify(text())}`);
        await sleep(10);
      }
    },
  };
}

interface Setup {
  p: Pty;
  copy: ConsoleCopy;
  /** The client's stdout reader: watchOutput(outR) starts reading it. */
  outR: number | undefined;
  /** The client's stdin writer. */
  inW: number | undefined;
}

/** As ctr does: FIFOs made and the stdout reader opened before Create, the stdin writer after. */
function setup(t: Test, want: { stdin?: boolean; stdout?: boolean } = {}): Setup {
  const { stdin = true, stdout = true } = want;
  const f = makeFifos(tempDir(t), 'c1', ['stdin', 'stdout']);
  const outR = stdout ? openReader(f.stdout) : undefined;
  const p = openPty();
  const fifos: ConsoleFifos = { stdin: stdin ? f.stdin : null, stdout: stdout ? f.stdout : null };
  const copy = startConsoleCopy(p.master, fifos);
  t.teardown(() => copy.close());
  const inW = stdin ? openWriter(f.stdin) : undefined;
  return { p, copy, outR, inW };
}

/** Resolves true if promise settles within ms. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return Promise.race([promise.then(() => true), sleep(ms).then(() => false)]);
}

// ---------------------------------------------------------------------------------------
// The console socket

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

t.test('copy: input reaches the process, output the stdout FIFO; resize is what stty sees', async (t) => {
  const before = openFdCount();
  const { p, copy, outR, inW } = setup(t);
  const out = watchOutput(outR!);
  copy.resize(100, 40);
  const exited = onTerminal(t, p, 'read x; echo got:$x; stty size');
  await writeAndClose(inW!, 'hello\n');
  t.equal(await exited, 0);
  await copy.done;
  await copy.close();
  const text = (await out.all).toString();
  // A terminal echoes its input and turns \n into \r\n.
  t.equal(text, 'hello\r\ngot:hello\r\n40 100\r\n');
  t.equal(await fdCountSettled(), before, 'no fd leaked');
});

t.test('copy: 1 MiB of output arrives whole, also when the client reads late', async (t) => {
  const before = openFdCount();
  // base64 without newlines: a terminal passes it through unchanged.
  const data = Buffer.from(crypto.randomBytes(786_432).toString('base64'));
  t.equal(data.length, 1 << 20);
  const file = path.join(tempDir(t), 'data');
  fs.writeFileSync(file, data);
  const { p, copy, outR } = setup(t, { stdin: false });
  const exited = onTerminal(t, p, `cat ${file}`);
  // Nobody reads yet: the FIFO and the terminal fill, and cat has to wait.
  t.notOk(await settlesWithin(exited, 300), 'cat blocked on its full terminal');
  t.notOk(await settlesWithin(copy.done, 0), 'not done while the process runs');
  const out = watchOutput(outR!);
  t.equal(await exited, 0);
  await copy.done;
  // done means all of it is in the FIFO: closing right away loses nothing.
  await copy.close();
  const got = await out.all;
  t.equal(got.length, data.length, 'every byte');
  t.equal(sha256(got), sha256(data), 'the same bytes');
  t.equal(await fdCountSettled(), before, 'no fd leaked');
});

t.test('copy: closeStdin sends the terminal EOF once the client is done', async (t) => {
  await t.test('client closes, then CloseIO', async (t) => {
    const { p, copy, outR, inW } = setup(t);
    const out = watchOutput(outR!);
    const exited = onTerminal(t, p, 'cat; echo cat-done');
    await writeAndClose(inW!, 'abc\n');
    await out.waitFor('abc\r\nabc\r\n');
    t.notOk(await settlesWithin(exited, 200), 'our own writer keeps stdin open');
    copy.closeStdin();
    t.equal(await exited, 0);
    await copy.done;
    await copy.close();
    t.equal((await out.all).toString(), 'abc\r\nabc\r\ncat-done\r\n', 'no ^D echoed');
  });

  await t.test('CloseIO, then the client closes', async (t) => {
    const { p, copy, outR, inW } = setup(t);
    const out = watchOutput(outR!);
    const exited = onTerminal(t, p, 'cat; echo cat-done');
    copy.closeStdin();
    t.notOk(await settlesWithin(exited, 200), 'the client still has its writer open');
    await writeAndClose(inW!, 'late\n');
    t.equal(await exited, 0);
    await copy.done;
    t.match((await out.all).toString(), /^late\r\nlate\r\ncat-done\r\n$/);
  });

  await t.test('an unfinished line: EOF still comes', async (t) => {
    const { p, copy, outR, inW } = setup(t);
    const out = watchOutput(outR!);
    const exited = onTerminal(t, p, 'cat; echo; echo cat-done');
    await writeAndClose(inW!, 'no newline');
    copy.closeStdin();
    t.equal(await exited, 0);
    await copy.done;
    t.equal((await out.all).toString(), 'no newlineno newline\r\ncat-done\r\n');
  });

  await t.test('a raw-mode terminal gets one ^D, as data', async (t) => {
    const { p, copy, outR, inW } = setup(t);
    const out = watchOutput(outR!);
    const exited = onTerminal(t, p, 'stty -icanon -echo min 1; echo ready; head -c 3 | od -An -tx1');
    await out.waitFor('ready');
    await writeAndClose(inW!, 'ab');
    copy.closeStdin();
    t.equal(await exited, 0);
    await copy.done;
    t.match((await out.all).toString(), /^ready\r\n\s*61 62 04\r\n$/);
  });

  await t.test('the terminal EOF character is the one stty set', async (t) => {
    const { p, copy, outR, inW } = setup(t);
    const out = watchOutput(outR!);
    const exited = onTerminal(t, p, 'stty eof ^X; echo ready; cat; echo cat-done');
    await out.waitFor('ready');
    await writeAndClose(inW!, 'x\n');
    copy.closeStdin();
    t.equal(await exited, 0);
    await copy.done;
    t.equal((await out.all).toString(), 'ready\r\nx\r\nx\r\ncat-done\r\n');
  });
});

t.test('copy: without FIFOs the output is drained and dropped', async (t) => {
  const before = openFdCount();
  const { p, copy } = setup(t, { stdin: false, stdout: false });
  const exited = onTerminal(t, p, 'head -c 1000000 /dev/zero; echo');
  t.equal(await exited, 0, 'never blocked on its terminal');
  await copy.done;
  copy.closeStdin();
  await copy.close();
  t.equal(await fdCountSettled(), before, 'no fd leaked');
});

t.test('copy: input after the process is gone is dropped quietly', async (t) => {
  const before = openFdCount();
  const { p, copy, outR, inW } = setup(t);
  const out = watchOutput(outR!);
  const exited = onTerminal(t, p, 'echo bye');
  t.equal(await exited, 0);
  await copy.done;
  // More than the master takes without a slave: then it polls writable for ever.
  const cpu = process.cpuUsage();
  await writeAndClose(inW!, Buffer.from(`${'y'.repeat(63)}\n`.repeat(4096)));
  copy.closeStdin();
  await sleep(300);
  const { user, system } = process.cpuUsage(cpu);
  t.ok(user + system < 150_000, `no busy loop (${Math.round((user + system) / 1000)} ms CPU in 300 ms)`);
  copy.resize(10, 10);
  await copy.close();
  t.equal((await out.all).toString(), 'bye\r\n');
  t.equal(await fdCountSettled(), before, 'no fd leaked');
});

t.test('copy: close() while the process runs', async (t) => {
  const before = openFdCount();
  const { p, copy, outR, inW } = setup(t);
  const out = watchOutput(outR!);
  const exited = onTerminal(t, p, 'echo started; cat');
  await out.waitFor('started');
  await copy.close();
  t.ok(await settlesWithin(copy.done, 0), 'done resolves');
  await out.all;
  // The hangup ends cat's read.
  t.ok(await settlesWithin(exited, 5000), 'the process saw its terminal go');
  t.throws(() => copy.resize(80, 24), { name: 'ShimError', kind: 'failed-precondition' });
  copy.closeStdin();
  await copy.close();
  fs.closeSync(inW!);
  t.equal(await fdCountSettled(), before, 'no fd leaked');
});

t.test('copy: bad FIFOs are refused, and the master is closed', async (t) => {
  const dir = tempDir(t);
  const notFifo = path.join(dir, 'regular');
  fs.writeFileSync(notFifo, '');
  const before = openFdCount();
  let p = openPty();
  t.throws(() => startConsoleCopy(p.master, { stdin: null, stdout: path.join(dir, 'missing') }), {
    name: 'ShimError',
    kind: 'invalid-argument',
    message: /stdout fifo .*missing: ENOENT/,
  });
  fs.closeSync(p.slave);
  p = openPty();
  t.throws(() => startConsoleCopy(p.master, { stdin: notFifo, stdout: null }), { kind: 'invalid-argument', message: /is not a fifo/ });
  fs.closeSync(p.slave);
  t.equal(await fdCountSettled(), before, 'master and FIFO fds closed');
});
