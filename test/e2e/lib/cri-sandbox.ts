// Pods through containerd 2.x's Sandbox API (`sandboxer = "shim"`): the handler, a CNI
// network (ptp + host-local + loopback from Debian's containernetworking-plugins, with
// addresses only inside namespaces the test made), and what to look at afterwards.
//
// A host-network pod on such a handler makes containerd 2.1.9 itself panic (a nil spec in
// NewBundle, fixed upstream in 2.3), so every pod here has its own network namespace.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { switchyardHandler, type CriEnv, type CriRuntimeHandler } from './cri-env.js';
import type { RunPodOptions } from './cri.js';
import { waitFor } from './wait.js';

export const SANDBOX_HANDLER = 'switchyard-sandbox';

/** A Switchyard handler whose pods containerd hands to the shim's Sandbox API. */
export function sandboxHandler(extra: Partial<CriRuntimeHandler> = {}): CriRuntimeHandler {
  return switchyardHandler({ ...extra, settings: { sandboxer: 'shim', ...(extra.settings ?? {}) } });
}

/** Writes the CNI config into the harness's conf_dir (containerd watches it). */
export function writeCniConfig(env: CriEnv, subnet: string): void {
  const confDir = path.join(env.c.dir, 'cni', 'net.d');
  fs.writeFileSync(
    path.join(confDir, '10-switchyard-sandbox.conflist'),
    JSON.stringify({
      cniVersion: '0.4.0',
      name: 'switchyard-sandbox',
      plugins: [{ type: 'ptp', ipMasq: false, ipam: { type: 'host-local', subnet, dataDir: path.join(env.c.dir, 'cni', 'ipam') } }, { type: 'loopback' }],
    }),
  );
}

/** RunPodSandbox with a pod network, retried until containerd has loaded the CNI config. */
export async function runNetworkPod(env: CriEnv, o: Omit<RunPodOptions, 'namespaceOptions'>): Promise<string> {
  let pod = '';
  let last: Error | undefined;
  const ok = await waitFor(
    async () => {
      try {
        pod = await env.cri.runPod({ ...o, namespaceOptions: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } });
        return true;
      } catch (e) {
        last = e as Error;
        // Only a CNI that is not loaded yet is worth another try.
        if (!/cni config|network plugin|not initialized/i.test(last.message)) throw last;
        return false;
      }
    },
    30_000,
    500,
  );
  if (!ok) throw last ?? new Error('RunPodSandbox did not succeed');
  return pod;
}

/** /proc/<pid>/ns/<ns> link text (net:[4026…]), or '' if the process is gone. */
export function nsOf(pid: number, ns: string): string {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/${ns}`);
  } catch {
    return '';
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
