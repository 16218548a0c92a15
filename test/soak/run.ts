/** make soak: 1,000 churn cycles (SOAK_CYCLES to change) against a private containerd; prints the footprint. */
import { startContainerd } from '../e2e/lib/containerd.js';
import { importBusybox } from '../e2e/lib/image.js';
import { RUNC_ROOT, shimPathOptions } from '../e2e/lib/switchyard.js';
import { churn } from './churn.js';
import path from 'node:path';

const n = Number(process.argv[2] ?? process.env.SOAK_CYCLES ?? 1000);
const c = await startContainerd({ ...shimPathOptions() });
try {
  c.addRuntimeRoot(path.join(RUNC_ROOT, c.namespace));
  const ref = await importBusybox(c);
  const r = await churn(c, ref, n, (s) => console.log(s));
  console.log(`cycles ${r.cycles} in ${r.seconds.toFixed(0)} s (create, start, exec, kill, delete each)`);
  for (const k of ['heapKiB', 'fds', 'rssKiB', 'children', 'mounts'] as const) console.log(`${k.padEnd(9)} before ${String(r.before[k]).padStart(8)}  after ${String(r.after[k]).padStart(8)}`);
  // The heap may grow by the call log's ring (4,096 calls, a few MiB) and no more.
  const leaked = r.after.heapKiB > r.before.heapKiB + 8192 || r.after.fds !== r.before.fds || r.after.children !== r.before.children || r.after.mounts !== r.before.mounts;
  process.exitCode = leaked ? 1 : 0;
} finally {
  await c.stop();
}
