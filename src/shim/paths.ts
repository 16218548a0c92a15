import { sha256Hex } from './sha256.js';
import path from 'node:path';
import fs from 'node:fs';
import type { Config } from '../config/config.js';
import { socketPath } from './address.js';

/** The daemon a task belongs to: its group, socket and state directory. */
export interface DaemonPaths {
  group: string;
  socket: string;
  stateDir: string;
  logFile: string;
}

/**
 * The part of the group that says which config a daemon runs with, when containerd's
 * runtime options named one: two RuntimeClass handlers with their own configs must never
 * share a daemon (the first one's policy would silently apply to both).
 */
export function configGroup(optionsConfigPath: string | undefined): string {
  return optionsConfigPath ? `:config:${sha256Hex(optionsConfigPath).slice(0, 12)}` : '';
}

/**
 * The group is the containerd namespace by default (one warm daemon for every pod of it),
 * or the pod's sandbox id with `grouping = "pod"`. The protocol is part of the key, so a
 * gRPC daemon and a ttrpc daemon never answer each other's socket; so is a config path from
 * the runtime options.
 */
export function daemonPaths(
  cfg: Config,
  containerdAddress: string,
  namespace: string,
  bundle: string,
  id: string,
  optionsConfigPath?: string,
  shimCgroup?: string,
): DaemonPaths {
  let group = `switchyard:${cfg.protocol}${configGroup(optionsConfigPath)}`;
  // A daemon lives in one cgroup: the tasks whose runc options name a shim cgroup share one there.
  if (shimCgroup) group += `:cgroup:${sha256Hex(shimCgroup).slice(0, 12)}`;
  if (cfg.grouping === 'pod') group += `:pod:${sandboxOf(bundle) ?? id}`;
  const socket = socketPath(containerdAddress, namespace, group);
  const key = sha256Hex(`${containerdAddress}\0${namespace}\0${group}`).slice(0, 16);
  const stateDir = path.join(cfg.stateDir, 'daemons', key);
  // The log lives beside the daemons' directories, not in one: it must outlive an idle exit.
  return { group, socket, stateDir, logFile: path.join(cfg.stateDir, 'logs', `${key}.log`) };
}

function sandboxOf(bundle: string): string | undefined {
  try {
    const spec = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8')) as { annotations?: Record<string, string> };
    return spec.annotations?.['io.kubernetes.cri.sandbox-id'];
  } catch {
    return undefined;
  }
}
