/**
 * What a CreateSandbox request says about the pod, validated once where it enters: CRI's
 * PodSandboxConfig arrives in `options` (containerd 2.1 sends no `annotations`), and from it
 * the shim takes who the pod is (routing and policy), which namespaces it shares, its
 * hostname and its cgroup parent.
 */
import { runtime } from '../gen/proto.js';
import { invalidArgument, unimplemented } from '../errors/index.js';
import { CRI_CONTAINER_TYPE, CRI_SANDBOX_ID, CRI_SANDBOX_NAMESPACE } from '../routing/annotations.js';

/** Where a pod namespace comes from: a new one for the pod, or the node's. */
export type NsMode = 'pod' | 'node';

export interface PodConfig {
  name: string;
  uid: string;
  /** The pod's Kubernetes namespace: the policy is chosen by it. */
  k8sNamespace: string;
  hostname: string;
  /** The pod's annotations, as the tenant wrote them. */
  annotations: Record<string, string>;
  cgroupParent: string;
  /** Which of the pod's namespaces the sandbox makes (network: from netns_path). */
  namespaces: { network: NsMode; ipc: NsMode; pid: NsMode };
  logDirectory: string;
}

interface AnyLike {
  type_url?: string | null;
  value?: Uint8Array | null;
}

const M = runtime.v1.NamespaceMode;

function mode(v: number | null | undefined, what: string, allowContainer: boolean): NsMode {
  switch (v ?? M.POD) {
    case M.POD:
      return 'pod';
    case M.NODE:
      return 'node';
    case M.CONTAINER:
      // A pid namespace per container: the sandbox has none to share.
      if (allowContainer) return 'node';
      break;
  }
  throw invalidArgument(`pod ${what} namespace mode ${v}: only POD and NODE can be a pod's`);
}

export function parsePodConfig(options: AnyLike | null | undefined, annotations: Record<string, string> | null | undefined): PodConfig {
  const value = options?.value;
  if (!value || value.length === 0) throw invalidArgument('CreateSandbox: options must carry the pod\'s PodSandboxConfig');
  let cfg: runtime.v1.PodSandboxConfig;
  try {
    cfg = runtime.v1.PodSandboxConfig.decode(value);
  } catch (err) {
    throw invalidArgument(`CreateSandbox: options (${options?.type_url || 'no type'}) is not a PodSandboxConfig: ${(err as Error).message}`, err);
  }
  const meta = cfg.metadata;
  if (!meta?.namespace) throw invalidArgument('CreateSandbox: the PodSandboxConfig names no Kubernetes namespace');
  const ns = cfg.linux?.securityContext?.namespaceOptions;
  if (ns?.usernsOptions && ns.usernsOptions.mode === M.POD) {
    throw unimplemented('CreateSandbox: a pod user namespace is not supported by this sandbox');
  }
  return {
    name: meta.name ?? '',
    uid: meta.uid ?? '',
    k8sNamespace: meta.namespace,
    hostname: cfg.hostname ?? '',
    annotations: { ...(cfg.annotations ?? {}), ...(annotations ?? {}) },
    cgroupParent: cfg.linux?.cgroupParent ?? '',
    namespaces: {
      network: mode(ns?.network, 'network', false),
      ipc: mode(ns?.ipc, 'ipc', false),
      pid: mode(ns?.pid ?? M.CONTAINER, 'pid', true),
    },
    logDirectory: cfg.logDirectory ?? '',
  };
}

/**
 * The annotations the router reads for a pod, as CRI writes them on a pause container: the
 * tenant's own annotations, then the CRI keys, which the tenant cannot override.
 */
export function routingAnnotations(sandboxId: string, pod: PodConfig): Record<string, string> {
  return { ...pod.annotations, [CRI_CONTAINER_TYPE]: 'sandbox', [CRI_SANDBOX_ID]: sandboxId, [CRI_SANDBOX_NAMESPACE]: pod.k8sNamespace };
}
