/**
 * Pods without a pause container on containerd 2.1.9 (`sandboxer = "shim"`), on runc: the
 * daemon holds the pod's namespaces with a process of its own, CRI points the containers at
 * it, and StopPodSandbox/RemovePodSandbox leave nothing behind. The holder's death is the
 * pod's exit (WaitSandbox returns, the pod goes NOTREADY), and the node's policy still
 * decides which runtimes a pod may have.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { requireCommands, requireE2E } from '../lib/prereq.js';
import { criContainerd, CRI_NAMESPACE } from '../lib/cri-env.js';
import { alive, nsOf, runNetworkPod, SANDBOX_HANDLER, sandboxHandler, writeCniConfig } from '../lib/cri-sandbox.js';
import { sandboxControllerStatus, sandboxControllerWait } from '../lib/tasks-api.js';
import { cgroupMounts, findProcessesReferencing } from '../lib/cleanup.js';
import { waitFor } from '../lib/wait.js';
import { repoRoot } from '../lib/image.js';
import { daemonPids } from '../lib/switchyard.js';
import { containerdBuild } from '../lib/containerd-version.js';
import { SYSTEM_PATH } from '../lib/containerd.js';

const KEY = 'switchyard.dev/runtime';

if (requireE2E(t) && requireCommands(t, ['unshare', 'nsenter', 'crun', 'containerd-shim-runc-v2', '/usr/lib/cni/ptp', '/usr/lib/cni/host-local', '/usr/lib/cni/loopback'])) {
  const env = criContainerd(t, {
    containerd: { version: '2.1' },
    handlers: { [SANDBOX_HANDLER]: sandboxHandler() },
    switchyardToml: ['[runtimes.delegate-runc]', 'type = "shim"', 'binary = "containerd-shim-runc-v2"', '', '[policy]', '[[policy.rules]]', 'name = "locked"', 'namespaces = ["locked-*"]', 'allow = ["runc"]', 'default = "runc"', ''].join('\n'),
  });
  const crunRoot = () => path.join(env.switchyardStateDir, 'crun', CRI_NAMESPACE);
  t.before(() => {
    writeCniConfig(env, '10.244.91.0/24');
    env.c.addRuntimeRoot(crunRoot());
  });

  const ctrContainers = async () => (await env.c.ctr(['containers', 'ls', '-q'], { namespace: CRI_NAMESPACE })).stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  const runcListed = async () =>
    (await execa('runc', ['--root', env.switchyardRuncRoot, 'list', '-q'], { reject: false })).stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  const status = (id: string) => sandboxControllerStatus(env.c.address, CRI_NAMESPACE, id);
  const bundleOf = (id: string) => path.join(env.c.state, 'io.containerd.runtime.v2.task', CRI_NAMESPACE, id);
  const sy = (args: string[]) =>
    execa(process.execPath, [path.join(repoRoot(), 'bin', 'switchyard.js'), ...args], {
      reject: false,
      // The containerd on PATH is the one under test: doctor judges the config for it.
      env: { PATH: `${containerdBuild('2.1').binDir}:${SYSTEM_PATH}`, SWITCHYARD_CONFIG: env.switchyardConfigPath },
      extendEnv: false,
      timeout: 60_000,
      stdin: 'ignore',
    });
  const decisionFile = (id: string) => path.join(env.switchyardStateDir, 'decisions', CRI_NAMESPACE, `${id}.json`);

  t.test('runc pod through the Sandbox API: two containers, shared namespaces, no pause container, nothing left', async (t) => {
    const cri = env.cri;
    const pod = await runNetworkPod(env, { name: 'sb-runc', namespace: 'default', runtimeHandler: SANDBOX_HANDLER, annotations: { [KEY]: 'runc' } });
    let removed = false;
    t.teardown(() => (removed ? undefined : cri.stopAndRemovePod(pod).catch(() => undefined)));

    const st = await status(pod);
    t.equal(st.state, 'SANDBOX_READY', 'SandboxStatus: ready');
    const holder = st.pid;
    t.ok(holder > 0 && alive(holder), `the sandbox pid ${holder} is a live process`);
    t.equal(fs.readFileSync(`/proc/${holder}/comm`, 'utf8').trim(), 'sleep', 'the holder is the daemon\'s sleeper, not a pause image');
    t.not(nsOf(holder, 'net'), nsOf(process.pid, 'net'), 'the holder is in the pod\'s own network namespace');
    t.not(nsOf(holder, 'ipc'), nsOf(process.pid, 'ipc'), 'and in a new IPC namespace');
    t.not(nsOf(holder, 'uts'), nsOf(process.pid, 'uts'), 'and in a new UTS namespace');
    const ip = (await cri.podSandboxStatus(pod)).status?.network?.ip ?? '';
    t.match(ip, /^10\.244\.91\./, `CNI gave the pod ${ip}`);
    t.equal((await cri.podSandboxStatus(pod)).status?.state, 'SANDBOX_READY', 'CRI: the pod is READY');
    const decision = JSON.parse(fs.readFileSync(decisionFile(pod), 'utf8'));
    t.equal(decision.runtime, 'runc', 'the pod was routed, and its decision recorded under its sandbox id');

    const a = await cri.createAndStart(pod, undefined, { name: 'a', image: env.busybox, command: ['sh', '-c', 'echo hello-from-a > /dev/shm/a; sleep 1000'] });
    const b = await cri.createAndStart(pod, undefined, { name: 'b', image: env.busybox, command: ['sleep', '1000'] });
    t.same((await ctrContainers()).sort(), [a, b].sort(), 'containerd holds only the pod\'s two containers: no pause container');

    const r = await cri.execSync(b, ['sh', '-c', 'hostname; ip -4 addr show eth0 | grep inet'], 20);
    t.equal(r.exit_code ?? 0, 0, `ExecSync ran: ${r.stderr.toString()}`);
    t.match(r.stdout.toString(), /sb-runc/, 'the container has the pod\'s hostname');
    t.match(r.stdout.toString(), new RegExp(ip.replace(/\./g, '\\.')), 'and the pod\'s address');

    const pids = (await execa('runc', ['--root', env.switchyardRuncRoot, 'state', a])).stdout;
    const pidA = JSON.parse(pids).pid as number;
    const pidB = JSON.parse((await execa('runc', ['--root', env.switchyardRuncRoot, 'state', b])).stdout).pid as number;
    for (const ns of ['net', 'ipc', 'uts']) {
      t.equal(nsOf(pidA, ns), nsOf(holder, ns), `container a shares the pod's ${ns} namespace`);
      t.equal(nsOf(pidB, ns), nsOf(holder, ns), `container b shares the pod's ${ns} namespace`);
    }
    t.not(nsOf(pidA, 'pid'), nsOf(pidB, 'pid'), 'each container has its own pid namespace (pid: CONTAINER)');
    t.ok(await waitFor(() => fs.existsSync(`/proc/${pidA}/root/dev/shm/a`)), 'a wrote into its /dev/shm');

    // The CLI: the pod and its two containers grouped, and why the pod runs where it runs.
    const ps = await sy(['ps', '-n', CRI_NAMESPACE, '--json']);
    t.equal(ps.exitCode, 0, ps.stderr);
    const listed = JSON.parse(ps.stdout) as { sandboxes: { id: string; runtime: string; pid: number; status: string; tasks: string[] }[]; tasks: { id: string; pod: string }[] };
    const row = listed.sandboxes.find((s) => s.id === pod);
    t.match(row, { runtime: 'runc', pid: holder, status: 'READY' }, 'switchyard ps: the pod, its runtime, the holder\'s pid');
    t.same(row?.tasks.sort(), [a, b].sort(), 'and its two containers under it');
    t.same(listed.tasks.filter((r) => r.pod === pod).map((r) => r.id).sort(), [a, b].sort(), 'each container names its pod');
    const text = (await sy(['ps', '-n', CRI_NAMESPACE])).stdout;
    t.match(text, new RegExp(`${pod.slice(0, 12)} \\(sandbox\\)\\s+${pod.slice(0, 12)}\\s+runc\\s+${holder}\\s+READY[^\\n]*\\n[^\\n]*  (${a}|${b})[^\\n]*\\n[^\\n]*  (${a}|${b})`), `the text table puts the containers under their pod:\n${text}`);
    const why = await sy(['why', pod]);
    t.equal(why.exitCode, 0, why.stderr);
    t.match(why.stdout, /runtime runc/, 'switchyard why works for a sandbox id');
    t.match(why.stdout, /asked:\s+switchyard\.dev\/runtime=runc/, 'and says what the pod asked for');
    const whyC = await sy(['why', a]);
    t.match(whyC.stdout, new RegExp(`sandbox "${pod}" runs on "runc"`), 'a container\'s why names its sandbox');
    const doctor = await sy(['doctor', '--containerd-config', env.c.configPath, '--json']);
    const findings = (JSON.parse(doctor.stdout) as { findings: { check: string; ok: boolean; severity: string; detail: string }[] }).findings;
    t.ok(findings.some((f) => f.check === `containerd runtime ${SANDBOX_HANDLER}` && f.ok && /sandboxer shim/.test(f.detail)), 'doctor knows the sandbox handler of the config containerd runs with');
    t.ok(findings.some((f) => f.check === 'containerd runtime switchyard' && f.ok && /sandboxer podsandbox/.test(f.detail)), 'and the podsandbox one beside it');
    t.ok(findings.some((f) => f.check === `containerd runtime ${SANDBOX_HANDLER}` && f.severity === 'warning' && /containerd 2\.1\.9\S* panics on a hostNetwork pod/.test(f.detail)), 'and warns about host-network pods on containerd 2.1.9');

    const cgParent = cri.sentPodConfig(pod)!.linux!.cgroup_parent!;
    const holderCg = fs.readFileSync(`/proc/${holder}/cgroup`, 'utf8');
    t.match(holderCg, new RegExp(`${cgParent.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/${pod}`), 'the holder is in the pod\'s cgroup <parent>/<sandbox id>');

    await cri.stopPodSandbox(pod);
    t.notOk(alive(holder), 'StopPodSandbox ended the holder');
    t.notOk(alive(pidA) || alive(pidB), 'and every container of the pod');
    t.equal((await cri.podSandboxStatus(pod)).status?.state, 'SANDBOX_NOTREADY', 'CRI: the pod is NOTREADY once stopped');
    await cri.removePodSandbox(pod);
    removed = true;

    t.same(await ctrContainers(), [], 'no container left in containerd');
    t.same(await runcListed(), [], 'no runc state left');
    t.notOk(fs.existsSync(bundleOf(pod)), 'the sandbox bundle is gone');
    t.notOk(fs.existsSync(decisionFile(pod)), 'its decision record is gone');
    const cgLeft = cgroupMounts()
      .map((m) => path.join(m, cgParent, pod))
      .filter((p) => fs.existsSync(p));
    t.same(cgLeft, [], 'the holder\'s cgroup is removed');
  });

  t.test('crun pod through the Sandbox API: its containers on crun, in the holder\'s namespaces', async (t) => {
    const cri = env.cri;
    const pod = await runNetworkPod(env, { name: 'sb-crun', namespace: 'default', runtimeHandler: SANDBOX_HANDLER, annotations: { [KEY]: 'crun' } });
    let removed = false;
    t.teardown(() => (removed ? undefined : cri.stopAndRemovePod(pod).catch(() => undefined)));
    const holder = (await status(pod)).pid;
    const c = await cri.createAndStart(pod, undefined, { name: 'c', image: env.busybox, command: ['sleep', '1000'] });
    const listed = async () => (await execa('crun', ['--root', crunRoot(), 'list', '-q'], { reject: false })).stdout.split('\n').map((l) => l.trim()).filter(Boolean);
    t.same(await listed(), [c], 'the container runs on crun (and nothing else does: no pause container)');
    const pid = JSON.parse((await execa('crun', ['--root', crunRoot(), 'state', c])).stdout).pid as number;
    for (const ns of ['net', 'ipc', 'uts']) t.equal(nsOf(pid, ns), nsOf(holder, ns), `it shares the pod's ${ns} namespace`);
    t.equal((await cri.execSync(c, ['hostname'], 20)).stdout.toString().trim(), 'sb-crun', 'ExecSync on crun');
    await cri.stopAndRemovePod(pod);
    removed = true;
    t.notOk(alive(holder), 'the holder is gone');
    t.same(await listed(), [], 'no crun state left');
  });

  t.test('killing the holder: WaitSandbox returns and the pod reports NOTREADY', async (t) => {
    const cri = env.cri;
    const pod = await runNetworkPod(env, { name: 'sb-kill', namespace: 'default', runtimeHandler: SANDBOX_HANDLER });
    t.teardown(() => cri.stopAndRemovePod(pod).catch(() => undefined));
    const c = await cri.createAndStart(pod, undefined, { name: 'c', image: env.busybox, command: ['sleep', '1000'] });
    const holder = (await status(pod)).pid;
    t.ok(holder > 0, `holder ${holder}`);
    let waited: number | undefined;
    const wait = sandboxControllerWait(env.c.address, CRI_NAMESPACE, pod).then((s) => (waited = s));
    await new Promise((r) => setTimeout(r, 500));
    t.equal(waited, undefined, 'WaitSandbox blocks while the holder lives');
    process.kill(holder, 'SIGKILL');
    t.equal(await wait, 137, 'WaitSandbox returns the holder\'s death (SIGKILL: 137)');
    t.ok(await waitFor(async () => (await cri.podSandboxStatus(pod)).status?.state === 'SANDBOX_NOTREADY'), 'CRI reports the pod NOTREADY');
    t.equal((await status(pod)).state, 'SANDBOX_NOTREADY', 'SandboxStatus says so too');
    t.ok(c, 'the container existed');
    await cri.stopAndRemovePod(pod);
    t.same(await ctrContainers(), [], 'stop and remove still clean up the pod');
  });

  t.test('policy refusals hold for pods made through the Sandbox API', async (t) => {
    const cri = env.cri;
    const refused = await runNetworkPod(env, { name: 'sb-locked', namespace: 'locked-a', runtimeHandler: SANDBOX_HANDLER, annotations: { [KEY]: 'crun' } }).then(
      () => undefined,
      (e: Error) => e,
    );
    t.ok(refused, 'RunPodSandbox is refused');
    t.match(refused?.message ?? '', /PermissionDenied|permission/i, 'as PermissionDenied');
    t.match(refused?.message ?? '', /locked/, 'naming the rule');
    const unknown = await runNetworkPod(env, { name: 'sb-unknown', namespace: 'default', runtimeHandler: SANDBOX_HANDLER, annotations: { [KEY]: 'nosuch' } }).then(
      () => undefined,
      (e: Error) => e,
    );
    t.match(unknown?.message ?? '', /unknown runtime "nosuch"/, 'an unknown runtime is refused, naming the known ones');
    t.same(await ctrContainers(), [], 'nothing was made for refused pods');
    const pods = await cri.listPodSandbox();
    t.same(pods.filter((p) => p.metadata?.name?.startsWith('sb-locked') || p.metadata?.name?.startsWith('sb-unknown')), [], 'CRI kept no refused pod');
  });

  t.test('a delegate shim that cannot take a pod through the Sandbox API: FailedPrecondition, nothing left', async (t) => {
    const cri = env.cri;
    const err = await runNetworkPod(env, { name: 'sb-delegate', namespace: 'default', runtimeHandler: SANDBOX_HANDLER, annotations: { [KEY]: 'delegate-runc' } }).then(
      () => undefined,
      (e: Error) => e,
    );
    t.match(err?.message ?? '', /FAILED_PRECONDITION \(gRPC code 9\)/, 'refused as FailedPrecondition');
    t.match(err?.message ?? '', /runtime "delegate-runc" chosen for sandbox \S+ is a delegate shim/, 'naming the delegate');
    t.match(err?.message ?? '', /config\.json/, 'and why: runc-v2 cannot start without a pause container\'s config.json');
    const shims = findProcessesReferencing(env.c.address).filter((p) => p.cmdline.some((x) => x.includes('containerd-shim-runc-v2')));
    t.same(shims, [], 'no runc-v2 shim left running');
    t.same(await ctrContainers(), [], 'nothing in containerd');
    t.same((await cri.listPodSandbox()).filter((p) => p.metadata?.name === 'sb-delegate'), [], 'no pod kept');
  });

  // Last: it kills the daemon, which every earlier pod shared.
  t.test('the daemon dies with a pod: containerd\'s delete ends the holder, and the pod can still be removed', async (t) => {
    const cri = env.cri;
    const pod = await runNetworkPod(env, { name: 'sb-orphan', namespace: 'default', runtimeHandler: SANDBOX_HANDLER });
    t.teardown(() => cri.stopAndRemovePod(pod).catch(() => undefined));
    const holder = (await status(pod)).pid;
    const daemons = daemonPids(env.c);
    t.ok(daemons.length > 0, `daemon ${daemons.join(' ')}`);
    for (const pid of daemons) process.kill(pid, 'SIGKILL');
    t.ok(await waitFor(() => !alive(holder), 20_000), 'containerd ran our delete for the sandbox, which killed the holder');
    t.ok(await waitFor(async () => (await cri.podSandboxStatus(pod)).status?.state === 'SANDBOX_NOTREADY', 20_000), 'CRI reports the pod NOTREADY');
    await cri.stopAndRemovePod(pod);
    t.same(await ctrContainers(), [], 'nothing left in containerd');
    t.notOk(fs.existsSync(bundleOf(pod)), 'the sandbox bundle is gone');
  });
}
