/**
 * What the CRI plugin of containerd writes into a task's OCI annotations, and what kind of
 * task that makes. Tenants cannot set these keys: containerd writes them itself.
 */
import { invalidArgument } from '../errors/index.js';

export const CRI_CONTAINER_TYPE = 'io.kubernetes.cri.container-type';
export const CRI_SANDBOX_ID = 'io.kubernetes.cri.sandbox-id';
export const CRI_SANDBOX_NAMESPACE = 'io.kubernetes.cri.sandbox-namespace';

/** A pod's sandbox (pause) task, a container of a pod, or a task created without CRI (ctr). */
export type TaskKind = 'sandbox' | 'container' | 'bare';

export interface TaskSubject {
  kind: TaskKind;
  /** The pod's Kubernetes namespace; absent for a bare task. */
  k8sNamespace?: string;
  /** The pod's sandbox id; a sandbox's own id. */
  sandboxId?: string;
}

export function taskSubject(annotations: Readonly<Record<string, string>>): TaskSubject {
  const type = annotations[CRI_CONTAINER_TYPE];
  const sandboxId = annotations[CRI_SANDBOX_ID] || undefined;
  const k8sNamespace = annotations[CRI_SANDBOX_NAMESPACE] || undefined;
  if (type === undefined) return { kind: 'bare' };
  if (type === 'sandbox') {
    // The policy is chosen by namespace: a pod without one cannot be placed safely.
    if (!k8sNamespace) throw invalidArgument(`CRI sandbox without a ${CRI_SANDBOX_NAMESPACE} annotation`);
    return { kind: 'sandbox', k8sNamespace, sandboxId };
  }
  if (type === 'container') {
    if (!sandboxId) throw invalidArgument(`CRI container without a ${CRI_SANDBOX_ID} annotation`);
    return { kind: 'container', k8sNamespace, sandboxId };
  }
  throw invalidArgument(`${CRI_CONTAINER_TYPE}: "${type}" is neither "sandbox" nor "container"`);
}
