import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { processGone } from '../../src/sys/process-gone.js';
import { readProcStat } from '../../src/sys/proc.js';

/** A sleep whose parent is a waiting sh, not us: waitpid cannot see it. */
async function notOurChild(t: Test, seconds: number) {
  const sh = spawn('sh', ['-c', `sleep ${seconds} </dev/null >/dev/null 2>&1 & echo $!; wait`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => sh.kill('SIGKILL'));
  const closed = once(sh, 'close');
  const [line] = (await once(sh.stdout.setEncoding('utf8'), 'data')) as [string];
  const pid = Number(line.trim());
  t.teardown(() => {
    if (readProcStat(pid)?.ppid === sh.pid) process.kill(pid, 'SIGKILL');
  });
  return { pid, closed };
}

/** Whether p has settled once every callback already queued has run. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true), () => (done = true));
  await new Promise((r) => setImmediate(r));
  return done;
}

for (const usePidfd of [true, false]) {
  const how = usePidfd ? 'pidfd' : '/proc polling';

  t.test(`resolves when a foreign process ends, not before (${how})`, async (t) => {
    const { pid, closed } = await notOurChild(t, 30);
    t.not(readProcStat(pid)?.ppid, process.pid, 'not our child: waitpid cannot see it');
    const gone = processGone(pid, { usePidfd, pollIntervalMs: 20 });
    // Several poll intervals with the process alive: still waiting.
    await sleep(100);
    const alive = readProcStat(pid);
    t.ok(alive && alive.state !== 'Z', 'the process is still running');
    t.notOk(await settled(gone), 'pending while the process runs');
    process.kill(pid, 'SIGKILL');
    await gone;
    const st = readProcStat(pid);
    t.ok(!st || st.state === 'Z', 'gone, or a zombie awaiting its parent');
    await closed;
  });

  t.test(`abort (${how})`, async (t) => {
    const { pid } = await notOurChild(t, 30);
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('enough')), 50);
    await t.rejects(processGone(pid, { usePidfd, signal: ac.signal }), /enough/);
    t.ok(readProcStat(pid), 'the process itself is untouched');
  });
}

t.test('a pid that does not exist is gone already: settled at once, no poll awaited', async (t) => {
  const pid = 4_000_000;
  t.equal(readProcStat(pid), null, 'premise: no such process');
  // An hour between polls and no ref on the event loop: only an immediate answer settles.
  const viaPidfd = processGone(pid, { pollIntervalMs: 3_600_000, ref: false });
  const viaProc = processGone(pid, { usePidfd: false, pollIntervalMs: 3_600_000, ref: false });
  t.ok(await settled(viaPidfd), 'pidfd_open says ESRCH: resolved');
  t.ok(await settled(viaProc), '/proc has no such pid: resolved');
  await t.resolves(viaPidfd);
  await t.resolves(viaProc);
});
