/**
 * The runsc side of the OCI driver: what it must do around runsc's commands so that a
 * gVisor task behaves as a runc one. runsc refuses `kill` on a created or paused
 * container, has no `update` before 2026, and its `delete --force` returns before the
 * sandbox's host processes (runsc-sandbox, runsc-gofer) have gone.
 */
import fs from 'node:fs';
import path from 'node:path';
import { failedPrecondition } from '../../errors/index.js';
import { cgroupOf } from '../../cgroups/index.js';
import { processGone } from '../../sys/process-gone.js';
import { childPids, processesWhere, readArgv } from '../../sys/proc.js';
import { applyResources } from './cgroup-update.js';
import { checkNetwork, endsProcess, refusedSignalState, runscNetwork, type RunscNetwork } from './runsc.js';

/** How long a destroyed sandbox's processes may take to go before delete gives up on them. */
const GONE_TIMEOUT_MS = 10_000;

export interface RunscHost {
  name: string;
  root: string;
  flags: readonly string[];
  /** Runs one runsc command for container id (global flags added), resolving with stdout. */
  run(id: string, args: string[]): Promise<string>;
  /** Reaps an orphan of ours as soon as it ends (see DaemonChildren.collect). */
  collect?: (pid: number) => void;
}

/** The names runsc gives its sandbox and gofer processes (their argv[0]). */
const GVISOR_PROCESSES = new Set(['runsc-sandbox', 'runsc-gofer']);

export class RunscSandbox {
  readonly network: RunscNetwork;
  private versionText: Promise<string> | undefined;
  /** Containers being destroyed by us: their exit is SIGKILL's, whatever `runsc wait` says. */
  private readonly destroying = new Set<string>();
  private readonly destroyed = new Map<string, { promise: Promise<number>; resolve: (s: number) => void }>();
  /** Host pid of each container's sandbox, from create. */
  private readonly sandboxPid = new Map<string, number>();
  /** Containers that join another's sandbox (a CRI pod's containers). */
  private readonly joined = new Set<string>();

  constructor(private readonly h: RunscHost) {
    this.network = runscNetwork(h.flags);
  }

  version(): Promise<string> {
    this.versionText ??= this.h.run('', ['--version']).then((out) => out.split('\n')[0] ?? '');
    return this.versionText;
  }

  /** Refuses a task whose network mode cannot work here, before runsc makes anything. */
  async beforeCreate(id: string, bundle: string, annotations: Record<string, string>): Promise<void> {
    if (annotations['io.kubernetes.cri.container-type'] === 'container') {
      // It joins its pod's sandbox, whose network the sandbox's own create settled.
      this.joined.add(id);
      return;
    }
    if (this.network !== 'sandbox') return;
    const spec = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8')) as Parameters<typeof checkNetwork>[0]['spec'];
    checkNetwork({ runtime: this.h.name, mode: this.network, spec, version: await this.version() });
  }

  created(id: string, pid: number): void {
    this.sandboxPid.set(id, pid);
    this.collectOrphans();
  }

  /**
   * Has the daemon reap the sandbox and gofer processes runsc leaves it (as their subreaper)
   * the moment they end, not at its next sweep: `runsc delete` waits for a container's gofer
   * to be gone, and a zombie is not gone to it (1-2 s per delete, and containerd then
   * escalated short stop grace periods to SIGKILL). A zombie's argv is empty, so they are
   * found while they run, after each create and start. Watching one twice is harmless.
   */
  private collectOrphans(): void {
    const collect = this.h.collect;
    if (!collect) return;
    const rootArg = `--root=${this.h.root}`;
    for (const pid of childPids()) {
      const argv = readArgv(pid);
      if (argv && GVISOR_PROCESSES.has(argv[0] ?? '') && argv.includes(rootArg)) collect(pid);
    }
  }

  private mark(id: string) {
    let d = this.destroyed.get(id);
    if (!d) {
      let resolve!: (s: number) => void;
      const promise = new Promise<number>((r) => (resolve = r));
      d = { promise, resolve };
      this.destroyed.set(id, d);
    }
    return d;
  }

  /**
   * The container's exit status: `runsc wait` once the container has started, or 137 once
   * we destroyed it. runsc answers `wait` on a pod's container that has not started with
   * an error, and the host pid it gave at create is its sandbox's, which lives on: falling
   * back to that pid would hold the container's exit until the whole pod goes.
   */
  async wait(id: string, runscWait: () => Promise<number>): Promise<number> {
    const d = this.mark(id);
    const asked = this.started(id).promise.then(() => runscWait().catch((err) => (this.destroying.has(id) ? 137 : Promise.reject(err))));
    return Promise.race([asked, d.promise]);
  }

  private readonly starts = new Map<string, { promise: Promise<void>; resolve: () => void }>();
  private started(id: string) {
    let s = this.starts.get(id);
    if (!s) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      s = { promise, resolve };
      this.starts.set(id, s);
    }
    return s;
  }

  /** The container runs (start or restore succeeded): its exit can be asked of runsc. */
  running(id: string): void {
    this.started(id).resolve();
    this.collectOrphans();
  }

  /**
   * `delete --force`, returning once the sandbox's host processes for this container are
   * gone: runsc's own delete does not wait for its gofer, and a pod's RemovePodSandbox
   * must not leave gVisor running behind it.
   */
  async destroy(id: string, bundle: string | undefined, del: () => Promise<void>): Promise<void> {
    this.destroying.add(id);
    const pids = bundle ? sandboxProcesses(this.h.root, bundle) : [];
    try {
      await del();
    } finally {
      this.mark(id).resolve(137);
    }
    await waitGone(pids, GONE_TIMEOUT_MS);
  }

  forget(id: string): void {
    this.destroyed.delete(id);
    this.destroying.delete(id);
    this.sandboxPid.delete(id);
    this.joined.delete(id);
    this.starts.delete(id);
  }

  /**
   * runsc signals only running containers. A created one (its start failed, or never came)
   * and a paused one are ended the only way runsc allows, by destroying them; a signal
   * that would not end a process is refused, naming why.
   */
  async kill(id: string, signal: number, kill: () => Promise<void>, destroy: () => Promise<void>): Promise<void> {
    try {
      await kill();
    } catch (err) {
      const state = refusedSignalState((err as Error).message ?? '');
      if (!state || (state !== 'created' && state !== 'paused')) throw err;
      if (!endsProcess(signal)) throw failedPrecondition(`${this.h.name}: runsc cannot deliver signal ${signal} to a ${state} container; only a signal that ends it (by destroying the sandbox)`, err);
      await destroy();
    }
  }

  /** runsc cannot save a sandbox that uses the host's network stack; say so as a precondition, not an unknown failure. */
  async checkpoint(run: () => Promise<unknown>): Promise<void> {
    try {
      await run();
    } catch (err) {
      if (/not supported when using hostinet/.test((err as Error).message ?? '')) {
        throw failedPrecondition(`${this.h.name}: runsc cannot checkpoint a sandbox on the host kernel's network stack (network = "${this.network}"); checkpoint needs a runtime with network = "none" or "sandbox"`, err);
      }
      throw err;
    }
  }

  /** runsc 20240729 has no `update`: the limits go on the sandbox's host cgroup, which the kernel enforces. */
  update(id: string, resources: unknown): void {
    if (this.joined.has(id)) {
      throw failedPrecondition(`${this.h.name}: container ${id} shares its pod's gVisor sandbox and host cgroup; runsc 20240729 has no update command to limit it alone`);
    }
    const pid = this.sandboxPid.get(id);
    if (!pid) throw failedPrecondition(`${this.h.name}: the sandbox of ${id} is not known to this daemon`);
    applyResources(cgroupOf(pid), resources);
  }
}

/** runsc-sandbox and runsc-gofer processes of one container: runsc names the root and the bundle in their argv. */
export function sandboxProcesses(root: string, bundle: string): number[] {
  const rootArg = `--root=${root}`;
  const bundleArg = `--bundle=${bundle}`;
  return processesWhere((argv) => argv.includes(rootArg) && argv.includes(bundleArg));
}

async function waitGone(pids: number[], ms: number): Promise<void> {
  if (pids.length === 0) return;
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), ms);
  try {
    await Promise.all(pids.map((pid) => processGone(pid, { signal: ac.signal }).catch(() => undefined)));
  } finally {
    clearTimeout(timer);
  }
}
