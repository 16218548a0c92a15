import fs from 'node:fs';
import type { Test } from 'tap';
import { tempDir } from '../../helpers/tmp.js';
import path from 'node:path';
import { findProcessesReferencing } from './cleanup.js';
import { startContainerd, type ContainerdHandle, type ContainerdOptions } from './containerd.js';
import { importBusybox, repoRoot } from './image.js';
import { TtrpcClient } from '../../../src/transport/ttrpc/client.js';
import { debugService } from '../../../src/api/debug.js';
import { daemonCards } from '../../../src/cli/trace.js';

export const RUNTIME = 'io.containerd.switchyard.v2';
export const RUNC_ROOT = '/run/switchyard/runc';

/**
 * Puts this checkout's shim first on containerd's PATH, as `make install` would put it on
 * the node's, without touching /usr/local.
 */
export function shimPathOptions(): Pick<ContainerdOptions, 'pathPrefix'> {
  const bin = path.join(repoRoot(), '.cache', 'shim-bin');
  fs.mkdirSync(bin, { recursive: true });
  const link = path.join(bin, 'containerd-shim-switchyard-v2');
  fs.rmSync(link, { force: true });
  fs.symlinkSync(path.join(repoRoot(), 'bin', 'containerd-shim-switchyard-v2.cjs'), link);
  return { pathPrefix: [bin] };
}

/** Our daemon processes serving this containerd. */
export function daemonPids(c: Pick<ContainerdHandle, 'address'>): number[] {
  return findProcessesReferencing(c.address)
    .filter((p) => p.cmdline.some((a) => a.includes('containerd-shim-switchyard-v2')) && p.cmdline.includes('serve'))
    .map((p) => p.pid);
}

/**
 * A private containerd with Switchyard on its PATH and the busybox image imported, started
 * before a test file's subtests and stopped (with everything it left) after them.
 */
export function switchyardContainerd(t: { before(fn: () => Promise<void>): void; teardown(fn: () => unknown): void }): {
  readonly c: ContainerdHandle;
  readonly ref: string;
} {
  const env = { c: undefined as unknown as ContainerdHandle, ref: '' };
  t.before(async () => {
    env.c = await startContainerd({ ...shimPathOptions() });
    env.c.addRuntimeRoot(path.join(RUNC_ROOT, env.c.namespace));
    env.ref = await importBusybox(env.c);
  });
  t.teardown(() => env.c?.stop());
  return env;
}

/**
 * A stand-in runtime from test/e2e/fixtures installed as `binary` in a temp dir, and a
 * fresh namespace with busybox whose runtime state under `<dir>/<rootName>` is cleaned up
 * with containerd. The caller writes the config naming them.
 */
export async function fixtureRuntime(
  t: Test,
  c: ContainerdHandle,
  o: { fixture: string; binary: string; nsPrefix: string; rootName: string },
): Promise<{ dir: string; binary: string; ns: string; root: string; config: string }> {
  const dir = tempDir(t);
  const binary = path.join(dir, o.binary);
  fs.copyFileSync(path.join(repoRoot(), 'test/e2e/fixtures', o.fixture), binary);
  fs.chmodSync(binary, 0o755);
  const ns = c.newNamespace(o.nsPrefix);
  await importBusybox(c, ns);
  const root = path.join(dir, o.rootName);
  c.addRuntimeRoot(path.join(root, ns));
  return { dir, binary, ns, root, config: path.join(dir, 'config.toml') };
}

/**
 * The gRPC codes our daemons answered for a task's calls, from their Debug service: ctr of
 * containerd 2.x prints only the message of an error, so its code is asked of the shim.
 */
export async function shimCallCodes(c: Pick<ContainerdHandle, 'address'>, namespace: string, taskId: string, stateDir = '/run/switchyard'): Promise<{ method: string; code: number }[]> {
  const out: { method: string; code: number }[] = [];
  for (const card of daemonCards(stateDir).filter((d) => d.alive && d.address === c.address && d.namespace === namespace && d.protocol === 'ttrpc')) {
    const client = await TtrpcClient.connect(card.socket);
    try {
      const { calls } = await client.service(debugService).Calls({ after: 0, max: 0 });
      for (const call of calls ?? []) if (call.taskId === taskId) out.push({ method: call.method ?? '', code: call.code ?? 0 });
    } finally {
      client.close();
    }
  }
  return out;
}
