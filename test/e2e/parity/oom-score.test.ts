/**
 * The daemon's OOM score is chosen as runc-v2 chooses its shim's: the oom_score_adj of the
 * containerd that started it, plus one, so that under memory pressure the kernel kills a
 * daemon before containerd.
 */
import t from 'tap';
import fs from 'node:fs';
import { requireE2E } from '../lib/prereq.js';
import { RUNTIME, daemonPids, switchyardContainerd } from '../lib/switchyard.js';
import { waitFor } from '../lib/wait.js';

const score = (pid: number) => Number(fs.readFileSync(`/proc/${pid}/oom_score_adj`, 'utf8').trim());

if (requireE2E(t)) {
  const env = switchyardContainerd(t);

  t.test("daemon oom_score_adj = containerd's + 1", async (t) => {
    // A score of its own, unlike anything a process would inherit by accident. Raised, not
    // lowered: lowering needs CAP_SYS_RESOURCE, which a test machine may not grant.
    fs.writeFileSync(`/proc/${env.c.pid}/oom_score_adj`, '500\n');
    await env.c.ctr(['run', '-d', '--runtime', RUNTIME, env.ref, 'oom1', 'sleep', '1000']);
    t.ok(await waitFor(async () => /oom1\s+\d+\s+RUNNING/.test((await env.c.ctr(['task', 'ls'])).stdout)), 'running');
    const daemons = daemonPids(env.c);
    t.equal(daemons.length, 1, 'one daemon');
    t.equal(score(daemons[0]!), 501, 'containerd 500, the daemon 501 (inherited, it would be 500)');
    await env.c.ctr(['task', 'kill', '-s', 'SIGKILL', 'oom1']);
    await waitFor(async () => /oom1\s+\d+\s+STOPPED/.test((await env.c.ctr(['task', 'ls'])).stdout));
    await env.c.ctr(['task', 'delete', 'oom1']);
    await env.c.ctr(['container', 'delete', 'oom1']);
  });
}
