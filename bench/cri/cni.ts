/**
 * A pod network for sides whose pods are not host-network (a `sandboxer = "shim"` handler
 * needs one: a host-network pod there panics containerd 2.1.9): Debian's CNI plugins
 * (ptp + host-local, /usr/lib/cni) configured in the harness's conf dir, which containerd
 * watches; pods wait until CRI reports NetworkReady.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CriEnv } from '../../test/e2e/lib/cri-env.js';
import { sleep } from '../lib/stats.js';

export async function enablePodNetwork(env: CriEnv, timeoutMs = 30_000): Promise<void> {
  const confDir = path.join(env.c.dir, 'cni', 'net.d');
  fs.mkdirSync(confDir, { recursive: true });
  fs.writeFileSync(
    path.join(confDir, '10-switchyard-bench.conflist'),
    JSON.stringify({
      cniVersion: '0.4.0',
      name: 'switchyard-bench',
      plugins: [{ type: 'ptp', ipMasq: false, ipam: { type: 'host-local', subnet: '10.244.78.0/24', dataDir: path.join(env.c.dir, 'cni', 'ipam') } }],
    }),
  );
  const end = Date.now() + timeoutMs;
  for (;;) {
    const st = await env.cri.status();
    if (st.status?.conditions.find((c) => c.type === 'NetworkReady')?.status) return;
    if (Date.now() > end) throw new Error(`CRI NetworkReady still false ${timeoutMs} ms after writing ${confDir}`);
    await sleep(100);
  }
}
