/**
 * A pod network for sides whose pods are not host-network (a `sandboxer = "shim"` handler
 * needs one: a host-network pod there panics containerd 2.1.9): the tests' CNI config
 * (ptp + host-local + loopback from Debian's plugins), then a wait until CRI reports
 * NetworkReady, so that no timed pod pays for containerd loading it.
 */
import type { CriEnv } from '../../test/e2e/lib/cri-env.js';
import { writeCniConfig } from '../../test/e2e/lib/cri-sandbox.js';
import { sleep } from '../lib/stats.js';

export async function enablePodNetwork(env: CriEnv, timeoutMs = 30_000): Promise<void> {
  writeCniConfig(env, '10.244.78.0/24');
  const end = Date.now() + timeoutMs;
  for (;;) {
    const st = await env.cri.status();
    if (st.status?.conditions.find((c) => c.type === 'NetworkReady')?.status) return;
    if (Date.now() > end) throw new Error(`CRI NetworkReady still false ${timeoutMs} ms after writing the CNI config`);
    await sleep(100);
  }
}
