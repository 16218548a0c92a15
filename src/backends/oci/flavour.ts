/**
 * What differs between the runc-compatible CLIs: how global flags are spelled, how the
 * binary is launched, and when a container's stdio is handed over. Everything else (the
 * subcommands and their flags) is shared in args.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { GlobalOptions } from './args.js';
import type { DriverCapabilities } from '../types.js';

export type Flavour = 'runc' | 'crun' | 'runsc';

export interface Launch {
  /** The program to execute. */
  file: string;
  /** Arguments before the runtime's own (a wrapper's, then the runtime binary). */
  prefix: string[];
}

/**
 * crun 1.8 refuses a hybrid cgroup layout whose v2 hierarchy has controllers ("drop all
 * controllers from cgroupv2"). Run in a private mount namespace without the v2 mount, it
 * sees a plain v1 host, which is what the containers get on such a node anyway. The
 * script is fixed; the runtime and its arguments go in as positional parameters.
 */
export function launch(flavour: Flavour, binary: string, hybridV2Mount?: string): Launch {
  if (flavour === 'crun' && hybridV2Mount) {
    return {
      file: 'unshare',
      prefix: ['--mount', '--propagation', 'private', '--', 'sh', '-c', 'umount -l "$0" 2>/dev/null; exec "$@"', hybridV2Mount, binary],
    };
  }
  return { file: binary, prefix: [] };
}

const RUNC_LIKE: DriverCapabilities = { killCreated: true, reportsExit: false, pause: true, update: true, checkpoint: true, restore: true };

/**
 * runsc knows a sandboxed init's exit when the host pid does not (gVisor's own shim asks
 * `runsc wait` too). It refuses to signal a created container, but the driver ends one
 * by destroying its sandbox (runsc-sandbox.ts), so Kill works in every state.
 */
const RUNSC: DriverCapabilities = { ...RUNC_LIKE, reportsExit: true };

export function flavourCapabilities(flavour: Flavour): DriverCapabilities {
  return flavour === 'runsc' ? RUNSC : RUNC_LIKE;
}

/** Global flags, in the flavour's spelling: runsc wants `--flag=value`. */
export function flavourGlobalArgs(flavour: Flavour, g: GlobalOptions): string[] {
  if (flavour !== 'runsc') {
    const out = ['--root', g.root];
    if (g.log) out.push('--log', g.log, '--log-format', 'json');
    if (g.systemdCgroup) out.push('--systemd-cgroup');
    if (g.extra) out.push(...g.extra);
    return out;
  }
  const out = [`--root=${g.root}`];
  if (g.log) out.push(`--log=${g.log}`, '--log-format=json');
  if (g.systemdCgroup) out.push('--systemd-cgroup=true');
  if (g.extra) out.push(...g.extra);
  return out;
}

/**
 * runsc joins a CRI container to its pod's sandbox by reading the annotations itself, and
 * takes that container's stdio at `start`, not at `create` (gVisor's shim does the same).
 */
export function stdioAtStart(flavour: Flavour, annotations: Record<string, string>): boolean {
  return flavour === 'runsc' && annotations['io.kubernetes.cri.container-type'] === 'container';
}

/** `runsc wait ID` prints {"id":…,"exitStatus":N}; gVisor's shim reads the exit from it. */
export function parseWaitOutput(text: string): number {
  const v = JSON.parse(text) as { exitStatus?: unknown };
  if (typeof v.exitStatus !== 'number' || !Number.isInteger(v.exitStatus)) throw new Error(`no exitStatus in ${JSON.stringify(text)}`);
  return v.exitStatus;
}

/**
 * crun 1.8 refuses any spec whose ociVersion is past 1.1 ("unknown version specified"),
 * and containerd 2.x writes 1.2.x. The 1.2 additions are fields crun 1.8 does not read
 * either way, so its spec is labelled 1.1.0; runc and runsc take 1.2 as it is.
 */
export function adaptSpecVersion(flavour: Flavour, bundle: string): void {
  if (flavour !== 'crun') return;
  const file = path.join(bundle, 'config.json');
  const text = fs.readFileSync(file, 'utf8');
  const m = /"ociVersion"\s*:\s*"1\.(\d+)\.[^"]*"/.exec(text);
  if (!m || Number(m[1]) < 2) return;
  fs.writeFileSync(file, text.replace(m[0], '"ociVersion":"1.1.0"'));
}
