import t from 'tap';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { lock, tryLock } from '../../src/sys/lock.js';

const name = () => `switchyard-test/${crypto.randomBytes(8).toString('hex')}`;

t.test('one holder at a time; release frees it', async (t) => {
  const n = name();
  const a = await tryLock(n);
  t.ok(a, 'first taker holds it');
  t.equal(await tryLock(n), undefined, 'second taker is refused');
  await a!.release();
  const b = await tryLock(n);
  t.ok(b, 'free again after release');
  await b!.release();
});

t.test('lock waits for the holder, and times out when it never lets go', async (t) => {
  const n = name();
  const a = (await tryLock(n))!;
  setTimeout(() => void a.release(), 100);
  const b = await lock(n, 5000);
  t.pass('taken after the holder released it');
  await t.rejects(lock(n, 50), /still held/);
  await b.release();
});

t.test('a holder that dies frees the lock: nothing stale is left behind', async (t) => {
  const n = name();
  // Another process takes the lock and is killed without releasing it.
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen({ path: '\\0' + ${JSON.stringify(n)} }, () => console.log('held'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((r) => child.stdout!.once('data', () => r()));
  t.equal(await tryLock(n), undefined, 'held by the child');
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const held = await lock(n, 2000);
  t.pass('free once the holder died');
  await held.release();
});
