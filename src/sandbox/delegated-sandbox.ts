/**
 * A pod routed to a delegate shim (Kata's, Kuasar's) on a `sandboxer = "shim"` handler:
 * the delegate is started for the sandbox bundle as containerd would start it, and the
 * Sandbox API is forwarded to it, its status codes passed through. A delegate that does not
 * serve the API (runc-v2, gVisor's shim) or cannot start without a pause container's
 * config.json is refused with FailedPrecondition, and left with nothing running.
 */
import type { SandboxServiceDefinition } from '../api/sandbox.js';
import { Code, describe, failedPrecondition, StatusError } from '../errors/index.js';
import type { ServiceClient } from '../transport/service.js';
import type { NewSandbox, PodSandbox, SandboxExit } from './types.js';

export interface DelegateConnection {
  sandbox: ServiceClient<SandboxServiceDefinition>;
  close(): void;
}

export interface DelegateSandboxDeps {
  /** The delegate's binary, for messages. */
  binary: string;
  /** Runs the delegate's `start` in the sandbox bundle; resolves with its address. */
  start(): Promise<string>;
  connect(address: string): Promise<DelegateConnection>;
  /** Runs the delegate's `delete` (best effort cleanup after a refusal or a shutdown). */
  remove(): Promise<void>;
}

/** What CreateSandbox carried, forwarded as is. */
export type ForwardedCreate = Parameters<ServiceClient<SandboxServiceDefinition>['CreateSandbox']>[0];

/** The exit a delegate could not report (its connection went): unknown, as containerd says it. */
const LOST = 255;

export class DelegatedSandbox implements PodSandbox {
  private conn: DelegateConnection | undefined;
  private exit: Promise<SandboxExit> | undefined;

  constructor(
    readonly runtime: string,
    private readonly s: NewSandbox,
    private readonly deps: DelegateSandboxDeps,
  ) {}

  private get id() {
    return { sandboxId: this.s.id };
  }

  private client(): ServiceClient<SandboxServiceDefinition> {
    if (!this.conn) throw failedPrecondition(`sandbox ${this.s.id}: its delegate ${this.deps.binary} is not connected`);
    return this.conn.sandbox;
  }

  async create(req: ForwardedCreate): Promise<void> {
    let address: string;
    try {
      address = await this.deps.start();
    } catch (err) {
      throw failedPrecondition(`runtime "${this.runtime}" chosen for sandbox ${this.s.id} is a delegate shim that could not start for a pod without a pause container: ${describe(err)}`, err);
    }
    try {
      this.conn = await this.deps.connect(address);
      await this.conn.sandbox.CreateSandbox(req);
    } catch (err) {
      await this.abandon();
      if (err instanceof StatusError && err.code === Code.Unimplemented) {
        throw failedPrecondition(
          `runtime "${this.runtime}" chosen for sandbox ${this.s.id} is a delegate shim (${this.deps.binary}) that does not serve containerd's Sandbox API: run this pod through a podsandbox handler (a pause container) instead`,
          err,
        );
      }
      throw err;
    }
  }

  async start(): Promise<number> {
    const res = await this.client().StartSandbox(this.id);
    const waited = this.client().WaitSandbox(this.id);
    this.exit = waited.then(
      (w) => ({ status: w.exitStatus ?? 0, at: w.exitedAt ? new Date((w.exitedAt.seconds ?? 0) * 1000 + Math.floor((w.exitedAt.nanos ?? 0) / 1e6)) : new Date() }),
      () => ({ status: LOST, at: new Date() }),
    );
    return res.pid ?? 0;
  }

  exited(): Promise<SandboxExit> {
    if (!this.exit) throw failedPrecondition(`sandbox ${this.s.id} was never started`);
    return this.exit;
  }

  async stop(timeoutMs: number): Promise<void> {
    if (!this.conn) return;
    await this.client().StopSandbox({ ...this.id, timeoutSecs: Math.ceil(timeoutMs / 1000) });
    await this.exit;
  }

  async release(): Promise<void> {
    if (!this.conn) return;
    await this.client()
      .ShutdownSandbox(this.id)
      .catch(() => undefined);
    await this.abandon();
  }

  private async abandon(): Promise<void> {
    this.conn?.close();
    this.conn = undefined;
    await this.deps.remove().catch(() => undefined);
  }
}
