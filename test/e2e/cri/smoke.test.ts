/**
 * Kubernetes' path to Switchyard: kubelet → CRI (containerd's cri plugin) → the
 * RuntimeClass handler `switchyard` → io.containerd.switchyard.v2. One pod goes through
 * the whole life cycle kubelet drives (RunPodSandbox, CreateContainer, StartContainer,
 * status, logs, ExecSync, stats, StopContainer, RemoveContainer, StopPodSandbox,
 * RemovePodSandbox), then the same pod through the stock `runc` handler for comparison.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { requireE2E } from '../lib/prereq.js';
import { criContainerd, CRI_NAMESPACE, RUNC_HANDLER, SWITCHYARD_HANDLER, type CriEnv } from '../lib/cri-env.js';
import { isNotFound } from '../lib/cri.js';
import { findProcessesReferencing, isAlive, readProc } from '../lib/cleanup.js';
import { daemonPids } from '../lib/switchyard.js';
import { socketAddress } from '../../../src/shim/address.js';
import { waitFor } from '../lib/wait.js';

type TapTest = Parameters<Parameters<typeof t.test>[0]>[0];


/** `ctr -n k8s.io tasks ls` as id → { pid, status }. */
async function ctrTasks(env: CriEnv): Promise<Map<string, { pid: number; status: string }>> {
  const r = await env.c.ctr(['tasks', 'ls'], { namespace: CRI_NAMESPACE });
  const m = new Map<string, { pid: number; status: string }>();
  for (const line of r.stdout.split('\n').slice(1)) {
    const [id, pid, status] = line.trim().split(/\s+/);
    if (id && pid && status) m.set(id, { pid: Number(pid), status });
  }
  return m;
}

function bundleOf(env: CriEnv, id: string): string {
  return path.join(env.c.state, 'io.containerd.runtime.v2.task', CRI_NAMESPACE, id);
}

/**
 * Where containerd connects for task `id`: containerd 2.x keeps bootstrap.json (a pod's
 * later containers on a version-3 shim have nothing else), 1.6/1.7 the shim's `address`.
 */
function servedAt(env: CriEnv, id: string): string {
  const dir = bundleOf(env, id);
  if (fs.existsSync(path.join(dir, 'bootstrap.json'))) return (JSON.parse(fs.readFileSync(path.join(dir, 'bootstrap.json'), 'utf8')) as { address: string }).address;
  return fs.readFileSync(path.join(dir, 'address'), 'utf8').trim();
}

function specAnnotations(env: CriEnv, id: string): Record<string, string> {
  return JSON.parse(fs.readFileSync(path.join(bundleOf(env, id), 'config.json'), 'utf8')).annotations ?? {};
}

/** Shim processes serving this containerd, by binary name. */
function shims(env: CriEnv, binary: string): { pid: number; cmdline: string[] }[] {
  return findProcessesReferencing(env.c.address).filter((p) => p.cmdline.some((a) => a.includes(binary)));
}

/** The memory limit of a cgroup (cgroupfs path), v1 or v2; NaN if unreadable. */
function memoryLimit(cgroup: string): number {
  for (const f of [`/sys/fs/cgroup/memory${cgroup}/memory.limit_in_bytes`, `/sys/fs/cgroup${cgroup}/memory.max`]) {
    if (fs.existsSync(f)) return Number(fs.readFileSync(f, 'utf8').trim());
  }
  return NaN;
}

interface PodRun {
  pod: string;
  container: string;
  containerPid: number;
  sandboxPid: number;
}

/**
 * The pod life cycle, asserted step by step; `whileRunning` is called with the pod and
 * its container running, before they are torn down.
 */
async function podLifeCycle(t: TapTest, env: CriEnv, handler: string, whileRunning: (r: PodRun) => Promise<void>): Promise<void> {
  const cri = env.cri;
  const name = `smoke-${handler}`;
  const pod = await cri.runPod({ name, namespace: 'default', runtimeHandler: handler, annotations: { 'switchyard.dev/probe': 'smoke' } });
  t.ok(pod, `RunPodSandbox through ${handler}: ${pod}`);
  const ps = (await cri.podSandboxStatus(pod)).status!;
  t.equal(ps.state, 'SANDBOX_READY', 'the sandbox is ready');
  t.equal(ps.runtime_handler, handler, 'with our handler');
  t.equal(ps.linux?.namespaces?.options?.network, 'NODE', 'on the host network (no CNI)');

  const podConfig = cri.sentPodConfig(pod)!;
  const container = await cri.createAndStart(pod, podConfig, {
    name: 'main',
    image: env.busybox,
    command: ['sh', '-c', 'echo hello-cri; sleep 1000'],
    annotations: { 'smoke.test/container': 'yes' },
    resources: { memory_limit_in_bytes: 64 << 20 },
  });
  const cs = (await cri.containerStatus(container)).status!;
  t.equal(cs.state, 'CONTAINER_RUNNING', 'ContainerStatus: RUNNING');
  t.equal(cs.metadata?.name, 'main');
  t.equal((await cri.listContainers({ pod_sandbox_id: pod })).map((c) => c.id).join(), container, 'ListContainers lists it in its pod');

  // The log file, in kubelet's layout and CRI's format: "<RFC3339Nano> stdout F <line>".
  const logFile = path.join(podConfig.log_directory!, 'main', '0.log');
  t.equal(cs.log_path, logFile, 'the log path is <log_directory>/main/0.log');
  const logged = await waitFor(() => fs.existsSync(logFile) && fs.readFileSync(logFile, 'utf8').includes('hello-cri'));
  const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '';
  t.ok(logged, 'the container log has hello-cri');
  t.match(log, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) stdout F hello-cri$/m, `a CRI log line: ${JSON.stringify(log)}`);

  const hi = await cri.execSync(container, ['echo', 'hi'], 10);
  t.equal(hi.stdout.toString(), 'hi\n', 'ExecSync stdout');
  t.equal(hi.stderr.toString(), '', 'ExecSync stderr');
  t.equal(hi.exit_code, 0, 'ExecSync exit code');
  const three = await cri.execSync(container, ['sh', '-c', 'echo oops >&2; exit 3'], 10);
  t.equal(three.stderr.toString(), 'oops\n', 'ExecSync stderr of a failing command');
  t.equal(three.exit_code, 3, 'ExecSync exit code 3');

  const pid1 = (await cri.execSync(container, ['cat', '/proc/1/cmdline'], 10)).stdout.toString().split('\0').filter(Boolean);
  // busybox sh execs its last command, so PID 1 is sleep; not /pause as with a shared pod PID namespace
  t.same(pid1, ['sleep', '1000'], `its own PID namespace (pid CONTAINER, as kubelet sets): PID 1 is ${pid1.join(' ')}`);

  const tasks = await ctrTasks(env);
  t.equal(tasks.get(pod)?.status, 'RUNNING', 'ctr -n k8s.io tasks ls: the sandbox task runs');
  t.equal(tasks.get(container)?.status, 'RUNNING', 'ctr -n k8s.io tasks ls: the container task runs');
  const containerPid = tasks.get(container)?.pid ?? 0;
  const sandboxPid = tasks.get(pod)?.pid ?? 0;
  t.ok(containerPid > 0 && isAlive(containerPid), `container process ${containerPid} is alive`);
  const pauseCmd = readProc(sandboxPid)?.cmdline ?? [];
  t.equal(pauseCmd[0], env.pause.kind === 'static-c' ? '/pause' : '/bin/busybox', `the sandbox runs the pause image: ${pauseCmd.join(' ')}`);

  // containerd copies pod annotations matching pod_annotations into the OCI spec.
  const sbAnn = specAnnotations(env, pod);
  const ctAnn = specAnnotations(env, container);
  t.equal(sbAnn['io.kubernetes.cri.container-type'], 'sandbox', 'sandbox spec: container-type sandbox');
  t.equal(ctAnn['io.kubernetes.cri.container-type'], 'container', 'container spec: container-type container');
  t.equal(ctAnn['io.kubernetes.cri.sandbox-id'], pod, 'container spec: its sandbox id');
  if (handler === SWITCHYARD_HANDLER) {
    t.equal(sbAnn['switchyard.dev/probe'], 'smoke', 'sandbox spec: the switchyard.dev/* pod annotation');
    t.equal(ctAnn['switchyard.dev/probe'], 'smoke', 'container spec: the switchyard.dev/* pod annotation');
  } else {
    t.notOk('switchyard.dev/probe' in ctAnn, 'runc handler (no pod_annotations): not copied');
  }

  const stats = await cri.containerStats(container);
  t.equal(stats?.attributes?.id, container, 'ContainerStats: for our container');
  t.ok(Number(stats?.cpu?.usage_core_nano_seconds?.value ?? 0) > 0, 'ContainerStats: CPU time used');
  t.ok(Number(stats?.memory?.working_set_bytes?.value ?? 0) > 0, 'ContainerStats: memory in use');

  const cgroup = `${podConfig.linux!.cgroup_parent}/${container}`;
  t.equal(memoryLimit(cgroup), 64 << 20, 'the memory limit from CreateContainer is in the container cgroup');
  await cri.updateContainerResources(container, { memory_limit_in_bytes: 96 << 20 });
  t.equal(memoryLimit(cgroup), 96 << 20, 'UpdateContainerResources: the cgroup has the new limit');
  t.equal((await cri.containerStatus(container)).status?.resources?.linux?.memory_limit_in_bytes, String(96 << 20), 'ContainerStatus reports it');

  await whileRunning({ pod, container, containerPid, sandboxPid });

  // PID 1 (sleep) has no SIGTERM handler, so the kernel drops the SIGTERM: SIGKILL after the 1 s grace.
  const t0 = Date.now();
  await cri.stopContainer(container, 1);
  const stopMs = Date.now() - t0;
  const stopped = await cri.waitContainer(container, 'CONTAINER_EXITED', 15_000);
  t.equal(stopped.exit_code, 137, 'StopContainer: SIGKILLed after the grace period (137)');
  t.ok(stopMs >= 900, `StopContainer waited the grace period (${stopMs} ms)`);
  t.equal(stopped.reason, 'Error', 'reason Error (a non-zero exit), as CRI reports it');
  t.ok(await waitFor(() => !isAlive(containerPid)), 'the container process is gone');
  await cri.removeContainer(container);
  t.same(await cri.listContainers({ pod_sandbox_id: pod }), [], 'RemoveContainer: the pod has no container');
  const rmErr = await cri.containerStatus(container).catch((e: unknown) => e);
  t.ok(isNotFound(rmErr), `ContainerStatus after remove: NotFound (${(rmErr as Error)?.message})`);

  await cri.stopPodSandbox(pod);
  t.equal((await cri.podSandboxStatus(pod)).status?.state, 'SANDBOX_NOTREADY', 'StopPodSandbox: not ready');
  t.ok(await waitFor(() => !isAlive(sandboxPid)), 'the pause process is gone');
  await cri.removePodSandbox(pod);
  const podErr = await cri.podSandboxStatus(pod).catch((e: unknown) => e);
  t.ok(isNotFound(podErr), `PodSandboxStatus after remove: NotFound (${(podErr as Error)?.message})`);
  t.same((await cri.listPodSandbox()).map((p) => p.id), [], 'ListPodSandbox: empty');

  const after = await ctrTasks(env);
  t.notOk(after.has(pod) || after.has(container), 'ctr -n k8s.io tasks ls: both tasks are gone');
  const ctrs = (await env.c.ctr(['containers', 'ls', '-q'], { namespace: CRI_NAMESPACE })).stdout.split('\n').filter(Boolean);
  t.same(ctrs, [], 'ctr -n k8s.io containers ls: empty');
  t.notOk(fs.existsSync(bundleOf(env, pod)) || fs.existsSync(bundleOf(env, container)), 'the bundles are gone');
}

if (requireE2E(t)) {
  const env = criContainerd(t);

  t.test('CRI is up with both handlers, the images and no CNI', async (t) => {
    const v = await env.cri.version();
    t.equal(v.runtime_name, 'containerd');
    t.equal(v.runtime_api_version, 'v1', `CRI v1 (containerd ${v.runtime_version})`);
    const conditions = (await env.cri.status()).status?.conditions ?? [];
    t.equal(conditions.find((c) => c.type === 'RuntimeReady')?.status, true, 'RuntimeReady');
    // No CNI config: NetworkReady is false, which host-network pods do not need.
    t.equal(conditions.find((c) => c.type === 'NetworkReady')?.status, false, 'NetworkReady is false (no CNI), as expected');
    const images = (await env.cri.listImages()).flatMap((i) => i.repo_tags);
    t.ok(images.includes(env.busybox), `busybox image known to CRI: ${images.join(', ')}`);
    t.ok(images.includes(env.pause.ref), `pause image (${env.pause.kind}) known to CRI`);
  });

  t.test('a pod through the switchyard handler is served by the Switchyard daemon', async (t) => {
    await podLifeCycle(t, env, SWITCHYARD_HANDLER, async ({ pod, container, containerPid }) => {
      const daemons = daemonPids(env.c);
      t.equal(daemons.length, 1, 'one Switchyard daemon (containerd-shim-switchyard-v2 … serve)');
      const cmd = readProc(daemons[0] ?? 0)?.cmdline ?? [];
      t.ok(cmd.some((a) => a.endsWith('containerd-shim-switchyard-v2') || a.endsWith('containerd-shim-switchyard-v2.cjs')), `its command line: ${cmd.join(' ')}`);
      t.equal(cmd[cmd.indexOf('-namespace') + 1], CRI_NAMESPACE, 'serving the k8s.io namespace');
      const want = socketAddress(env.c.address, CRI_NAMESPACE, 'switchyard:ttrpc');
      for (const id of [pod, container]) {
        t.equal(servedAt(env, id), want, `task ${id.slice(0, 12)} is served at the daemon's socket`);
      }
      t.same(shims(env, 'containerd-shim-runc-v2'), [], 'no runc shim is involved');
      t.equal(readProc(containerPid)?.ppid, daemons[0], 'the container process is a child of the daemon (its subreaper)');
    });
  });

  t.test('the same pod through the stock runc handler', async (t) => {
    await podLifeCycle(t, env, RUNC_HANDLER, async ({ pod, container }) => {
      const runcShims = shims(env, 'containerd-shim-runc-v2');
      t.ok(runcShims.length >= 1, `a containerd-shim-runc-v2 serves the pod (${runcShims.length})`);
      const want = socketAddress(env.c.address, CRI_NAMESPACE, 'switchyard:ttrpc');
      for (const id of [pod, container]) {
        t.not(servedAt(env, id), want, `task ${id.slice(0, 12)} is not served by Switchyard`);
      }
    });
  });
}
