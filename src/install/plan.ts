/**
 * What an install does to a node, computed before anything is touched: the files to write
 * (host paths), how containerd takes them, and where its socket is. Planners read the host
 * through `Host` and are pure otherwise, so a refusal never leaves a half-done node.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Handler } from './containerd-toml.js';

/** The node's root filesystem, mounted at `root` (`/host` in the DaemonSet, `/` by hand). */
export class Host {
  constructor(readonly root: string) {}
  /** The path of a host path on our side of the mount. */
  at(hostPath: string): string {
    return path.join(this.root, hostPath);
  }
  read(hostPath: string): string | undefined {
    try {
      return fs.readFileSync(this.at(hostPath), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }
  exists(hostPath: string): boolean {
    return fs.existsSync(this.at(hostPath));
  }
}

/**
 * One file we write. `own`: the whole file is ours (removed at uninstall, or the file it
 * replaced restored). `shared`: the owner's file with our marked block in it (the backup is
 * restored at uninstall, or only our block taken out if the owner changed it since).
 */
export interface FileWrite {
  path: string;
  content: string;
  kind: 'own' | 'shared';
  mode?: number;
}

/** How containerd takes the new config: a command in the host's init, or nothing (k0s). */
export type Restart = { how: 'none'; why: string } | { how: 'command'; argv: string[] };

export interface Plan {
  flavour: string;
  /** The containerd config file `switchyard doctor` reads on this node. */
  containerdConfig: string;
  socket: string;
  files: FileWrite[];
  restart: Restart;
  /** One line per decision, for the log: what goes where and why. */
  notes: string[];
}

export interface PlanOptions {
  handlers: Handler[];
  /** The Switchyard config of each pinned handler, by host path. */
  handlerConfigs: { path: string; content: string }[];
  /** Overrides of the flavour's defaults. */
  containerdConfig?: string;
  restartCommand?: string;
}

/** systemctl in the host's init, through its pid 1 namespaces (needs hostPID). */
export function hostSystemctl(script: string): string[] {
  // Short options: busybox's nsenter (the node image's) has no long ones; util-linux's has both.
  return ['nsenter', '-t', '1', '-m', '-u', '-i', '-n', '-p', '--', 'sh', '-c', script];
}

export function restartFor(defaultScript: string, o: PlanOptions): Restart {
  return { how: 'command', argv: o.restartCommand ? ['sh', '-c', o.restartCommand] : hostSystemctl(defaultScript) };
}
