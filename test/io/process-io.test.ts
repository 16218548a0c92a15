import t, { type Test } from 'tap';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openProcessIO, type ProcessIO } from '../../src/io/process-io.js';
import { parseStdio, type StdioRequest } from '../../src/io/uri.js';
import { isNonBlocking } from '../../src/sys/fds.js';
import { tempDir } from '../helpers/tmp.js';
import { fdTarget, makeFifos, openFdCount, openReader, openWriter, readAll, runContainer, sha256, writeAndClose } from './client.js';

const ctx = { containerId: 'c1', namespace: 'ns1' };

async function open(t: Test, req: Partial<StdioRequest>): Promise<ProcessIO> {
  const io = await openProcessIO(parseStdio({ stdin: '', stdout: '', stderr: '', terminal: false, ...req }), ctx);
  t.teardown(() => io.close());
  return io;
}

t.test('cat echoes 10 MiB from the stdin FIFO to the stdout FIFO, byte for byte', async (t) => {
  const f = makeFifos(tempDir(t), 'c1');
  const outR = openReader(f.stdout);
  const errR = openReader(f.stderr);
  const io = await open(t, { ...f });
  const inW = openWriter(f.stdin);
  const { exited } = runContainer('exec cat', io.stdio);
  io.afterStart();
  const out = readAll(outR);
  const err = readAll(errR);
  const data = crypto.randomBytes(10 * 1024 * 1024);
  await writeAndClose(inW, data);
  io.closeStdin();
  t.equal(await exited, 0);
  const got = await out;
  t.equal(got.length, data.length, 'all 10 MiB');
  t.equal(sha256(got), sha256(data), 'same bytes');
  t.equal((await err).length, 0, 'nothing on stderr');
  await io.close();
});

t.test('stdout and stderr stay apart; the container sees FIFOs, and /dev/stdout opens', async (t) => {
  const f = makeFifos(tempDir(t), 'c1');
  const outR = openReader(f.stdout);
  const errR = openReader(f.stderr);
  const io = await open(t, { ...f });
  const { exited } = runContainer(
    'readlink /proc/self/fd/0 /proc/self/fd/1 /proc/self/fd/2; echo to-stderr >&2; echo via-dev-stdout > /dev/stdout; echo via-dev-stderr > /dev/stderr',
    io.stdio,
  );
  io.afterStart();
  const [out, err] = [readAll(outR), readAll(errR)];
  io.closeStdin();
  t.equal(await exited, 0);
  await io.close();
  t.equal((await out).toString(), `${f.stdin}\n${f.stdout}\n${f.stderr}\nvia-dev-stdout\n`, 'the FIFOs themselves, no socket');
  t.equal((await err).toString(), 'to-stderr\nvia-dev-stderr\n');
});

t.test('stdin EOF needs both CloseIO and the client closing its end', async (t) => {
  for (const order of ['client first', 'CloseIO first'] as const) {
    const f = makeFifos(tempDir(t), 'c1', ['stdin', 'stdout']);
    const outR = openReader(f.stdout);
    const io = await open(t, { stdin: f.stdin, stdout: f.stdout });
    const inW = openWriter(f.stdin);
    const { child, exited } = runContainer('cat; echo done', io.stdio);
    io.afterStart();
    const out = readAll(outR);
    if (order === 'client first') await writeAndClose(inW, 'hello\n');
    else io.closeStdin();
    await sleep(200);
    t.equal(child.exitCode, null, `${order}: cat still reading`);
    if (order === 'client first') io.closeStdin();
    else await writeAndClose(inW, 'hello\n');
    t.equal(await exited, 0, `${order}: cat ended`);
    t.equal((await out).toString(), 'hello\ndone\n');
    await io.close();
  }
});

t.test('output written right before exit is all received, even with close() at exit', async (t) => {
  const dir = tempDir(t);
  const f = makeFifos(dir, 'c1', ['stdout']);
  const data = crypto.randomBytes(1024 * 1024);
  fs.writeFileSync(path.join(dir, 'payload'), data);
  const outR = openReader(f.stdout);
  const io = await open(t, { stdout: f.stdout });
  const { exited } = runContainer(`cat ${path.join(dir, 'payload')}; exit 3`, io.stdio);
  io.afterStart();
  // The client is slow: the container fills the FIFO and waits; then exits at once.
  await sleep(300);
  const out = readAll(outR);
  t.equal(await exited, 3);
  // The shim releases its side the moment the process is gone, with data still buffered.
  await io.close();
  const got = await out;
  t.equal(got.length, data.length, 'the whole megabyte');
  t.equal(sha256(got), sha256(data));
});

t.test('the container gets no SIGPIPE when the client goes away', async (t) => {
  const f = makeFifos(tempDir(t), 'c1', ['stdout']);
  const outR = openReader(f.stdout);
  const io = await open(t, { stdout: f.stdout });
  fs.closeSync(outR); // ctr killed before the container writes
  const { exited } = runContainer('echo still-alive; echo ok >&2; exit 0', [io.stdio[0], io.stdio[1], io.stdio[2]]);
  io.afterStart();
  t.equal(await exited, 0, 'the write succeeded (a reader remains: the container itself)');
  await io.close();
});

t.test('terminal=true never opens the stderr FIFO', async (t) => {
  const dir = tempDir(t);
  const f = makeFifos(dir, 'c1', ['stdin', 'stdout']);
  const outR = openReader(f.stdout);
  const missing = path.join(dir, 'c1-stderr'); // sent by the client, never created
  const spec = parseStdio({ stdin: f.stdin, stdout: f.stdout, stderr: missing, terminal: true });
  t.match(spec, { kind: 'fifo', stderr: null, terminal: true });
  const io = await openProcessIO(spec, ctx);
  t.equal(fdTarget(io.stdio[1]), f.stdout);
  t.equal(fdTarget(io.stdio[2]), '/dev/null');
  t.notOk(fs.existsSync(missing), 'not created either');
  await io.close();
  fs.closeSync(outR);
});

t.test('null IO and empty streams get /dev/null', async (t) => {
  const none = await open(t, {});
  t.same(none.stdio.map(fdTarget), ['/dev/null', '/dev/null', '/dev/null']);
  const f = makeFifos(tempDir(t), 'c1', ['stdout']);
  const outR = openReader(f.stdout);
  const some = await open(t, { stdout: f.stdout });
  t.same(some.stdio.map(fdTarget), ['/dev/null', f.stdout, '/dev/null']);
  // The container's fds are blocking (a non-blocking stdin would give it EAGAIN).
  for (const fd of some.stdio) t.equal(isNonBlocking(fd), false, `fd ${fd} is blocking`);
  await none.close();
  await some.close();
  fs.closeSync(outR);
});

t.test('a blocking stdin: the container waits for data instead of failing with EAGAIN', async (t) => {
  const f = makeFifos(tempDir(t), 'c1', ['stdin', 'stdout']);
  const outR = openReader(f.stdout);
  const io = await open(t, { stdin: f.stdin, stdout: f.stdout });
  const inW = openWriter(f.stdin);
  const { exited } = runContainer('read line; echo "got $line"', io.stdio);
  io.afterStart();
  const out = readAll(outR);
  await sleep(200); // the container is blocked in read(2) now
  await writeAndClose(inW, 'late\n');
  t.equal(await exited, 0);
  t.equal((await out).toString(), 'got late\n');
  await io.close();
});

t.test('file:// appends stdout and stderr to one file, made with its parents', async (t) => {
  const dir = tempDir(t);
  const log = path.join(dir, 'a', 'b', 'c.log');
  for (const word of ['one', 'two']) {
    const io = await open(t, { stdout: `file://${log}`, stderr: `file://${log}` });
    t.equal(fdTarget(io.stdio[0]), '/dev/null', 'stdin is /dev/null');
    t.equal(io.stdio[1], io.stdio[2], 'one fd for both streams');
    const { exited } = runContainer(`echo ${word}-out; echo ${word}-err >&2`, io.stdio);
    io.afterStart();
    t.equal(await exited, 0);
    await io.close();
  }
  t.equal(fs.readFileSync(log, 'utf8'), 'one-out\none-err\ntwo-out\ntwo-err\n');
  const umask = process.umask();
  t.equal(fs.statSync(log).mode & 0o777, 0o644 & ~umask);
});

t.test('errors: a missing FIFO is InvalidArgument and leaks nothing', async (t) => {
  const dir = tempDir(t);
  const f = makeFifos(dir, 'c1', ['stdin']);
  const before = openFdCount();
  await t.rejects(openProcessIO(parseStdio({ stdin: f.stdin, stdout: path.join(dir, 'nope'), stderr: '', terminal: false }), ctx), {
    kind: 'invalid-argument',
    message: /stdout fifo .*nope: ENOENT/,
  });
  t.equal(openFdCount(), before, 'the stdin fds opened first were closed again');
});

t.test('no fd leaks over a full open/start/close cycle', async (t) => {
  const dir = tempDir(t);
  const cycle = async (n: number) => {
    const f = makeFifos(dir, `c${n}`);
    const outR = openReader(f.stdout);
    const errR = openReader(f.stderr);
    const io = await openProcessIO(parseStdio({ ...f, terminal: false }), ctx);
    const inW = openWriter(f.stdin);
    const { exited } = runContainer('cat; echo x >&2', io.stdio);
    io.afterStart();
    const out = readAll(outR);
    const err = readAll(errR);
    await writeAndClose(inW, 'y');
    io.closeStdin();
    await exited;
    await io.close();
    await Promise.all([out, err]);
    const file = await openProcessIO(parseStdio({ stdin: '', stdout: `file://${dir}/log`, stderr: '', terminal: false }), ctx);
    await file.close();
    const none = await openProcessIO(parseStdio({ stdin: '', stdout: '', stderr: '', terminal: false }), ctx);
    none.afterStart();
    await none.close();
  };
  await cycle(0); // warm up: Node opens some fds of its own on first use
  await sleep(50);
  const before = openFdCount();
  for (let i = 1; i <= 3; i++) await cycle(i);
  await sleep(50);
  t.equal(openFdCount(), before, 'as many fds open as before');
});

/** How often each fd went to fs.closeSync from now on (FdSet closes through it). */
function countCloses(t: Test): Map<number, number> & { real: typeof fs.closeSync } {
  const real = fs.closeSync;
  const closes = Object.assign(new Map<number, number>(), { real });
  fs.closeSync = (fd: number) => {
    closes.set(fd, (closes.get(fd) ?? 0) + 1);
    real(fd);
  };
  t.teardown(() => {
    fs.closeSync = real;
  });
  return closes;
}

t.test('afterStart, closeStdin and close are idempotent: each fd is closed exactly once', async (t) => {
  // A second close of a number the kernel handed out again meanwhile would close someone
  // else's fd. After every call, "victims" are opened (the kernel hands out the lowest free
  // numbers, so they take the numbers just freed); none of them may ever be closed.
  const orders = {
    'the daemon\'s order': ['afterStart', 'afterStart', 'closeStdin', 'closeStdin', 'close', 'close'],
    'close first (a failed start)': ['close', 'close', 'afterStart', 'closeStdin'],
  } as const;
  for (const [name, calls] of Object.entries(orders)) {
    const f = makeFifos(tempDir(t), 'c1', ['stdin', 'stdout']);
    const outR = openReader(f.stdout);
    const io = await openProcessIO(parseStdio({ stdin: f.stdin, stdout: f.stdout, stderr: '', terminal: false }), ctx);
    const before = new Set(fs.readdirSync('/proc/self/fd').map(Number));
    const closes = countCloses(t);
    const victims: number[] = [];
    for (const call of calls) {
      const seen = closes.size;
      if (call === 'close') await io.close();
      else io[call]();
      const freed = [...closes.keys()].slice(seen).sort((x, y) => x - y);
      for (const fd of freed) {
        t.ok(before.has(fd), `${name}: ${call} closed fd ${fd}, one of ours`);
        const v = fs.openSync('/dev/zero', 'r');
        victims.push(v);
        t.equal(v, fd, `${name}: fd ${fd} is reused by a victim`);
      }
    }
    t.ok(closes.size >= 3, `${name}: the container's fds and the stdin keep-alive were all closed (${closes.size})`);
    t.same([...closes.entries()].filter(([, n]) => n !== 1), [], `${name}: no fd closed twice`);
    for (const v of victims) t.equal(fdTarget(v), '/dev/zero', `${name}: victim fd ${v} still open`);
    fs.closeSync = closes.real;
    for (const v of victims) fs.closeSync(v);
    fs.closeSync(outR);
  }
});

t.test('file:// under a path that cannot be a directory: InvalidArgument', async (t) => {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'plain'), '');
  await t.rejects(openProcessIO(parseStdio({ stdin: '', stdout: `file://${dir}/plain/sub/log`, stderr: '', terminal: false }), ctx), {
    kind: 'invalid-argument',
    message: /cannot create log directory .*plain\/sub: ENOTDIR/,
  });
});
