/** Fixtures for reaper tests: real orphans, reparented to this (subreaper) test process. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Test } from 'tap';
import { readProcStat } from '../../src/sys/proc.js';
import { waitpidNoHang } from '../../src/sys/process.js';

/**
 * Run each command in the background of a sh that prints their pids and exits at once,
 * so they become orphans; resolve with their pids once sh is gone. A simple command run
 * with & is exec'ed straight in the forked child, so the pid is the command's own.
 * Commands must outlive sh by a little (sleep 0.1 first): sh may reap a background job
 * that exits while it still runs, and then the pid was never ours.
 * The teardown kills and reaps whatever is left.
 */
export async function spawnOrphans(t: Test, commands: string[]): Promise<number[]> {
  const script = commands.map((c) => `${c} </dev/null >/dev/null 2>&1 & echo $!`).join('\n');
  const sh = spawn('sh', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  sh.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const [code] = await once(sh, 'close');
  if (code !== 0) throw new Error(`sh exited ${code}`);
  const pids = out.trim().split('\n').map(Number);
  t.teardown(() => cleanup(pids));
  return pids;
}

export async function spawnOrphan(t: Test, command: string): Promise<number> {
  return (await spawnOrphans(t, [command]))[0]!;
}

/** Wait until pid is a zombie: exited, its status not yet collected. */
export async function untilZombie(pid: number, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (readProcStat(pid)?.state !== 'Z') {
    if (Date.now() > end) throw new Error(`pid ${pid} did not exit within ${timeoutMs} ms`);
    await sleep(10);
  }
}

function cleanup(pids: number[]): void {
  for (const pid of pids) {
    // Only while still our child: a reaped pid may already name someone else's process.
    if (readProcStat(pid)?.ppid !== process.pid) continue;
    process.kill(pid, 'SIGKILL');
    // Collect it if it is still ours; a SIGKILLed process exits almost at once.
    for (let i = 0; i < 100; i++) {
      try {
        if (waitpidNoHang(pid)) break;
      } catch {
        break; // not our child (any more)
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
}
