/**
 * `switchyard doctor` for a runsc runtime: can gVisor start a sandbox here with the flags
 * the node admin chose, on which platform, and can its network mode work on this kernel.
 * Found before any pod is refused for it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { OciRuntimeConfig } from '../config/types.js';
import { runtimeFlags } from '../config/runtimes.js';
import { netstackBroken, runscNetwork } from '../backends/oci/runsc.js';

export interface RunscFinding {
  check: string;
  ok: boolean;
  severity: 'error' | 'warning' | 'info';
  detail: string;
  fix?: string;
}

/** Flags that would point runsc do at the node's state or logs instead of a scratch dir. */
const NOT_FOR_A_PROBE = /^--?(debug-log|log|panic-log|root|debug|strace|profile[\w-]*|pcap-log|metric-server)(=|$)/;

export function runscFindings(rt: OciRuntimeConfig, binary: string, source: string, kernel = os.release()): RunscFinding[] {
  const check = `runsc ${rt.name}`;
  const out: RunscFinding[] = [];
  const flags = runtimeFlags(rt);
  const network = runscNetwork(flags);
  let version = '';
  try {
    version = execFileSync(binary, ['--version'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0] ?? '';
  } catch {}
  const where = `[runtimes.${rt.name}.runsc_config] in ${source}`;
  const broken = network === 'sandbox' ? netstackBroken(version, kernel) : undefined;
  if (broken) {
    out.push({ check: `${check} network`, ok: false, severity: 'error', detail: `${broken}: every task would be refused`, fix: `set network = "host" (the host kernel's stack inside each task's own namespace) or "none" in ${where}, or install runsc 20240807 or newer` });
  } else {
    const note = network === 'sandbox' ? "gVisor's own network stack; host-network pods are refused" : network === 'host' ? "the host kernel's network stack, inside each task's own namespace" : 'no network but loopback';
    out.push({ check: `${check} network`, ok: true, severity: 'info', detail: `network = "${network}": ${note}` });
  }
  // A sandbox, as gVisor's own `runsc do` makes one, in scratch state and log directories.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-doctor-runsc-'));
  try {
    const probeNetwork = broken ? 'none' : network;
    const args = [
      `--root=${path.join(dir, 'root')}`, ...flags.filter((f) => !NOT_FOR_A_PROBE.test(f) && !/^--?network(=|$)/.test(f)),
      `--network=${probeNetwork}`, '--debug', `--debug-log=${path.join(dir, 'log')}/`, 'do', 'true',
    ];
    try {
      execFileSync(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000, cwd: dir });
      const platform = platformFromLogs(path.join(dir, 'log')) ?? 'unknown';
      out.push({ check: `${check} sandbox`, ok: true, severity: 'info', detail: `${version}: \`runsc do true\` ran in a gVisor sandbox on the ${platform} platform${broken ? ' (tried with network = "none")' : ''}` });
    } catch (err) {
      const why = `${(err as { stderr?: Buffer }).stderr ?? ''}`.trim().split('\n').slice(-1)[0] || (err as Error).message;
      out.push({ check: `${check} sandbox`, ok: false, severity: 'error', detail: `${version}: \`runsc do true\` failed: ${why}`, fix: `check the platform (runsc_config platform = "systrap" needs no KVM) in ${where}` });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

/** runsc logs its configuration at boot: "Platform: systrap". */
function platformFromLogs(dir: string): string | undefined {
  let files: string[];
  try {
    files = fs.readdirSync(dir);
  } catch {
    return undefined;
  }
  for (const f of files) {
    const m = /\] Platform: (\S+)/.exec(fs.readFileSync(path.join(dir, f), 'utf8'));
    if (m) return m[1];
  }
  return undefined;
}
