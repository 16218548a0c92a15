/**
 * The proof that a node serves pods before it is labelled: a task run through the host's
 * containerd with the Switchyard runtime (ctr, a busybox image shipped in the node image),
 * in a namespace of its own that is removed afterwards with everything in it.
 *
 * ctr runs inside the host (chroot), not in the installer's container: `ctr run` mounts the
 * image's snapshot itself to read /etc/group, at the paths containerd gives, which are host
 * paths. ctr and the image are copied into a directory of ours on the host for the run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomHex } from '../sys/random.js';
import { spawnSync } from 'node:child_process';
import { failedPrecondition } from '../errors/index.js';
import { RUNTIME_TYPE } from './containerd-toml.js';
import { RECORD_DIR } from './record.js';
import type { Host } from './plan.js';

export const PROBE_NAMESPACE = 'switchyard-probe';
export const PROBE_REF = 'switchyard.dev/probe:latest';

export interface ProbeOptions {
  ctr: string;
  image: string;
  socket: string;
}

function onPath(cmd: string): string {
  if (cmd.includes('/')) return cmd;
  for (const d of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    const p = path.join(d, cmd);
    if (fs.existsSync(p)) return p;
  }
  throw failedPrecondition(`probe: ${cmd} not found on PATH`);
}

export function probeNode(host: Host, o: ProbeOptions, log: (s: string) => void): void {
  const id = `probe-${randomHex(4)}`;
  const inHost = host.root !== '/';
  const dir = `${RECORD_DIR}/${id}`;
  let ctr = onPath(o.ctr);
  let image = o.image;
  if (inHost) {
    fs.mkdirSync(host.at(dir), { mode: 0o700 });
    fs.copyFileSync(ctr, host.at(`${dir}/ctr`));
    fs.chmodSync(host.at(`${dir}/ctr`), 0o755);
    fs.copyFileSync(image, host.at(`${dir}/image.tar`));
    [ctr, image] = [`${dir}/ctr`, `${dir}/image.tar`];
  }
  const run = (args: string[], timeout = 120_000) => {
    const argv = [ctr, '--address', o.socket, '--namespace', PROBE_NAMESPACE, ...args];
    return inHost ? spawnSync('chroot', [host.root, ...argv], { encoding: 'utf8', timeout }) : spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout });
  };
  try {
    const imp = run(['images', 'import', '--base-name', PROBE_REF.split(':')[0]!, image]);
    if (imp.status !== 0) throw failedPrecondition(`probe: importing the probe image failed: ${imp.error?.message ?? imp.stderr.trim()}`);
    const r = run(['run', '--rm', '--null-io', '--runtime', RUNTIME_TYPE, PROBE_REF, id, '/bin/true']);
    if (r.status !== 0) throw failedPrecondition(`probe: a task on ${RUNTIME_TYPE} failed (exit ${r.status}): ${r.error?.message ?? r.stderr.trim()}`);
    log(`probe: a task ran through ${RUNTIME_TYPE} on the host's containerd`);
  } finally {
    run(['tasks', 'delete', '--force', id], 30_000);
    run(['containers', 'delete', id], 30_000);
    run(['images', 'rm', '--sync', PROBE_REF], 60_000);
    run(['namespaces', 'rm', PROBE_NAMESPACE], 30_000);
    if (inHost) fs.rmSync(host.at(dir), { recursive: true, force: true });
  }
}
