/**
 * Pure argv builders for runc-compatible CLIs, one per command; the global flags come
 * first, as go-runc writes them (protocol.md §6.1).
 */

export interface GlobalOptions {
  /** --root: the runtime's state directory for this namespace. */
  root: string;
  /** --log: where the runtime writes its JSON log; its last error explains a failure. */
  log?: string;
  systemdCgroup?: boolean;
  extra?: readonly string[];
}

export function globalArgs(g: GlobalOptions): string[] {
  const out = ['--root', g.root];
  if (g.log) out.push('--log', g.log, '--log-format', 'json');
  if (g.systemdCgroup) out.push('--systemd-cgroup');
  if (g.extra) out.push(...g.extra);
  return out;
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
