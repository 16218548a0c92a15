/**
 * The pod-level plug: what a pod's sandbox is to the Sandbox service, whatever runs it. The
 * runc/crun kind is a namespace holder the daemon owns; the runsc kind is the pod's gVisor
 * sandbox. The service keeps the table and the states; a PodSandbox only does the work.
 */
import type { SandboxApi } from '../api/sandbox.js';
import type { PodConfig } from './pod-config.js';

export interface SandboxExit {
  status: number;
  at: Date;
}

export interface NewSandbox {
  id: string;
  bundle: string;
  /** The pod's network namespace from CRI; empty for a host-network pod. */
  netnsPath: string;
  pod: PodConfig;
}

export interface PodSandbox {
  /** The runtime's name in the config (the routing decision's). */
  readonly runtime: string;
  /** Whatever must exist before CreateSandbox answers (a delegate, started and asked); given the request as sent. */
  create?(request: Parameters<SandboxApi['CreateSandbox']>[0]): Promise<void>;
  /** Makes the pod's sandbox; resolves with the pid CRI points the containers' namespaces at. */
  start(): Promise<number>;
  /** Resolves once the sandbox is gone, whether stopped or crashed. Only after start. */
  exited(): Promise<SandboxExit>;
  /** Ends the sandbox and everything running in it, and waits for it to be gone. */
  stop(timeoutMs: number): Promise<void>;
  /** Releases whatever is left on the node (runtime state, cgroups); idempotent. */
  release(): Promise<void>;
}
