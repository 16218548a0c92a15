import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
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

for (const usePidfd of [true, false]) {
  t.test(`resolves when a foreign process ends (${usePidfd ? 'pidfd' : '/proc polling'})`, async (t) => {
    const { pid, closed } = await notOurChild(t, 0.3);
    t.not(readProcStat(pid)?.ppid, process.pid);
    const started = Date.now();
    await processGone(pid, { usePidfd, pollIntervalMs: 20 });
    t.ok(Date.now() - started >= 150, 'not before it ended');
    const st = readProcStat(pid);
    t.ok(!st || st.state === 'Z', 'gone, or a zombie awaiting its parent');
    await closed;
  });

  t.test(`abort (${usePidfd ? 'pidfd' : '/proc polling'})`, async (t) => {
    const { pid } = await notOurChild(t, 30);
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('enough')), 50);
    await t.rejects(processGone(pid, { usePidfd, signal: ac.signal }), /enough/);
  });
}

t.test('a pid that does not exist is gone already', async (t) => {
  await processGone(4_000_000);
  await processGone(4_000_000, { usePidfd: false });
  t.pass();
});
