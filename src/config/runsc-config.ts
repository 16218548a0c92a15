/**
 * `[runtimes.NAME.runsc_config]`: runsc's global flags, one key a flag, as gVisor's own
 * runsc.toml writes them (`platform = "systrap"`, `network = "host"`, `debug = true`).
 * Each becomes `--key=value` after `args`. Keys are checked against the flags of runsc
 * (release 20240729), so a typo is a config error, not a runsc that refuses every task.
 */
import { isTable, type Fields } from './fields.js';
import type { KeyPath } from './toml-lines.js';

/** How the sandbox reaches the network: runsc's --network. */
export type RunscNetwork = 'sandbox' | 'host' | 'none';
export const RUNSC_NETWORKS: readonly RunscNetwork[] = ['sandbox', 'host', 'none'];

/** Flags with a fixed set of values. */
const CHOICES: Record<string, readonly string[]> = {
  network: RUNSC_NETWORKS,
  platform: ['systrap', 'ptrace', 'kvm'],
  'file-access': ['exclusive', 'shared'],
  'file-access-mounts': ['shared', 'exclusive'],
  'watchdog-action': ['log', 'panic'],
  'host-uds': ['none', 'open', 'create', 'all'],
  'host-fifo': ['none', 'open'],
  qdisc: ['none', 'fifo'],
};

/** Flags runsc 20240729 takes (`runsc flags`), other than those Switchyard sets or that name fds. */
const KNOWN = new Set([
  ...Object.keys(CHOICES),
  'EXPERIMENTAL-xdp', 'EXPERIMENTAL-xdp-need-wakeup', 'allow-flag-override', 'alsologtostderr', 'app-huge-pages',
  'buffer-pooling', 'cgroupfs', 'cpu-num-from-quota', 'dcache', 'debug', 'debug-command', 'debug-log',
  'debug-log-format', 'debug-to-user-log', 'directfs', 'enable-core-tags', 'fdlimit', 'fsgofer-host-uds', 'fuse',
  'gso', 'gvisor-gro', 'ignore-cgroups', 'iouring', 'lisafs', 'log-packets', 'metric-server', 'net-disconnect-ok',
  'net-raw', 'network-processors-per-channel', 'num-network-channels', 'nvproxy', 'nvproxy-docker',
  'nvproxy-driver-version', 'oci-seccomp', 'overlay', 'overlay2', 'panic-log', 'panic-signal', 'pcap-log',
  'platform_device_path', 'pod-init-config', 'profile', 'profile-block', 'profile-cpu', 'profile-heap',
  'profile-mutex', 'profiling-metrics', 'profiling-metrics-log', 'profiling-metrics-rate-us', 'ref-leak-mode',
  'reproduce-nat', 'reproduce-nftables', 'rootless', 'rx-checksum-offload', 'software-gso', 'strace',
  'strace-event', 'strace-log-size', 'strace-syscalls', 'systemd-cgroup', 'tpuproxy', 'trace', 'traceback',
  'tx-checksum-offload', 'vfs2',
]);

/** Set by the OCI driver (root, log) or meaningless in a file (descriptors). */
const RESERVED: Record<string, string> = {
  root: 'set by Switchyard from the runtime\'s root',
  log: 'set by Switchyard (the runtime log in the bundle)',
  'log-format': 'set by Switchyard',
  'log-fd': 'a file descriptor cannot be configured',
  'debug-log-fd': 'a file descriptor cannot be configured; use debug-log',
  'panic-log-fd': 'a file descriptor cannot be configured; use panic-log',
  'coverage-fd': 'a file descriptor cannot be configured',
};

/** Reads a runsc_config table into flag values (strings, as runsc's own flags take them). */
export function parseRunscConfig(value: unknown, f: Fields, at: KeyPath): Record<string, string> {
  if (!isTable(value)) throw f.bad(at, 'must be a table of runsc flags');
  const out: Record<string, string> = {};
  for (const [key, raw] of Object.entries(value)) {
    const p: KeyPath = [...at, key];
    if (RESERVED[key]) throw f.bad(p, RESERVED[key]);
    if (!KNOWN.has(key)) throw f.bad(p, 'not a runsc flag (see `runsc flags`)');
    let v: string;
    if (typeof raw === 'string') v = raw;
    else if (typeof raw === 'boolean') v = String(raw);
    else if (typeof raw === 'number' && Number.isInteger(raw)) v = String(raw);
    else throw f.bad(p, 'must be a string, a boolean or an integer');
    const choices = CHOICES[key];
    if (choices && !choices.includes(v)) throw f.bad(p, `must be one of ${choices.join(', ')}`);
    out[key] = v;
  }
  return out;
}

/** The flags a runsc_config table stands for, in the order written. */
export function runscConfigFlags(cfg: Record<string, string>): string[] {
  return Object.entries(cfg).map(([k, v]) => `--${k}=${v}`);
}

/** The flag a global argument sets (`--network=host` and `-network host` alike), or undefined. */
export function flagName(arg: string): string | undefined {
  const m = /^--?([A-Za-z][\w-]*)(=|$)/.exec(arg);
  return m?.[1];
}
