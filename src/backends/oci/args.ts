/**
 * Pure argv builders for runc-compatible CLIs, one per command; the global flags come
 * first, as go-runc writes them (docs/protocol.md §6.1).
 */
import type { CheckpointSpec } from '../types.js';

export interface GlobalOptions {
  /** --root: the runtime's state directory for this namespace. */
  root: string;
  /** --log: where the runtime writes its JSON log; its last error explains a failure. */
  log?: string;
  systemdCgroup?: boolean;
  extra?: readonly string[];
}

export interface CreateArgs {
  id: string;
  bundle: string;
  pidFile: string;
  consoleSocket?: string;
  noPivot?: boolean;
  noNewKeyring?: boolean;
}

export function createArgs(c: CreateArgs): string[] {
  const out = ['create', '--bundle', c.bundle, '--pid-file', c.pidFile];
  if (c.consoleSocket) out.push('--console-socket', c.consoleSocket);
  if (c.noPivot) out.push('--no-pivot');
  if (c.noNewKeyring) out.push('--no-new-keyring');
  out.push(c.id);
  return out;
}

export const startArgs = (id: string) => ['start', id];

export function killArgs(id: string, signal: number, all: boolean): string[] {
  return all ? ['kill', '--all', id, String(signal)] : ['kill', id, String(signal)];
}

export function deleteArgs(id: string, force: boolean): string[] {
  return force ? ['delete', '--force', id] : ['delete', id];
}

export const psArgs = (id: string) => ['ps', '--format', 'json', id];

export interface ExecArgs {
  id: string;
  /** The exec's OCI process spec, written to a file by the driver. */
  processFile: string;
  pidFile: string;
  consoleSocket?: string;
}

/** Always detached: runc exits once the process runs, and we (subreaper) inherit it. */
export function execArgs(e: ExecArgs): string[] {
  const out = ['exec', '--process', e.processFile, '--detach', '--pid-file', e.pidFile];
  if (e.consoleSocket) out.push('--console-socket', e.consoleSocket);
  out.push(e.id);
  return out;
}

export const pauseArgs = (id: string) => ['pause', id];
export const resumeArgs = (id: string) => ['resume', id];
export const updateArgs = (id: string, resourcesFile: string) => ['update', '--resources', resourcesFile, id];

/** CRIU options, as containerd's runc options carry them (CheckpointOptions). */
export type CriuOptions = CheckpointSpec;

function criuFlags(c: CriuOptions): string[] {
  const out = ['--image-path', c.imagePath];
  if (c.workPath) out.push('--work-path', c.workPath);
  if (c.tcpEstablished) out.push('--tcp-established');
  if (c.externalUnixSockets) out.push('--ext-unix-sk');
  if (c.shellJob) out.push('--shell-job');
  if (c.fileLocks) out.push('--file-locks');
  for (const ns of c.emptyNamespaces ?? []) out.push('--empty-ns', ns);
  if (c.cgroupsMode) out.push('--manage-cgroups-mode', c.cgroupsMode);
  return out;
}

export function checkpointArgs(id: string, c: CriuOptions): string[] {
  const out = ['checkpoint', ...criuFlags(c)];
  if (c.leaveRunning) out.push('--leave-running');
  out.push(id);
  return out;
}

export interface RestoreArgs extends CriuOptions {
  id: string;
  bundle: string;
  pidFile: string;
  consoleSocket?: string;
}

export function restoreArgs(r: RestoreArgs): string[] {
  const out = ['restore', '--detach', ...criuFlags(r), '--bundle', r.bundle, '--pid-file', r.pidFile];
  if (r.consoleSocket) out.push('--console-socket', r.consoleSocket);
  out.push(r.id);
  return out;
}
