import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { Reaper, type ExitInfo, type ReaperOptions } from '../../src/sys/reaper.js';
import { readProcStat } from '../../src/sys/proc.js';
import { spawnOrphan, spawnOrphans, untilZombie } from './orphans.js';

function reaper(t: Test, opts: ReaperOptions = {}): Reaper {
  const r = new Reaper(opts);
  r.start();
  t.teardown(() => r.stop());
  return r;
}

t.test('an orphan is reparented to us and its exit code collected', async (t) => {
  const r = reaper(t);
  const pid = await spawnOrphan(t, `sh -c 'sleep 0.2; exit 7'`);
  t.equal(readProcStat(pid)?.ppid, process.pid, 'reparented to the subreaper');
  const info = await r.watch(pid);
  t.match(info, { pid, status: 7, unknownStatus: false });
  t.type(info.exitedAt, Date);
  t.same(r.watching, []);
});

t.test('a signal death is 128 + signal', async (t) => {
  const r = reaper(t);
  const [killed, termed] = await spawnOrphans(t, ['sleep 30', 'sleep 30']);
  t.equal(fs.readFileSync(`/proc/${killed}/comm`, 'utf8').trim(), 'sleep', 'the pid is the sleep itself');
  const a = r.watch(killed!);
  const b = r.watch(termed!);
  process.kill(killed!, 'SIGKILL');
  process.kill(termed!, 'SIGTERM');
  t.equal((await a).status, 137);
  t.equal((await b).status, 143);
});

t.test('an orphan that exited before watch() is still collected', async (t) => {
  const r = reaper(t, { sweepDelayMs: 0 });
  const pid = await spawnOrphan(t, `sh -c 'sleep 0.1; exit 5'`);
  await untilZombie(pid);
  t.match(await r.watch(pid), { pid, status: 5, unknownStatus: false });
});

t.test('watching the same pid twice gives the same exit', async (t) => {
  const r = reaper(t);
  const pid = await spawnOrphan(t, `sh -c 'sleep 0.1; exit 4'`);
  const [a, b] = await Promise.all([r.watch(pid), r.watch(pid)]);
  t.equal(a, b);
  t.equal(a.status, 4);
});

t.test('one SIGCHLD for many exits: every watched pid is collected', async (t) => {
  const r = reaper(t);
  const n = 30;
  const cmds = Array.from({ length: n }, (_, i) => `sh -c 'sleep 0.3; exit ${i + 1}'`);
  const pids = await spawnOrphans(t, cmds);
  const infos = await Promise.all(pids.map((pid) => r.watch(pid)));
  t.same(
    infos.map((i) => i.status),
    cmds.map((_, i) => i + 1),
  );
});

t.test('children of libuv keep their exit codes while orphans are reaped', async (t) => {
  // An aggressive sweep with no exclude list: the sweep must still leave libuv's zombies.
  const orphans: ExitInfo[] = [];
  const r = reaper(t, { sweepDelayMs: 2, onOrphan: (i) => orphans.push(i) });
  for (let round = 0; round < 3; round++) {
    const pids = await spawnOrphans(
      t,
      // Past sh by half a second: an orphan that exits while sh still runs is sh's to reap
      // (its status then never ours, 255), and a loaded CI machine delays sh that long.
      Array.from({ length: 20 }, (_, i) => `sh -c 'sleep 0.5${i % 10}; exit 9'`),
    );
    const watched = pids.slice(0, 10).map((pid) => r.watch(pid));
    const children = Array.from({ length: 20 }, () => execa('sh', ['-c', 'exit 3'], { reject: false, timeout: 10_000 }));
    const results = await Promise.all(children);
    t.same(
      results.map((c) => c.exitCode),
      Array(20).fill(3),
      `round ${round}: every execa child got its own status`,
    );
    t.same((await Promise.all(watched)).map((i) => i.status), Array(10).fill(9));
    // The unwatched half is swept up.
    for (const pid of pids.slice(10)) if (readProcStat(pid)) await untilGone(pid);
  }
  t.ok(orphans.length >= 30, `the sweep reaped the unwatched orphans (${orphans.length})`);
  t.ok(orphans.every((i) => i.status === 9));
});

t.test('the sweep remembers what it reaped for a late watch()', async (t) => {
  const seen: ExitInfo[] = [];
  const r = reaper(t, { sweepDelayMs: 0, onOrphan: (i) => seen.push(i) });
  const pid = await spawnOrphan(t, `sh -c 'sleep 0.1; exit 9'`);
  await untilZombie(pid);
  t.same(r.sweepOrphans(undefined, false), [], 'first sighting: left for the next sweep');
  const swept = r.sweepOrphans();
  t.match(swept, [{ pid, status: 9 }], 'second sighting: reaped');
  t.same(seen, swept);
  t.equal(readProcStat(pid), null, 'no zombie left');
  t.match(await r.watch(pid), { pid, status: 9, unknownStatus: false });
});

t.test('the sweep skips excluded and watched pids', async (t) => {
  const r = reaper(t, { sweepDelayMs: 0 });
  const [excluded, watched] = await spawnOrphans(t, [`sh -c 'sleep 0.1; exit 1'`, `sh -c 'sleep 0.4; exit 2'`]);
  await untilZombie(excluded!);
  const w = r.watch(watched!);
  t.same(r.sweepOrphans((pid) => pid === excluded, true), []);
  t.equal(readProcStat(excluded!)?.state, 'Z');
  t.equal((await w).status, 2);
  t.match(r.sweepOrphans(undefined, true), [{ pid: excluded, status: 1 }]);
});

t.test('a pid that is not our child resolves with 255 and unknownStatus when it goes', async (t) => {
  const r = reaper(t);
  // The sleep's parent is the waiting sh, not us.
  const sh = spawn('sh', ['-c', 'sleep 0.3 </dev/null >/dev/null 2>&1 & echo $!; wait'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => sh.kill('SIGKILL'));
  const closed = once(sh, 'close');
  const [line] = (await once(sh.stdout.setEncoding('utf8'), 'data')) as [string];
  const pid = Number(line.trim());
  t.not(readProcStat(pid)?.ppid, process.pid);
  const started = Date.now();
  const info = await r.watch(pid);
  t.match(info, { pid, status: 255, unknownStatus: true });
  t.ok(Date.now() - started >= 150, 'not before it exited');
  t.equal((await closed)[0], 0, 'its parent reaped it, not us');
});

t.test('a pid that never existed resolves at once, unknown', async (t) => {
  const r = reaper(t);
  t.match(await r.watch(4_000_000), { status: 255, unknownStatus: true });
});

t.test('stop() rejects pending watches; watch() needs start()', async (t) => {
  const r = new Reaper();
  t.throws(() => r.watch(1), /before start/);
  r.start();
  const pid = await spawnOrphan(t, 'sleep 30');
  const p = r.watch(pid);
  r.stop();
  await t.rejects(p, /reaper stopped/);
});

t.test('a pending watch keeps the process alive', async (t) => {
  // In a process of its own: the orphan is no libuv handle and SIGCHLD listeners are
  // unref'd, so without the reaper's keep-alive Node would exit before the status comes.
  const reaperJs = fileURLToPath(new URL('../../src/sys/reaper.js', import.meta.url));
  const script = `
    import { Reaper } from ${JSON.stringify(reaperJs)};
    import { spawnSync } from 'node:child_process';
    const r = new Reaper(); r.start();
    const pid = Number(spawnSync('sh', ['-c', "sh -c 'sleep 0.3; exit 6' >/dev/null 2>&1 & echo $!"]).stdout);
    r.watch(pid).then((i) => { console.log(i.status); r.stop(); });
  `;
  const { stdout, exitCode } = await execa('node', ['--input-type=module', '-e', script], { reject: false, timeout: 10_000 });
  t.equal(exitCode, 0);
  t.equal(stdout.trim(), '6');
});

t.test('collect: an orphan reaped as it ends, without a sweep, its status kept for a later watch()', async (t) => {
  // The sweep off: only collect can reap it. A zombie still answers kill(pid, 0), which is
  // how runsc delete waits for a gofer.
  const r = reaper(t, { sweepDelayMs: 0 });
  const pid = await spawnOrphan(t, `sh -c 'sleep 0.2; exit 5'`);
  r.collect(pid);
  r.collect(pid);
  t.same(r.watching, [pid], 'collected twice, watched once');
  await untilGone(pid);
  t.equal(readProcStat(pid), null, 'no zombie: reaped on its own SIGCHLD');
  t.match(await r.watch(pid), { pid, status: 5, unknownStatus: false }, 'a later watch() gets its status');
});

async function untilGone(pid: number): Promise<void> {
  const end = Date.now() + 5000;
  while (readProcStat(pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
}
