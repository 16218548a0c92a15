/**
 * The real gVisor for e2e tests: Debian's runsc, unpacked by scripts/debian-cache.sh into
 * .cache/debian/runsc (or found on PATH), and the Switchyard config that routes to it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { repoRoot } from './image.js';
import { unmet, which, type PlanTest } from './prereq.js';
import { listPids, readProc } from './cleanup.js';

/** The runsc the tests use: the cached Debian build first, else one on PATH. */
export function runscBinary(): string | undefined {
  const cached = path.join(repoRoot(), '.cache/debian/runsc/usr/bin/runsc');
  if (fs.existsSync(cached)) return cached;
  return which('runsc');
}

/** Skips (locally) or fails (CI) `t` unless runsc is there and can start a sandbox here. */
export function requireRunsc(t: PlanTest): string | undefined {
  const bin = runscBinary();
  if (!bin) {
    unmet(t, 'runsc missing (scripts/install-deps.sh unpacks it into .cache/debian/runsc)');
    return undefined;
  }
  return bin;
}

export function runscVersion(bin: string): string {
  return execFileSync(bin, ['--version'], { encoding: 'utf8' }).split('\n')[0]!.replace(/^runsc version /, '');
}

/**
 * A config whose runtime `name` is the real runsc with its state under `root`; the runsc
 * flags go in a runsc_config table, as in gVisor's own runsc.toml.
 */
export function runscConfig(o: { name?: string; binary: string; root: string; flags?: Record<string, string | boolean>; extra?: string[] }): string {
  const name = o.name ?? 'runsc';
  const flags = o.flags ?? { network: 'host' };
  return [
    `[runtimes.${name}]`,
    `binary = "${o.binary}"`,
    'flavour = "runsc"',
    `root = "${o.root}"`,
    ...(o.extra ?? []),
    '',
    `[runtimes.${name}.runsc_config]`,
    ...Object.entries(flags).map(([k, v]) => `${JSON.stringify(k)} = ${typeof v === 'boolean' ? String(v) : JSON.stringify(v)}`),
    '',
  ].join('\n');
}

export interface GvisorProcess {
  pid: number;
  /** runsc-sandbox, runsc-gofer, or runsc (a CLI call still running). */
  kind: string;
  cmdline: string[];
}

/** gVisor's host processes whose command line names `root` (runsc puts --root=… in every one). */
export function gvisorProcesses(root: string): GvisorProcess[] {
  const out: GvisorProcess[] = [];
  for (const pid of listPids()) {
    const info = readProc(pid);
    if (!info || !info.cmdline.some((a) => a.includes(root))) continue;
    const stat = readStat(pid);
    if (stat === 'Z') continue;
    out.push({ pid, kind: path.basename(info.cmdline[0] ?? ''), cmdline: info.cmdline });
  }
  return out;
}

function readStat(pid: number): string | undefined {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}
