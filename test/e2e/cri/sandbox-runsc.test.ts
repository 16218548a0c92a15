/**
 * A gVisor pod without a pause container on containerd 2.1.9 (`sandboxer = "shim"`): the
 * daemon creates the pod's gVisor sandbox at StartSandbox, the pod's containers join it,
 * and RemovePodSandbox leaves no gVisor process, runsc state or mount behind. runsc runs
 * with network = "host": gVisor then uses the pod's own network namespace (CNI) through
 * the host kernel (runsc 20240729's own stack cannot run on this kernel, gVisor issue 10704).
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { requireCommands, requireE2E } from '../lib/prereq.js';
import { criContainerd, CRI_NAMESPACE } from '../lib/cri-env.js';
import { alive, nsOf, runNetworkPod, SANDBOX_HANDLER, sandboxHandler, writeCniConfig } from '../lib/cri-sandbox.js';
import { gvisorProcesses, requireRunsc } from '../lib/runsc.js';
import { sandboxControllerStatus, sandboxControllerWait } from '../lib/tasks-api.js';
import { mountsUnder } from '../lib/cleanup.js';
import { waitFor } from '../lib/wait.js';

const KEY = 'switchyard.dev/runtime';
const runsc = requireE2E(t) && requireCommands(t, ['/usr/lib/cni/ptp', '/usr/lib/cni/host-local', '/usr/lib/cni/loopback']) ? requireRunsc(t) : undefined;

if (runsc) {
  const env = criContainerd(t, {
    containerd: { version: '2.1' },
    handlers: { [SANDBOX_HANDLER]: sandboxHandler() },
    switchyardToml: ['[runtimes.runsc]', `binary = "${runsc}"`, '', '[runtimes.runsc.runsc_config]', 'network = "host"', ''].join('\n'),
  });
  t.before(() => writeCniConfig(env, '10.244.92.0/24'));
  const root = () => path.join(env.switchyardStateDir, 'runsc', CRI_NAMESPACE);
  const sandboxes = () => gvisorProcesses(root()).filter((p) => p.kind === 'runsc-sandbox');
  const ctrContainers = async () => (await env.c.ctr(['containers', 'ls', '-q'], { namespace: CRI_NAMESPACE })).stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  const status = (id: string) => sandboxControllerStatus(env.c.address, CRI_NAMESPACE, id);
  const bundleOf = (id: string) => path.join(env.c.state, 'io.containerd.runtime.v2.task', CRI_NAMESPACE, id);
  const runscState = () => (fs.existsSync(root()) ? fs.readdirSync(root()).filter((f) => f.endsWith('.state')) : []);

  t.test('runsc pod through the Sandbox API: one gVisor sandbox made at StartSandbox, two containers in it, nothing left', async (t) => {
    const cri = env.cri;
    const pod = await runNetworkPod(env, { name: 'sb-gvisor', namespace: 'default', runtimeHandler: SANDBOX_HANDLER, annotations: { [KEY]: 'runsc' } });
    let removed = false;
    t.teardown(() => (removed ? undefined : cri.stopAndRemovePod(pod).catch(() => undefined)));

    const st = await status(pod);
    t.equal(st.state, 'SANDBOX_READY', 'SandboxStatus: ready');
    const sb = sandboxes();
    t.equal(sb.length, 1, 'StartSandbox made one runsc-sandbox for the pod');
    t.equal(st.pid, sb[0]?.pid, 'the sandbox pid is the runsc-sandbox process');
    t.ok(runscState().some((f) => f.startsWith(pod)), 'runsc knows the pod\'s root container by the sandbox id');
    const ip = (await cri.podSandboxStatus(pod)).status?.network?.ip ?? '';
    t.match(ip, /^10\.244\.92\./, `CNI gave the pod ${ip}`);

    const a = await cri.createAndStart(pod, undefined, { name: 'a', image: env.busybox, command: ['sleep', '1000'] });
    const b = await cri.createAndStart(pod, undefined, { name: 'b', image: env.busybox, command: ['sleep', '1000'] });
    t.same((await ctrContainers()).sort(), [a, b].sort(), 'containerd holds only the pod\'s two containers: no pause container');
    t.equal(sandboxes().length, 1, 'still one runsc-sandbox with two containers');

    const dmesg = async (id: string) => (await cri.execSync(id, ['dmesg'], 20)).stdout.toString().trim();
    const [da, db] = [await dmesg(a), await dmesg(b)];
    t.match(da, /Starting gVisor/, 'ExecSync: container a runs in gVisor');
    t.ok(da.length > 0 && da === db, 'both containers read one gVisor kernel\'s boot log');
    const addrs = (await cri.execSync(b, ['cat', '/proc/net/fib_trie'], 20)).stdout.toString() + (await cri.execSync(b, ['ip', 'addr'], 20)).stdout.toString();
    t.match(addrs, new RegExp(ip.replace(/\./g, '\\.')), 'inside gVisor, the pod\'s own address');
    // gVisor's own namespaces, as its /proc shows them to the containers.
    const nsInside = async (id: string) => {
      const out = (await cri.execSync(id, ['sh', '-c', 'for n in ipc net uts pid; do echo "$n $(readlink /proc/self/ns/$n)"; done'], 20)).stdout.toString();
      return Object.fromEntries(out.trim().split('\n').map((l) => l.split(' ') as [string, string]));
    };
    const [na, nb] = [await nsInside(a), await nsInside(b)];
    for (const ns of ['net', 'ipc', 'uts']) t.ok(na[ns] && na[ns] === nb[ns], `inside gVisor, a and b share the pod's ${ns} namespace (${na[ns]})`);
    t.not(na.pid, nb.pid, 'each has its own pid namespace');
    t.not(nsOf(st.pid, 'net'), nsOf(process.pid, 'net'), 'the sandbox process sits in a network namespace of its own (the pod\'s), not the node\'s');

    await cri.stopPodSandbox(pod);
    t.notOk(alive(st.pid), 'StopPodSandbox ended the gVisor sandbox');
    t.equal((await cri.podSandboxStatus(pod)).status?.state, 'SANDBOX_NOTREADY', 'CRI: NOTREADY once stopped');
    await cri.removePodSandbox(pod);
    removed = true;
    t.same(gvisorProcesses(root()).map((p) => `${p.pid} ${p.kind}`), [], 'no gVisor process left once RemovePodSandbox returns');
    t.same(runscState(), [], 'no runsc state left');
    t.same(await ctrContainers(), [], 'no container left in containerd');
    t.notOk(fs.existsSync(bundleOf(pod)), 'the sandbox bundle is gone');
    t.same(mountsUnder(env.c.dir), [], 'no mount left');
  });

  t.test('killing the gVisor sandbox: WaitSandbox returns and the pod reports NOTREADY', async (t) => {
    const cri = env.cri;
    const pod = await runNetworkPod(env, { name: 'sb-gvisor-kill', namespace: 'default', runtimeHandler: SANDBOX_HANDLER, annotations: { [KEY]: 'runsc' } });
    t.teardown(() => cri.stopAndRemovePod(pod).catch(() => undefined));
    const pid = (await status(pod)).pid;
    const wait = sandboxControllerWait(env.c.address, CRI_NAMESPACE, pod);
    process.kill(pid, 'SIGKILL');
    t.equal(await wait, 137, 'WaitSandbox returns the sandbox\'s death');
    t.ok(await waitFor(async () => (await cri.podSandboxStatus(pod)).status?.state === 'SANDBOX_NOTREADY'), 'CRI reports the pod NOTREADY');
    await cri.stopAndRemovePod(pod);
    t.same(gvisorProcesses(root()).map((p) => `${p.pid} ${p.kind}`), [], 'no gVisor process left');
    t.same(runscState(), [], 'no runsc state left');
  });
}
