/**
 * Nothing we start keeps containerd's stdout or stderr open: a supervisor waiting for
 * containerd's output to end must not wait for our daemon to idle out. The daemon's own
 * output goes to its log.
 */
import t from 'tap';
import fs from 'node:fs';
import { requireE2E } from '../lib/prereq.js';
import { RUNTIME, daemonPids, switchyardContainerd } from '../lib/switchyard.js';
import { waitFor } from '../lib/wait.js';

/** "dev:ino" of what a process's fd points at, or undefined. */
const target = (pid: number | string, fd: number | string): string | undefined => {
  try {
    const st = fs.statSync(`/proc/${pid}/fd/${fd}`);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
};

/** Every process but ours holding an fd to one of `targets`. */
const holders = (targets: Set<string>): number[] => {
  const out: number[] = [];
  for (const pid of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    if (Number(pid) === process.pid) continue;
    let fds: string[] = [];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    if (fds.some((fd) => targets.has(target(pid, fd) ?? ''))) out.push(Number(pid));
  }
  return out;
};

if (requireE2E(t)) {
  const env = switchyardContainerd(t);

  t.test("after tasks ran, only containerd holds its stdout and stderr; the daemon's go to its log", async (t) => {
    await env.c.ctr(['run', '-d', '--runtime', RUNTIME, env.ref, 'det1', 'sleep', '1000']);
    t.ok(await waitFor(async () => /det1\s+\d+\s+RUNNING/.test((await env.c.ctr(['task', 'ls'])).stdout)), 'running');
    const ran = await env.c.ctr(['run', '--rm', '--runtime', RUNTIME, env.ref, 'det2', 'sh', '-c', 'echo out; echo err >&2']);
    t.equal(ran.stdout.trim(), 'out');
    const ex = await env.c.ctr(['task', 'exec', '--exec-id', 'e1', 'det1', 'true'], { reject: false });
    t.equal(ex.exitCode, 0);

    const containerd = env.c.pid!;
    const targets = new Set([target(containerd, 1), target(containerd, 2)].filter((x): x is string => !!x));
    t.ok(targets.size > 0, "containerd's stdout and stderr");
    const daemons = daemonPids(env.c);
    t.equal(daemons.length, 1, 'one daemon serves the namespace');
    t.same(holders(targets).filter((p) => p !== containerd), [], "no process but containerd holds containerd's stdout or stderr");
    for (const pid of daemons) {
      t.equal(fs.readlinkSync(`/proc/${pid}/fd/0`), '/dev/null', 'daemon stdin: /dev/null');
      t.match(fs.readlinkSync(`/proc/${pid}/fd/1`), /\/logs\/[0-9a-f]+\.log$/, "daemon stdout: its own log");
      t.match(fs.readlinkSync(`/proc/${pid}/fd/2`), /\/logs\/[0-9a-f]+\.log$/, "daemon stderr: its own log");
    }
    await env.c.ctr(['task', 'kill', '-s', 'SIGKILL', 'det1']);
    await waitFor(async () => /det1\s+\d+\s+STOPPED/.test((await env.c.ctr(['task', 'ls'])).stdout));
    await env.c.ctr(['task', 'delete', 'det1']);
    await env.c.ctr(['container', 'delete', 'det1']);
  });
}
