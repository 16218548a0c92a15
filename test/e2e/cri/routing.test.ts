/**
 * The mission through CRI, as kubelet drives it: one RuntimeClass handler, the runtime
 * chosen per pod by annotation under the node's policy, a pod's containers always on
 * their sandbox's runtime, and refusals that name the rule. Nothing is downgraded.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { requireCommands, requireE2E } from '../lib/prereq.js';
import { execa } from 'execa';
import { criContainerd, CRI_NAMESPACE, SWITCHYARD_HANDLER } from '../lib/cri-env.js';

const KEY = 'switchyard.dev/runtime';

if (requireE2E(t) && requireCommands(t, ['crun', 'unshare'])) {
  const env = criContainerd(t, {
    // runc < crun here, for the sake of the test: a tenant whose default is crun may not ask for runc.
    switchyardToml: [
      '[policy]',
      'isolation = ["runc", "crun", "runsc"]',
      '[[policy.rules]]',
      'name = "tenants"',
      'namespaces = ["tenant-*"]',
      'allow = ["runc", "crun", "runsc"]',
      'default = "crun"',
      'harden_only = true',
      '',
    ].join('\n'),
  });
  const decision = (id: string) => JSON.parse(fs.readFileSync(path.join(env.switchyardStateDir, 'decisions', CRI_NAMESPACE, `${id}.json`), 'utf8'));
  const crunRoot = () => path.join(env.switchyardStateDir, 'crun', CRI_NAMESPACE);

  t.before(() => env.c.addRuntimeRoot(crunRoot()));

  /** Container ids in a runtime's own state: `runc --root R list -q`, `crun --root R list -q`. */
  const listed = async (runtime: 'runc' | 'crun', root: string) =>
    (await execa(runtime, ['--root', root, 'list', '-q'], { reject: false })).stdout.split('\n').map((l) => l.trim()).filter(Boolean);

  t.test('a pod annotated runc runs on runc, with its container', async (t) => {
    const cri = env.cri;
    const pod = await cri.runPod({ name: 'wants-runc', namespace: 'default', runtimeHandler: SWITCHYARD_HANDLER, annotations: { [KEY]: 'runc' } });
    t.teardown(() => cri.stopAndRemovePod(pod).catch(() => undefined));
    const ctr = await cri.createAndStart(pod, undefined, { name: 'main', image: env.busybox, command: ['sleep', '1000'], annotations: { [KEY]: 'crun' } });
    const runcIds = await listed('runc', env.switchyardRuncRoot);
    t.ok(runcIds.includes(pod) && runcIds.includes(ctr), 'runc --root R list shows the sandbox and its container');
    t.notOk((await listed('crun', crunRoot())).includes(ctr), 'crun does not');
    t.match(decision(ctr), { runtime: 'runc', inherited: true });
  });

  t.test('a pod asking for crun runs on crun; its container follows the sandbox whatever it asks', async (t) => {
    const cri = env.cri;
    const pod = await cri.runPod({ name: 'wants-crun', namespace: 'default', runtimeHandler: SWITCHYARD_HANDLER, annotations: { [KEY]: 'crun' } });
    t.teardown(() => cri.stopAndRemovePod(pod).catch(() => undefined));
    t.match(decision(pod), { runtime: 'crun', inherited: false, inputs: { containerType: 'sandbox', k8sNamespace: 'default', requested: 'crun' } });
    const ctr = await cri.createAndStart(pod, undefined, { name: 'main', image: env.busybox, command: ['sleep', '1000'], annotations: { [KEY]: 'runc' } });
    const d = decision(ctr);
    t.match(d, { runtime: 'crun', inherited: true, inputs: { containerType: 'container', sandboxId: pod } }, 'the container inherits crun');
    const crunIds = await listed('crun', crunRoot());
    t.ok(crunIds.includes(pod) && crunIds.includes(ctr), 'crun --root R list shows the sandbox and its container');
    t.notOk((await listed('runc', env.switchyardRuncRoot)).includes(ctr), 'runc does not');
    const r = await cri.execSync(ctr, ['echo', 'on-crun'], 10);
    t.equal(r.stdout.toString().trim(), 'on-crun');
  });

  t.test('policy: a tenant gets its default, may harden, may not weaken', async (t) => {
    const cri = env.cri;
    const plain = await cri.runPod({ name: 'plain', namespace: 'tenant-a', runtimeHandler: SWITCHYARD_HANDLER });
    t.teardown(() => cri.stopAndRemovePod(plain).catch(() => undefined));
    t.match(decision(plain), { runtime: 'crun', rule: 'tenants' }, 'the rule default, not the node default');

    const weaker = await cri.runPod({ name: 'weaker', namespace: 'tenant-a', runtimeHandler: SWITCHYARD_HANDLER, annotations: { [KEY]: 'runc' } }).catch((e: Error) => e);
    t.ok(weaker instanceof Error, 'runc refused');
    t.match((weaker as Error).message, /runtime "runc" refused/);
    t.match((weaker as Error).message, /tenants/, 'names the rule');

    // Stronger is allowed by policy; runsc is not installed, so it fails as not installed, never falling back.
    const stronger = await cri.runPod({ name: 'stronger', namespace: 'tenant-a', runtimeHandler: SWITCHYARD_HANDLER, annotations: { [KEY]: 'runsc' } }).catch((e: Error) => e);
    t.ok(stronger instanceof Error, 'runsc is missing here');
    t.match((stronger as Error).message, /runsc.*not installed/);

    const listed = await cri.listPodSandbox();
    const names = listed.filter((p) => p.state === 'SANDBOX_READY').map((p) => p.metadata?.name);
    t.notOk(names.includes('weaker') || names.includes('stronger'), 'no refused pod is running on anything');
  });
}
