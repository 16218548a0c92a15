import t from 'tap';
import { requireE2E } from './lib/prereq.js';
import { switchyardContainerd } from './lib/switchyard.js';
import { churn } from '../soak/churn.js';

if (requireE2E(t)) {
  const env = switchyardContainerd(t);
  t.test('a short churn: fds, children and mounts return to their baseline', async (t) => {
    const r = await churn(env.c, env.ref, 15);
    t.comment(`before ${JSON.stringify(r.before)} after ${JSON.stringify(r.after)} (${r.seconds.toFixed(1)} s)`);
    t.equal(r.after.fds, r.before.fds, 'open fds');
    t.equal(r.after.children, r.before.children, 'child processes');
    t.equal(r.after.mounts, r.before.mounts, 'mounts');
    // The heap settles after a GC; a leak of a task's worth of objects per cycle would not.
    t.ok(r.after.heapKiB < r.before.heapKiB + 4096, `heap ${r.before.heapKiB} KiB -> ${r.after.heapKiB} KiB`);
  });
}
