import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { cgroupMounts } from '../../src/cgroups/mounts.js';
import { watchOom } from '../../src/cgroups/oom.js';
import { ErrorKind } from '../../src/errors/index.js';
import { tempDir } from '../helpers/tmp.js';
import { SCRATCH_PREFIX, scratchV1, until, v1Unavailable } from './scratch.js';

const noV1Memory = v1Unavailable(['memory']);

t.test('v1: a process allocating past memory.limit_in_bytes fires onOom', { skip: noV1Memory }, async (t) => {
  const s = scratchV1(t, ['memory']);
  const dir = s.cgroup.paths.memory!;
  fs.writeFileSync(path.join(dir, 'memory.limit_in_bytes'), String(16 << 20));
  let ooms = 0;
  const errors: unknown[] = [];
  const w = watchOom(s.cgroup, () => ooms++, { onError: (e) => errors.push(e) });
  t.teardown(() => w.close());

  // ~100 MB held in a shell variable, inside a 16 MiB cgroup without swap to escape to.
  const child = s.run(`a=$(head -c 100000000 /dev/zero | tr '\\0' x)`);
  const exit = await new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_code, sig) => r(sig)));
  await until('onOom', () => ooms > 0);
  t.ok(ooms >= 1, `onOom called ${ooms} time(s); the child ended with ${exit}`);
  t.match(fs.readFileSync(path.join(dir, 'memory.oom_control'), 'utf8'), /oom_kill [1-9]/, 'the kernel killed something');
  t.same(errors, []);

  // Removing the cgroup ends the watch by itself, without a false OOM.
  const before = ooms;
  await until('the cgroup to empty', () => fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').trim() === '');
  fs.rmdirSync(dir);
  t.equal(await w.done, 'gone');
  t.equal(ooms, before, 'removal is not an OOM');
});

t.test('v1: close() ends a quiet watch', { skip: noV1Memory }, async (t) => {
  const s = scratchV1(t, ['memory']);
  let ooms = 0;
  const w = watchOom(s.cgroup, () => ooms++);
  await sleep(50);
  w.close();
  w.close();
  t.equal(await w.done, 'closed');
  t.equal(ooms, 0);
});

t.test('v1: setup errors', { skip: noV1Memory }, async (t) => {
  const memoryMount = cgroupMounts().find((m) => m.version === 1 && m.controllers.includes('memory'))!;
  const gone = path.join(memoryMount.mountPoint, `${SCRATCH_PREFIX}never-${crypto.randomBytes(4).toString('hex')}`);
  t.throws(() => watchOom({ version: 1, paths: { memory: gone } }, () => {}), { kind: ErrorKind.NotFound, message: gone });
  t.throws(() => watchOom({ version: 1, paths: { cpu: '/x' } }, () => {}), { kind: ErrorKind.FailedPrecondition, message: /no v1 memory controller/ });
});

/** Stand-ins for a v2 cgroup's event files; fs.watch sees their writes as the kernel's. */
function fakeV2(t: Test) {
  const dir = tempDir(t);
  const events = (oomKill: number) => fs.writeFileSync(path.join(dir, 'memory.events'), `low 0\nhigh 0\nmax 3\noom ${oomKill}\noom_kill ${oomKill}\noom_group_kill 0\n`);
  const populated = (on: boolean) => fs.writeFileSync(path.join(dir, 'cgroup.events'), `populated ${on ? 1 : 0}\nfrozen 0\n`);
  events(0);
  populated(true);
  return { dir, events, populated };
}

t.test('v2: onOom on each rise of oom_kill, then the end once the cgroup empties', async (t) => {
  const f = fakeV2(t);
  let ooms = 0;
  const w = watchOom({ version: 2, path: f.dir }, () => ooms++);
  t.teardown(() => w.close());
  await sleep(30);
  t.equal(ooms, 0, 'the count at start is not an OOM');
  f.events(1);
  await until('first OOM', () => ooms === 1);
  f.events(1);
  await sleep(50);
  t.equal(ooms, 1, 'a rewrite without a new kill is no OOM');
  f.events(3);
  await until('second OOM', () => ooms === 2);
  f.events(4);
  f.populated(false);
  t.equal(await w.done, 'gone');
  t.equal(ooms, 3, 'the kill that emptied the cgroup is still reported');
});

t.test('v2: close(), and a throwing callback does not stop the watch', async (t) => {
  const f = fakeV2(t);
  const errors: unknown[] = [];
  let calls = 0;
  const w = watchOom({ version: 2, path: f.dir }, () => {
    calls++;
    throw new Error('listener bug');
  }, { onError: (e) => errors.push(e) });
  f.events(1);
  await until('the callback', () => calls === 1);
  f.events(2);
  await until('the callback again', () => calls === 2);
  t.equal(errors.length, 2);
  w.close();
  t.equal(await w.done, 'closed');
});

t.test('v2: the baseline is the count at setup, not zero', async (t) => {
  const f = fakeV2(t);
  f.events(2);
  let ooms = 0;
  const w = watchOom({ version: 2, path: f.dir }, () => ooms++);
  t.teardown(() => w.close());
  f.populated(true);
  await sleep(50);
  t.equal(ooms, 0);
  f.events(5);
  await until('OOM', () => ooms === 1);
});

t.test('v2: setup errors', async (t) => {
  const dir = tempDir(t);
  t.throws(() => watchOom({ version: 2, path: dir }, () => {}), { kind: ErrorKind.FailedPrecondition, message: /memory controller is not enabled/ });
  t.throws(() => watchOom({ version: 2, path: path.join(dir, 'gone') }, () => {}), { kind: ErrorKind.NotFound, message: /does not exist/ });
});

t.test('v2: a real controller-less cgroup2 directory has no memory.events', async (t) => {
  const unified = cgroupMounts().find((m) => m.version === 2 && m.root === '/');
  if (!unified || process.getuid?.() !== 0) return t.plan(0, 'no writable cgroup2 mount');
  const dir = path.join(unified.mountPoint, `${SCRATCH_PREFIX}${crypto.randomBytes(6).toString('hex')}`);
  try {
    fs.mkdirSync(dir);
  } catch (err) {
    return t.plan(0, `cannot create a cgroup2 directory: ${(err as Error).message}`);
  }
  t.teardown(() => fs.rmdirSync(dir));
  if (fs.existsSync(path.join(dir, 'memory.events'))) return t.plan(0, 'memory controller enabled here');
  t.throws(() => watchOom({ version: 2, path: dir }, () => {}), { kind: ErrorKind.FailedPrecondition, message: dir });
});
