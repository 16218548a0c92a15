/**
 * What runsc does differently from runc, as plain decisions the OCI driver acts on: the
 * network mode an admin chose and where it cannot work, the states in which runsc refuses
 * a signal, and the checkpoint flags it knows. Read from gVisor's runsc (release
 * 20240729, Debian's bookworm-backports build) and its containerd shim.
 */
import os from 'node:os';
import { failedPrecondition } from '../../errors/index.js';
import type { CheckpointSpec } from '../types.js';
import type { RestoreArgs } from './args.js';

export type RunscNetwork = 'sandbox' | 'host' | 'none';

/** The --network the global flags give (the last one wins, as in runsc); runsc's default is sandbox. */
export function runscNetwork(flags: readonly string[]): RunscNetwork {
  let mode: RunscNetwork = 'sandbox';
  for (let i = 0; i < flags.length; i++) {
    const m = /^--?network(?:=(.*))?$/.exec(flags[i]!);
    if (!m) continue;
    const v = m[1] ?? flags[i + 1];
    if (v === 'sandbox' || v === 'host' || v === 'none') mode = v;
  }
  return mode;
}

/** The release date in `runsc --version` ("runsc version 0.0~20240729.0", "release-20240807.0"). */
export function runscRelease(versionText: string): number | undefined {
  const m = /(?:~|release-)(\d{8})/.exec(versionText);
  return m ? Number(m[1]) : undefined;
}

/** gVisor's fix for issue 10704 (commit 19f6b0c, "use dev_weight to find the root netns") is in release-20240807. */
const NETNS_FIX_RELEASE = 20240807;

/**
 * Why runsc's own network stack cannot start here, or undefined. Linux 6.11 made
 * /proc/sys/net/core/rmem_default per network namespace; runsc before 20240807 took that
 * file as the sign of the host's namespace, so it refuses `--network=sandbox` in every
 * namespace ("cannot run with network enabled in root network namespace").
 */
export function netstackBroken(versionText: string, kernel = os.release()): string | undefined {
  const release = runscRelease(versionText);
  const [major = 0, minor = 0] = kernel.split('.').map((n) => Number.parseInt(n, 10));
  const newKernel = major > 6 || (major === 6 && minor >= 11);
  if (!newKernel || release === undefined || release >= NETNS_FIX_RELEASE) return undefined;
  return `runsc ${versionText.replace(/^runsc version /, '')} cannot run its own network stack (network = "sandbox") on Linux ${kernel}: it takes every network namespace for the host's (gVisor issue 10704, fixed in release-20240807)`;
}

interface SpecNamespaces {
  linux?: { namespaces?: { type?: string; path?: string }[] };
}

/** The network namespace the spec asks for: its own (path or new), or none (the host's network). */
export function specNetwork(spec: SpecNamespaces): 'own' | 'host' {
  return (spec.linux?.namespaces ?? []).some((n) => n.type === 'network') ? 'own' : 'host';
}

/**
 * Refuses, before runsc is run, a sandbox whose network mode cannot work: the admin's
 * choice is never swapped for a weaker one, it is named with what to change.
 */
export function checkNetwork(o: { runtime: string; mode: RunscNetwork; spec: SpecNamespaces; version: string; kernel?: string }): void {
  if (o.mode !== 'sandbox') return;
  const fix = `set network = "host" (the host kernel's network stack, inside the task's own namespace) or "none" under [runtimes.${o.runtime}.runsc_config]`;
  if (specNetwork(o.spec) === 'host') {
    throw failedPrecondition(`runtime ${o.runtime}: a task on the host's network cannot run with runsc network = "sandbox" (runsc refuses the host's namespace); ${fix}, or give the task its own network namespace`);
  }
  const broken = netstackBroken(o.version, o.kernel);
  if (broken) throw failedPrecondition(`runtime ${o.runtime}: ${broken}; ${fix}, or install runsc 20240807 or newer`);
}

/** The state runsc named when it refused a signal ("cannot signal container "x" in state created"). */
export function refusedSignalState(message: string): string | undefined {
  return /cannot signal container .* in state (\w+)/.exec(message)?.[1];
}

/** Signals whose default action ends a process: on a container that cannot take them yet, it ends. */
const HARMLESS = new Set([0, 17, 18, 19, 20, 21, 22, 23, 28]); // 0, CHLD, CONT, STOP, TSTP, TTIN, TTOU, URG, WINCH
export const endsProcess = (signal: number) => !HARMLESS.has(signal);

/**
 * runsc checkpoints without CRIU: only the image and work directories and leave-running mean
 * anything. File locks live in gVisor's own kernel and are saved with it, so asking for
 * them (containerd's client always does) is already satisfied; the rest cannot be.
 */
export function runscCheckpointArgs(id: string, c: CheckpointSpec): string[] {
  const criuOnly = (['tcpEstablished', 'externalUnixSockets', 'shellJob'] as const).filter((k) => c[k]);
  if ((c.emptyNamespaces ?? []).length) criuOnly.push('emptyNamespaces' as never);
  if (c.cgroupsMode) criuOnly.push('cgroupsMode' as never);
  if (criuOnly.length) throw failedPrecondition(`runsc checkpoints without CRIU: ${criuOnly.join(', ')} cannot apply`);
  const out = ['checkpoint', '--image-path', c.imagePath];
  if (c.workPath) out.push('--work-path', c.workPath);
  if (c.leaveRunning) out.push('--leave-running');
  out.push(id);
  return out;
}

/** `runsc restore`: a new sandbox from the image, detached as `create` + `start` would leave it. */
export function runscRestoreArgs(r: RestoreArgs): string[] {
  const out = ['restore', '--detach', '--image-path', r.imagePath];
  if (r.workPath) out.push('--work-path', r.workPath);
  out.push('--bundle', r.bundle, '--pid-file', r.pidFile);
  if (r.consoleSocket) out.push('--console-socket', r.consoleSocket);
  out.push(r.id);
  return out;
}
