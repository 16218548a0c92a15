/**
 * The proof that a node serves pods before it is labelled: a task run through the host's
 * containerd with the Switchyard runtime (ctr, a busybox image shipped in the node image),
 * in a namespace of its own that is removed afterwards with everything in it.
 */
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { failedPrecondition } from '../errors/index.js';
import { RUNTIME_TYPE } from './containerd-toml.js';
import type { Host } from './plan.js';

export const PROBE_NAMESPACE = 'switchyard-probe';
export const PROBE_REF = 'switchyard.dev/probe:latest';

export interface ProbeOptions {
  ctr: string;
  image: string;
  socket: string;
}

export function probeNode(host: Host, o: ProbeOptions, log: (s: string) => void): void {
  const base = [o.ctr, '--address', host.at(o.socket), '--namespace', PROBE_NAMESPACE];
  const run = (args: string[], timeout = 120_000) => spawnSync(base[0]!, [...base.slice(1), ...args], { encoding: 'utf8', timeout });
  const id = `probe-${randomBytes(4).toString('hex')}`;
  try {
    const imp = run(['images', 'import', '--base-name', PROBE_REF.split(':')[0]!, o.image]);
    if (imp.status !== 0) throw failedPrecondition(`probe: importing ${o.image} failed: ${imp.error?.message ?? imp.stderr.trim()}`);
    const r = run(['run', '--rm', '--null-io', '--runtime', RUNTIME_TYPE, PROBE_REF, id, '/bin/true']);
    if (r.status !== 0) throw failedPrecondition(`probe: a task on ${RUNTIME_TYPE} failed (exit ${r.status}): ${r.error?.message ?? r.stderr.trim()}`);
    log(`probe: a task ran through ${RUNTIME_TYPE} on the host's containerd`);
  } finally {
    run(['tasks', 'delete', '--force', id], 30_000);
    run(['containers', 'delete', id], 30_000);
    run(['images', 'rm', '--sync', PROBE_REF], 60_000);
    run(['namespaces', 'rm', PROBE_NAMESPACE], 30_000);
  }
}
