// A node's root filesystem in a temp dir, for the installer to work on as the DaemonSet
// would (bind-mounted at /host), and a containerd run chrooted into it, as the node's init
// runs its containerd: every path in its config and in what the installer writes is a
// path on that node.
//
//   <dir>/host                 the host root: /etc (the flavour's containerd config), empty
//                              /usr/local/bin and /opt, symlinks lib, lib64, sbin -> usr/…
//   bind mounts over it (ours, in this mount namespace, removed by the cleanup):
//     usr/lib, usr/lib64, usr/sbin  this machine's, read-only: libc and libstdc++ for the
//                              bundle's node, runc; no /usr/bin, so no Node.js on the node
//     opt/test/containerd, opt/test/runsc   .cache/debian's containerd and runsc, read-only
//     run, var/lib/containerd, tmp   <dir>/state/…, so containerd's state stays apart
//     proc, sys, dev
// The host root is bound onto itself first: runc's pivot_root needs its root to be a mount.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SYSTEM_PATH, makeE2EDir, uniqueNamespace } from '../lib/containerd.js';
import { forceCleanupSync, isAlive, listPids, sleepSync, type CleanupReport } from '../lib/cleanup.js';
import { repoRoot } from '../lib/image.js';
import { snapshotTree } from '../../helpers/tree.js';

export const DEBIAN = () => path.join(repoRoot(), '.cache', 'debian');
/** containerd's PATH on the node: no /usr/bin, /bin, so no node. */
export const NODE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/sbin:/opt/test/containerd:/opt/test/runsc';

const MOUNTED = ['usr/lib', 'usr/lib64', 'usr/sbin', 'opt/test/containerd', 'opt/test/runsc', 'run', 'var/lib/containerd', 'tmp', 'proc', 'sys', 'dev'];

const sh = (args: string[]) => execFileSync(args[0]!, args.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: SYSTEM_PATH } });

export interface HostRoot {
  readonly dir: string;
  readonly host: string;
  /** A unique cgroup name: pods get cgroup_parent /<it>, removed on cleanup. */
  readonly cgroup: string;
  /** A host path as seen from here. */
  at(p: string): string;
  /** The host root's files, not entering the mounts above (the node's, not the installer's). */
  snapshot(): string[];
  cleanup(): CleanupReport;
}

export function makeHostRoot(containerd: '1.7' | '2.1', files: Record<string, string>): HostRoot {
  const dir = makeE2EDir();
  const host = path.join(dir, 'host');
  const cgroup = uniqueNamespace('sydeploy');
  const at = (p: string) => path.join(host, p);
  for (const d of [...MOUNTED, 'etc', 'usr/local/bin', 'var', 'opt/test/containerd']) fs.mkdirSync(at(d), { recursive: true });
  for (const [l, target] of [['lib', 'usr/lib'], ['lib64', 'usr/lib64'], ['sbin', 'usr/sbin'], ['var/run', '../run']]) fs.symlinkSync(target!, at(l!));
  // What every node has and CRI copies into host-network pods.
  const base = { 'etc/hosts': '127.0.0.1 localhost\n', 'etc/resolv.conf': 'nameserver 127.0.0.1\n', 'etc/hostname': 'node-1\n' };
  for (const [p, text] of Object.entries({ ...base, ...files })) {
    fs.mkdirSync(path.dirname(at(p)), { recursive: true });
    fs.writeFileSync(at(p), text);
  }
  for (const s of ['run', 'varlib', 'tmp']) fs.mkdirSync(path.join(dir, 'state', s), { recursive: true });
  fs.chmodSync(path.join(dir, 'state', 'tmp'), 0o1777);
  const bind = (from: string, to: string, ro = false) => {
    sh(['mount', '--bind', from, at(to)]);
    if (ro) sh(['mount', '-o', 'remount,bind,ro', at(to)]);
  };
  const hr: HostRoot = {
    dir,
    host,
    cgroup,
    at,
    snapshot: () => snapshotTree(host, (rel) => MOUNTED.some((m) => rel.startsWith(`${m}/`))),
    cleanup: () => {
      killChrooted(host);
      return forceCleanupSync({ dir, namespaces: [cgroup, 'k8s.io'] });
    },
  };
  try {
    sh(['mount', '--bind', host, host]);
    sh(['mount', '--make-private', host]);
    for (const d of ['usr/lib', 'usr/lib64', 'usr/sbin']) bind(`/${d}`, d, true);
    bind(path.join(DEBIAN(), `containerd-${containerd}`, 'usr/bin'), 'opt/test/containerd', true);
    bind(path.join(DEBIAN(), 'runsc', 'usr/bin'), 'opt/test/runsc', true);
    bind(path.join(dir, 'state/run'), 'run');
    bind(path.join(dir, 'state/varlib'), 'var/lib/containerd');
    bind(path.join(dir, 'state/tmp'), 'tmp');
    sh(['mount', '-t', 'proc', 'proc', at('proc')]);
    for (const d of ['sys', 'dev']) {
      sh(['mount', '--rbind', `/${d}`, at(d)]);
      sh(['mount', '--make-rslave', at(d)]);
    }
  } catch (err) {
    hr.cleanup();
    throw err;
  }
  return hr;
}

/** Every process whose root is the host root or below (the chrooted containerd, its shims, containers). */
function killChrooted(host: string): void {
  for (let round = 0; round < 5; round++) {
    const pids = listPids().filter((p) => {
      try {
        const r = fs.readlinkSync(`/proc/${p}/root`);
        return r === host || r.startsWith(`${host}/`);
      } catch {
        return false;
      }
    });
    if (!pids.length) return;
    for (const p of pids) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {}
    }
    const deadline = Date.now() + 2000;
    while (pids.some(isAlive) && Date.now() < deadline) sleepSync(20);
  }
}

/**
 * The node's containerd, chrooted, kept running as systemd's Restart=always would: when it
 * exits (the installer's restart kills it) it is started again on the same config.
 */
export class NodeContainerd {
  private proc: ChildProcess | undefined;
  private stopping = false;
  starts = 0;
  constructor(
    private readonly hr: HostRoot,
    private readonly config: string,
    readonly socket: string,
  ) {}

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** The gRPC socket as seen from here. */
  get address(): string {
    return this.hr.at(this.socket);
  }

  logs(): string {
    try {
      return fs.readFileSync(path.join(this.hr.dir, 'containerd.log'), 'utf8');
    } catch {
      return '';
    }
  }

  start(): void {
    const log = fs.openSync(path.join(this.hr.dir, 'containerd.log'), 'a');
    const child = spawn('/usr/bin/env', ['-i', `PATH=${NODE_PATH}`, '/usr/sbin/chroot', this.hr.host, '/opt/test/containerd/containerd', '--config', this.config], {
      stdio: ['ignore', log, log],
      detached: true,
      env: { PATH: SYSTEM_PATH },
    });
    fs.closeSync(log);
    this.starts++;
    this.proc = child;
    // As systemd's MainPID: the restart command the installer is given reads it.
    fs.writeFileSync(this.hr.at('run/containerd.pid'), `${child.pid}\n`);
    child.once('exit', () => {
      if (this.stopping || this.proc !== child) return;
      setTimeout(() => {
        if (!this.stopping) this.start();
      }, 100);
    });
    child.unref();
  }

  /** Until the socket answers `ctr version` (ctr from this containerd's build). */
  async ready(timeoutMs = 30_000): Promise<void> {
    const ctr = path.join(DEBIAN(), 'containerd-2.1/usr/bin/ctr');
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        execFileSync(ctr, ['--address', this.address, 'version'], { stdio: 'ignore', timeout: 5000, env: { PATH: SYSTEM_PATH } });
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    throw new Error(`the node's containerd did not answer on ${this.address}\n${this.logs().split('\n').slice(-30).join('\n')}`);
  }

  /** Stop for good: SIGTERM, then SIGKILL. */
  async stop(): Promise<void> {
    this.stopping = true;
    const pid = this.proc?.pid;
    if (!pid || !isAlive(pid)) return;
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 10_000;
    while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
}
