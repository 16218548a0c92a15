/**
 * containerd's Sandbox API (`sandboxer = "shim"`): one table of pods, each request
 * validated where it enters, then the pod's PodSandbox does the work. Which PodSandbox a
 * new pod gets (and whether policy lets it run at all) is the placement's, as for tasks.
 *
 * States: created (CreateSandbox) → ready (StartSandbox) → stopped (StopSandbox, or the
 * sandbox's own end) → gone (ShutdownSandbox). CRI reads SandboxStatus.state as a
 * PodSandboxState name, and WaitSandbox's answer as the pod's exit.
 */
import os from 'node:os';
import type { SandboxApi } from '../api/sandbox.js';
import type { MetricsAny } from '../cgroups/index.js';
import { alreadyExists, failedPrecondition, notFound } from '../errors/index.js';
import { timestamp } from '../events/topics.js';
import { validateBundle, validateId } from '../task/validate.js';
import { parsePodConfig, type PodConfig } from './pod-config.js';
import type { NewSandbox, PodSandbox, SandboxExit } from './types.js';

export const READY = 'SANDBOX_READY';
export const NOT_READY = 'SANDBOX_NOTREADY';

export interface SandboxServiceOptions {
  /** Routes a new pod under the node's policy (throws its refusals) and makes its sandbox. */
  place(s: NewSandbox): PodSandbox;
  /** Ends every task of the pod still running (StopSandbox ends everything in the pod). */
  endTasks(sandboxId: string): Promise<void>;
  /** The pod is gone: forget what was kept for it (its routing decision). */
  forget?(sandboxId: string): void;
  /** Called whenever the table becomes empty or stops being empty. */
  onIdle?(idle: boolean): void;
  /** What the pod's sandbox costs now, as containerd's Metric data; undefined when unknown. */
  metrics?(pid: number): Promise<MetricsAny | undefined>;
}

/** One pod as the service keeps it. */
export interface PodEntry {
  id: string;
  bundle: string;
  pod: PodConfig;
  sandbox: PodSandbox;
  createdAt: Date;
  state: 'created' | 'ready' | 'stopped';
  pid: number;
  exit?: SandboxExit;
  /** Settles once the pod has stopped (or ended by itself). */
  done: Promise<SandboxExit>;
  finish(e: SandboxExit): void;
}

/** Go's names for the CPU, which containerd's platforms use. */
const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

export class SandboxService implements SandboxApi {
  private readonly pods = new Map<string, PodEntry>();
  private readonly creating = new Set<string>();

  constructor(private readonly o: SandboxServiceOptions) {}

  get size(): number {
    return this.pods.size + this.creating.size;
  }

  /** The pods this daemon serves, for the CLI. */
  list(): PodEntry[] {
    return [...this.pods.values()];
  }

  has(id: string): boolean {
    return this.pods.has(id);
  }

  private entry(req: { sandboxId?: string | null }): PodEntry {
    const id = validateId(req.sandboxId, 'sandbox_id');
    const e = this.pods.get(id);
    if (!e) throw notFound(`sandbox ${id} not found`);
    return e;
  }

  CreateSandbox: SandboxApi['CreateSandbox'] = async (req) => {
    const id = validateId(req.sandboxId, 'sandbox_id');
    const bundle = validateBundle(req.bundlePath);
    const pod = parsePodConfig(req.options, req.annotations);
    if (this.pods.has(id) || this.creating.has(id)) throw alreadyExists(`sandbox ${id} already exists`);
    this.creating.add(id);
    this.o.onIdle?.(false);
    try {
      const sandbox = this.o.place({ id, bundle, netnsPath: req.netnsPath ?? '', pod });
      try {
        await sandbox.create?.(req);
      } catch (err) {
        this.o.forget?.(id);
        throw err;
      }
      let finish: (e: SandboxExit) => void = () => undefined;
      const done = new Promise<SandboxExit>((r) => (finish = r));
      this.pods.set(id, { id, bundle, pod, sandbox, createdAt: new Date(), state: 'created', pid: 0, done, finish });
      return {};
    } finally {
      this.creating.delete(id);
      this.idleCheck();
    }
  };

  StartSandbox: SandboxApi['StartSandbox'] = async (req) => {
    const e = this.entry(req);
    if (e.state !== 'created') throw failedPrecondition(`sandbox ${e.id} is ${e.state}: it can be started only once`);
    e.pid = await e.sandbox.start();
    e.state = 'ready';
    void e.sandbox.exited().then((exit) => {
      e.exit ??= exit;
      e.state = 'stopped';
      e.finish(e.exit);
    });
    return { pid: e.pid, createdAt: timestamp(e.createdAt) };
  };

  Platform: SandboxApi['Platform'] = async (req) => {
    this.entry(req);
    return { platform: { os: 'linux', architecture: GOARCH[os.arch()] ?? os.arch() } };
  };

  StopSandbox: SandboxApi['StopSandbox'] = async (req) => {
    const e = this.entry(req);
    await this.stop(e, (req.timeoutSecs ?? 0) * 1000);
    return {};
  };

  private async stop(e: PodEntry, timeoutMs: number): Promise<void> {
    await this.o.endTasks(e.id);
    if (e.state === 'created') {
      // Never started: nothing runs, and a waiter learns so at once.
      e.state = 'stopped';
      e.exit = { status: 0, at: new Date() };
      e.finish(e.exit);
      return;
    }
    await e.sandbox.stop(timeoutMs);
    await e.done;
  }

  WaitSandbox: SandboxApi['WaitSandbox'] = async (req, ctx) => {
    const e = this.entry(req);
    const exit = await new Promise<SandboxExit>((resolve, reject) => {
      const onAbort = () => reject(failedPrecondition(`wait for sandbox ${e.id}: the call was cancelled`));
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      void e.done.then((x) => {
        ctx.signal.removeEventListener('abort', onAbort);
        resolve(x);
      });
    });
    return { exitStatus: exit.status, exitedAt: timestamp(exit.at) };
  };

  SandboxStatus: SandboxApi['SandboxStatus'] = async (req) => {
    const e = this.entry(req);
    const info: Record<string, string> = req.verbose ? { runtime: e.sandbox.runtime, bundle: e.bundle, state: e.state } : {};
    return {
      sandboxId: e.id,
      pid: e.state === 'ready' ? e.pid : 0,
      state: e.state === 'ready' ? READY : NOT_READY,
      info,
      createdAt: timestamp(e.createdAt),
      exitedAt: e.exit ? timestamp(e.exit.at) : null,
    };
  };

  PingSandbox: SandboxApi['PingSandbox'] = async (req) => {
    const e = this.entry(req);
    if (e.state !== 'ready') throw failedPrecondition(`sandbox ${e.id} is ${e.state}`);
    return {};
  };

  ShutdownSandbox: SandboxApi['ShutdownSandbox'] = async (req) => {
    const id = validateId(req.sandboxId, 'sandbox_id');
    const e = this.pods.get(id);
    // containerd deletes the bundle only after a successful answer: an unknown pod is done.
    if (!e) return {};
    if (e.state !== 'stopped') await this.stop(e, 0);
    await e.sandbox.release();
    this.pods.delete(id);
    this.o.forget?.(id);
    this.idleCheck();
    return {};
  };

  SandboxMetrics: SandboxApi['SandboxMetrics'] = async (req) => {
    const e = this.entry(req);
    if (e.state !== 'ready') throw failedPrecondition(`sandbox ${e.id} is ${e.state}: no metrics`);
    const data = await this.o.metrics?.(e.pid);
    if (!data) throw failedPrecondition(`sandbox ${e.id}: its cgroup cannot be read`);
    return { metrics: { timestamp: timestamp(new Date()), id: e.id, data } };
  };

  private idleCheck(): void {
    if (this.size === 0) this.o.onIdle?.(true);
  }
}
