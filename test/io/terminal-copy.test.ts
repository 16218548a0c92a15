import t from 'tap';
import { fdCountSettled, onTerminal, watchOutput, setup, settlesWithin } from './pty-fixtures.js';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startConsoleCopy } from '../../src/io/terminal-copy.js';
import { openPty } from '../../src/sys/tty.js';
import { tempDir } from '../helpers/tmp.js';
import { openFdCount, sha256, writeAndClose } from './client.js';

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
