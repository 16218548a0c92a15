/* eslint-disable @typescript-eslint/no-explicit-any -- untyped parsed TOML and YAML documents, walked by hand */
// deploy/*.yaml against Kubernetes' own OpenAPI schemas (kubernetes-models bundles the JSON
// schemas generated from them; no cluster needed), and against what the installer writes.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import { Namespace, ServiceAccount } from 'kubernetes-models/v1';
import { DaemonSet } from 'kubernetes-models/apps/v1';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { RuntimeClass } from 'kubernetes-models/node.k8s.io/v1';
import { ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding } from 'kubernetes-models/admissionregistration.k8s.io/v1';
import { repoRoot } from '../e2e/lib/image.js';
import { handlerSet } from '../../src/install/handlers.js';
import { READY_LABEL } from '../../src/install/kube.js';

const MODELS: Record<string, new (o: any) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/DaemonSet': DaemonSet,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
  'node.k8s.io/v1/RuntimeClass': RuntimeClass,
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy': ValidatingAdmissionPolicy,
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding': ValidatingAdmissionPolicyBinding,
};

const deploy = path.join(repoRoot(), 'deploy');
const files = ['namespace.yaml', 'rbac.yaml', 'daemonset.yaml', 'runtimeclasses.yaml', 'cleanup/daemonset.yaml'];
const objects: { file: string; obj: any }[] = [];
for (const f of files) {
  for (const d of parseAllDocuments(fs.readFileSync(path.join(deploy, f), 'utf8'))) {
    if (d.errors.length) throw new Error(`${f}: ${d.errors[0]!.message}`);
    objects.push({ file: f, obj: d.toJS() });
  }
}

t.test('every object validates against its Kubernetes schema', async (t) => {
  t.same(fs.readdirSync(deploy).filter((f) => f.endsWith('.yaml')).sort(), files.filter((f) => !f.includes('/')).sort(), 'every manifest is checked');
  for (const { file, obj } of objects) {
    const model = MODELS[`${obj.apiVersion}/${obj.kind}`];
    t.ok(model, `${file}: a schema for ${obj.apiVersion} ${obj.kind}`);
    t.doesNotThrow(() => new model!(obj).validate(), `${file}: ${obj.kind} ${obj.metadata?.name}`);
  }
});

t.test('the validator does refuse a bad object (it is not a no-op)', async (t) => {
  t.throws(() => new RuntimeClass({ metadata: { name: 'x' } } as any).validate(), /handler/);
  t.throws(() => new DaemonSet({ metadata: { name: 'x' }, spec: { selector: {}, template: { spec: { containers: [{ name: 1 }] } } } } as any).validate());
});

t.test('the manifests agree with the installer and the image', async (t) => {
  const version = JSON.parse(fs.readFileSync(path.join(repoRoot(), 'package.json'), 'utf8')).version;
  const classes = objects.filter((o) => o.obj.kind === 'RuntimeClass').map((o) => o.obj);
  t.same(classes.map((c) => c.handler).sort(), handlerSet([{ name: 'gvisor', runtime: 'runsc' }], {}).handlers.map((h) => h.name).sort(), 'one class per handler the installer registers');
  for (const c of classes) t.same(c.scheduling.nodeSelector, { [READY_LABEL]: 'true' }, `${c.metadata.name} waits for the label`);
  for (const ds of objects.filter((o) => o.obj.kind === 'DaemonSet').map((o) => o.obj)) {
    const pod = ds.spec.template.spec;
    const c = pod.containers[0];
    t.equal(c.image, `switchyard.dev/node:${version}`, 'the image make node-image builds');
    t.equal(pod.hostPID, true, 'the restart enters the host pid 1 namespaces');
    t.equal(c.securityContext.privileged, true);
    t.same(pod.volumes[0].hostPath, { path: '/', type: 'Directory' });
    t.equal(c.volumeMounts[0].mountPath, '/host');
    t.same(c.args.slice(1, 3), ['--host-root', '/host']);
    t.same(c.env.find((e: any) => e.name === 'NODE_NAME').valueFrom, { fieldRef: { fieldPath: 'spec.nodeName' } });
    if (c.args[0] === 'install') t.same(c.readinessProbe.exec.command, ['/opt/switchyard/bin/switchyard', 'node', 'doctor', '--host-root', '/host']);
  }
});
