/** Where one container's cgroup lives, as located by locate.ts and read by the rest. */

/** A process's cgroup on a v1 host (hybrid hosts included). */
export interface V1Cgroup {
  readonly version: 1;
  /**
   * The cgroup's directory in each v1 hierarchy, keyed by controller ('memory',
   * 'cpuacct', 'pids', 'name=systemd', ...). Controllers mounted together (cpu,cpuacct)
   * share one directory. A controller the host does not mount is absent.
   */
  readonly paths: Readonly<Record<string, string>>;
  /** Hybrid hosts: the directory in the controller-less cgroup2 mount, if any. */
  readonly unified?: string;
}

/** A process's cgroup on a unified (v2) host: one directory for every controller. */
export interface V2Cgroup {
  readonly version: 2;
  readonly path: string;
}

export type Cgroup = V1Cgroup | V2Cgroup;
