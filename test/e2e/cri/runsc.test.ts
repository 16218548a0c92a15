/**
 * A CRI pod on real gVisor: the pod annotated runsc gets one gVisor sandbox (one
 * runsc-sandbox process), its containers run inside it, and RemovePodSandbox returns only
 * once every gVisor process of the pod is gone. runsc runs with network = "host": a
 * host-network pod uses the host's network, a CNI pod its own namespace through the host
 * kernel (this kernel stops runsc 20240729's own network stack, gVisor issue 10704).
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { requireE2E } from '../lib/prereq.js';
import { criContainerd, CRI_NAMESPACE, SWITCHYARD_HANDLER } from '../lib/cri-env.js';
import { gvisorProcesses, requireRunsc } from '../lib/runsc.js';
import { waitFor } from '../lib/wait.js';

const KEY = 'switchyard.dev/runtime';
const runsc = requireE2E(t) ? requireRunsc(t) : undefined;

if (runsc) {
  const env = criContainerd(t, {
    switchyardToml: ['[runtimes.runsc]', `binary = "${runsc}"`, '', '[runtimes.runsc.runsc_config]', 'network = "host"', ''].join('\n'),
  });
  const root = () => path.join(env.switchyardStateDir, 'runsc', CRI_NAMESPACE);
  const sandboxes = () => gvisorProcesses(root()).filter((p) => p.kind === 'runsc-sandbox');

  const ctrTasks = async () => {
    const out: Record<string, { pid: number; status: string }> = {};
    for (const line of (await env.c.ctr(['tasks', 'ls'], { namespace: CRI_NAMESPACE })).stdout.split('\n').slice(1)) {
      const [id, pid, status] = line.trim().split(/\s+/);
      if (id) out[id] = { pid: Number(pid), status: status ?? '' };
    }
    return out;
  };

  t.test('a runsc pod: its containers in its one gVisor sandbox; RemovePodSandbox leaves no gVisor process', async (t) => {
    const cri = env.cri;
    const pod = await cri.runPod({ name: 'gvisor-pod', namespace: 'default', runtimeHandler: SWITCHYARD_HANDLER, annotations: { [KEY]: 'runsc' } });
    let removed = false;
    t.teardown(() => (removed ? undefined : cri.stopAndRemovePod(pod).catch(() => undefined)));
    t.equal(sandboxes().length, 1, 'one runsc-sandbox for the pod');

    const main = await cri.createAndStart(pod, undefined, { name: 'main', image: env.busybox, command: ['sh', '-c', 'dmesg | head -n 1; sleep 1000'] });
    const side = await cri.createAndStart(pod, undefined, { name: 'side', image: env.busybox, command: ['sleep', '1000'] });
    const logFile = path.join(cri.sentPodConfig(pod)!.log_directory!, 'main', '0.log');
    t.ok(await waitFor(() => fs.existsSync(logFile) && fs.readFileSync(logFile, 'utf8').includes('Starting gVisor...')), 'the container log: Starting gVisor...');

    const sandboxPids = sandboxes().map((p) => p.pid);
    t.equal(sandboxPids.length, 1, `still one runsc-sandbox with two containers: ${sandboxPids.join(' ')}`);
    // One gVisor kernel: its boot log (dmesg) is made up at random for each sandbox.
    const dmesg = async (id: string) => (await cri.execSync(id, ['dmesg'], 20)).stdout.toString().trim();
    const [a, b] = [await dmesg(main), await dmesg(side)];
    t.ok(a.length > 0 && a === b, `both containers read one kernel's boot log:\n${a}\n---\n${b}`);
    const d = await cri.execSync(side, ['sh', '-c', 'dmesg | head -n 1'], 20);
    t.match(d.stdout.toString(), /Starting gVisor/, 'an exec in the second container runs in gVisor');
    const tasks = await ctrTasks();
    t.same([tasks[pod]?.pid, tasks[main]?.pid, tasks[side]?.pid], [sandboxPids[0], sandboxPids[0], sandboxPids[0]], 'every task of the pod is the one sandbox process');

    t.ok(gvisorProcesses(root()).length >= 2, 'gVisor runs the pod (sandbox and gofers)');
    await cri.stopAndRemovePod(pod);
    removed = true;
    // No waiting: RemovePodSandbox returned, so everything must already be gone.
    const left = gvisorProcesses(root());
    t.same(left.map((p) => `${p.pid} ${p.kind}`), [], 'no gVisor process left once RemovePodSandbox returns');
    t.same(fs.existsSync(root()) ? fs.readdirSync(root()).filter((f) => f.endsWith('.state')) : [], [], 'no runsc state left');
  });

  t.test('a gVisor container that exits on SIGTERM is seen exited within its grace: no SIGKILL escalation', async (t) => {
    // runsc delete waits, polling, for the container's gofer, an orphan the daemon inherits;
    // a zombie left for the reaper's next sweep held every delete, and so containerd's view
    // of the exit, past a short grace period (then StopContainer could fail "ttrpc: closed").
    const cri = env.cri;
    const pod = await cri.runPod({ name: 'gvisor-term', namespace: 'default', runtimeHandler: SWITCHYARD_HANDLER, annotations: { [KEY]: 'runsc' } });
    t.teardown(() => cri.stopAndRemovePod(pod).catch(() => undefined));
    for (let i = 0; i < 3; i++) {
      const c = await cri.createAndStart(pod, undefined, { name: `term-${i}`, image: env.busybox, command: ['sh', '-c', 'trap "exit 0" TERM; touch /trapped; sleep 300 & wait'] });
      // RUNNING comes before the shell has set its trap; a TERM before it would be a 143.
      t.ok(await waitFor(async () => (await cri.execSync(c, ['test', '-e', '/trapped'], 20)).exit_code === 0), `${i}: the trap is set`);
      await cri.stopContainer(c, 1);
      const st = (await cri.containerStatus(c)).status;
      t.equal(st?.state, 'CONTAINER_EXITED', `${i}: exited`);
      t.equal(Number(st?.exit_code), 0, `${i}: with its own status, 0 (${st?.reason}: ${st?.message})`);
      t.notMatch(env.c.logs(), new RegExp(`Kill container \\\\?"${c}`), `${i}: containerd never escalated to SIGKILL`);
      await cri.removeContainer(c);
    }
  });

  t.test('a CNI pod on runsc (network = "host"): gVisor uses the pod\'s own namespace, not the node\'s', async (t) => {
    // ptp + host-local from Debian's containernetworking-plugins; containerd picks up the file.
    const confDir = path.join(env.c.dir, 'cni', 'net.d');
    fs.writeFileSync(path.join(confDir, '10-switchyard-test.conflist'), JSON.stringify({
      cniVersion: '0.4.0',
      name: 'switchyard-test',
      plugins: [{ type: 'ptp', ipMasq: false, ipam: { type: 'host-local', subnet: '10.244.77.0/24', dataDir: path.join(env.c.dir, 'cni', 'ipam') } }],
    }));
    const cri = env.cri;
    let pod = '';
    t.ok(await waitFor(async () => {
      pod = await cri.runPod({ name: 'gvisor-cni', namespace: 'default', runtimeHandler: SWITCHYARD_HANDLER, annotations: { [KEY]: 'runsc' }, namespaceOptions: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } }).catch(() => '');
      return pod !== '';
    }, 30_000, 1000), 'RunPodSandbox with a CNI network');
    t.teardown(() => cri.stopAndRemovePod(pod).catch(() => undefined));
    const ip = (await cri.podSandboxStatus(pod)).status?.network?.ip ?? '';
    t.match(ip, /^10\.244\.77\./, `CNI gave the pod ${ip}`);
    const c = await cri.createAndStart(pod, undefined, { name: 'net', image: env.busybox, command: ['sleep', '1000'] });
    const addrs = (await cri.execSync(c, ['cat', '/proc/net/fib_trie'], 20)).stdout.toString() + (await cri.execSync(c, ['ip', 'addr'], 20)).stdout.toString();
    t.match(addrs, new RegExp(ip.replace(/\./g, '\\.')), 'inside gVisor, the pod\'s own address');
    const dm = (await cri.execSync(c, ['sh', '-c', 'dmesg | head -n 1'], 20)).stdout.toString();
    t.match(dm, /Starting gVisor/, 'in gVisor');
  });
}
