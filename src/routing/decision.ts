/** The record of one routing decision: what ran where, under which rule, and why. */
import { ShimError, type ErrorKind } from '../errors/index.js';
import type { TaskKind } from './annotations.js';

/**
 * A task the router would not place: the error containerd sees, and the policy rule that
 * governed it (empty when no rule was reached) for metrics and the log.
 */
export class RoutingRefusal extends ShimError {
  constructor(kind: ErrorKind, readonly rule: string, message: string) {
    super(kind, message);
    this.name = 'RoutingRefusal';
  }
}

export interface DecisionInputs {
  /** The annotation that asks for a runtime. */
  annotationKey: string;
  /** Its value on this task, if set. */
  requested?: string;
  /** io.kubernetes.cri.sandbox-namespace; absent for a bare task. */
  k8sNamespace?: string;
  containerdNamespace: string;
  containerType: TaskKind;
  /** io.kubernetes.cri.sandbox-id, for sandboxes and containers. */
  sandboxId?: string;
}

/** Plain data (JSON round-trips), so it can be kept in the state dir and shown by `switchyard why`. */
export interface Decision {
  runtime: string;
  /** The policy rule's name; a container carries its sandbox's rule. */
  rule: string;
  /** True for a CRI container, which runs on its sandbox's runtime. */
  inherited: boolean;
  inputs: DecisionInputs;
  /** The reason in words. */
  reason: string;
  /** ISO 8601 time of the decision. */
  at: string;
}

/** A decision in words, a few lines, for `switchyard why` and the daemon log. */
export function formatDecision(d: Decision): string {
  const i = d.inputs;
  const task =
    i.containerType === 'sandbox'
      ? `pod sandbox ${i.sandboxId ?? '?'} in Kubernetes namespace ${i.k8sNamespace ?? '?'}`
      : i.containerType === 'container'
        ? `container of pod sandbox ${i.sandboxId ?? '?'}${i.k8sNamespace ? ` in Kubernetes namespace ${i.k8sNamespace}` : ''}`
        : 'bare task (no CRI annotations)';
  const asked = i.requested === undefined ? `no ${i.annotationKey} annotation` : `${i.annotationKey}=${i.requested}`;
  return [
    `runtime ${d.runtime}, rule ${d.rule}${d.inherited ? `, inherited from sandbox ${i.sandboxId ?? '?'}` : ''}`,
    `  task:    ${task}, containerd namespace ${i.containerdNamespace}`,
    `  asked:   ${asked}${d.inherited && i.requested !== undefined ? ' (ignored: a container runs on its sandbox\'s runtime)' : ''}`,
    `  reason:  ${d.reason}`,
    `  decided: ${d.at}`,
  ].join('\n');
}
