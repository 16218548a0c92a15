/**
 * Making containerd take the new config: the flavour's restart command, then a wait until
 * containerd listens again on a new socket (a restart recreates it; the old one may answer
 * for a moment while the old process stops).
 */
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { unavailable } from '../errors/index.js';
import { probeUnixSocket } from '../transport/probe.js';
import type { Host, Restart } from './plan.js';

/** The socket's identity: a freed inode number can come back at once, its change time not. */
const identity = (p: string) => {
  try {
    const st = fs.statSync(p, { bigint: true });
    return `${st.ino}:${st.ctimeNs}`;
  } catch {
    return undefined;
  }
};

export async function restartContainerd(host: Host, restart: Restart, socket: string, log: (s: string) => void, timeoutMs = 90_000): Promise<void> {
  if (restart.how === 'none') {
    log(`containerd: not restarted (${restart.why})`);
    return;
  }
  const sock = host.at(socket);
  const before = identity(sock);
  log(`containerd: restarting: ${restart.argv.join(' ')}`);
  const r = spawnSync(restart.argv[0]!, restart.argv.slice(1), { encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, HOST_ROOT: host.root } });
  if (r.error || r.status !== 0) {
    throw unavailable(`restarting containerd failed (${restart.argv.join(' ')}): ${r.error?.message ?? `exit ${r.status}`} ${(r.stderr ?? '').trim()}`.trim());
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const now = identity(sock);
    if (now !== undefined && now !== before && (await probeUnixSocket(sock)) === undefined) {
      log(`containerd: answering again on ${socket}`);
      return;
    }
    await new Promise((res) => setTimeout(res, 200));
  }
  throw unavailable(`containerd did not come back on ${socket} within ${timeoutMs / 1000} s after ${restart.argv.join(' ')}`);
}
