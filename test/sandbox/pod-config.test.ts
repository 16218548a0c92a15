import t from 'tap';
import { runtime } from '../../src/gen/proto.js';
import { parsePodConfig, routingAnnotations } from '../../src/sandbox/pod-config.js';
import { kindOf } from '../helpers/error-kind.js';

const M = runtime.v1.NamespaceMode;
const any = (cfg: Parameters<typeof runtime.v1.PodSandboxConfig.create>[0]) => ({
  type_url: 'runtime.v1.PodSandboxConfig',
  value: runtime.v1.PodSandboxConfig.encode(runtime.v1.PodSandboxConfig.create(cfg)).finish(),
});
const kind = kindOf;

t.test('a PodSandboxConfig in options: who the pod is, its namespaces, cgroup parent', async (t) => {
  const pod = parsePodConfig(
    any({
      metadata: { name: 'web', uid: 'u1', namespace: 'tenant-a' },
      hostname: 'web',
      annotations: { 'switchyard.dev/runtime': 'runsc' },
      linux: { cgroupParent: '/kubepods/podu1', securityContext: { namespaceOptions: { network: M.POD, ipc: M.POD, pid: M.CONTAINER } } },
    }),
    {},
  );
  t.match(pod, { name: 'web', uid: 'u1', k8sNamespace: 'tenant-a', hostname: 'web', cgroupParent: '/kubepods/podu1', namespaces: { network: 'pod', ipc: 'pod', pid: 'node' } });
  t.same(pod.annotations, { 'switchyard.dev/runtime': 'runsc' });
  const shared = parsePodConfig(any({ metadata: { namespace: 'x' }, linux: { securityContext: { namespaceOptions: { network: M.NODE, ipc: M.NODE, pid: M.POD } } } }), null);
  t.same(shared.namespaces, { network: 'node', ipc: 'node', pid: 'pod' }, 'host network and IPC, a shared pid namespace');
});

t.test('bad input is refused with its reason', async (t) => {
  t.match(kind(() => parsePodConfig(undefined, undefined)), /^invalid-argument: .*must carry the pod's PodSandboxConfig/);
  t.match(kind(() => parsePodConfig({ type_url: 'x', value: Buffer.from([0xff, 0xff, 0xff]) }, undefined)), /^invalid-argument: .*is not a PodSandboxConfig/);
  t.match(kind(() => parsePodConfig(any({ metadata: { name: 'n' } }), undefined)), /^invalid-argument: .*names no Kubernetes namespace/);
  t.match(kind(() => parsePodConfig(any({ metadata: { namespace: 'a' }, linux: { securityContext: { namespaceOptions: { ipc: M.TARGET } } } }), undefined)), /^invalid-argument: pod ipc namespace mode 3/);
  t.match(kind(() => parsePodConfig(any({ metadata: { namespace: 'a' }, linux: { securityContext: { namespaceOptions: { usernsOptions: { mode: M.POD } } } } }), undefined)), /^unimplemented: .*user namespace/);
});

t.test('routing annotations: CRI\'s keys win over the tenant\'s', async (t) => {
  const pod = parsePodConfig(any({ metadata: { namespace: 'tenant-a' }, annotations: { 'io.kubernetes.cri.sandbox-namespace': 'kube-system', 'io.kubernetes.cri.container-type': 'container', k: 'v' } }), {});
  t.same(routingAnnotations('sb1', pod), {
    k: 'v',
    'io.kubernetes.cri.container-type': 'sandbox',
    'io.kubernetes.cri.sandbox-id': 'sb1',
    'io.kubernetes.cri.sandbox-namespace': 'tenant-a',
  });
});
