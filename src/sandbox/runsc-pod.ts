/**
 * A gVisor pod without a pause container: at StartSandbox the daemon creates the pod's
 * gVisor sandbox itself, as runsc's root container of the pod (id = the sandbox id), from
 * a bundle it writes into the sandbox's own bundle directory (containerd gives it no
 * config.json). The root process is the host's `sleep` from a read-only /usr; the pod's
 * containers then join the sandbox by CRI's annotations, as they would join a pause
 * container's. The runsc-sandbox process is the pid CRI points the containers at, and its
 * end is the pod's exit.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { RuntimeDriver } from '../backends/types.js';
import { describe, failedPrecondition } from '../errors/index.js';
import { markTaskDeleted, writeTaskRecord } from '../backends/record.js';
import { CRI_CONTAINER_TYPE, CRI_SANDBOX_ID, CRI_SANDBOX_NAMESPACE } from '../routing/annotations.js';
import { isCgroupfsParent } from './pod-cgroup.js';
import type { NewSandbox, PodSandbox, SandboxExit } from './types.js';

export interface RunscPodDeps {
  namespace: string;
  /** Resolves when pid exits (the daemon's reaper: the sandbox process is reparented to it). */
  watch(pid: number): Promise<SandboxExit>;
}

/** The OCI spec of the pod's root container. */
export function rootContainerSpec(s: NewSandbox): object {
  const { pod } = s;
  const namespaces: { type: string; path?: string }[] = [{ type: 'mount' }, { type: 'pid' }];
  if (pod.namespaces.network === 'pod') namespaces.push({ type: 'network', path: s.netnsPath });
  if (pod.namespaces.ipc === 'pod') namespaces.push({ type: 'ipc' });
  namespaces.push({ type: 'uts' });
  const annotations: Record<string, string> = {
    [CRI_CONTAINER_TYPE]: 'sandbox',
    [CRI_SANDBOX_ID]: s.id,
    [CRI_SANDBOX_NAMESPACE]: pod.k8sNamespace,
    'io.kubernetes.cri.sandbox-name': pod.name,
    'io.kubernetes.cri.sandbox-uid': pod.uid,
  };
  if (pod.logDirectory) annotations['io.kubernetes.cri.sandbox-log-directory'] = pod.logDirectory;
  return {
    ociVersion: '1.0.2',
    process: {
      args: ['/usr/bin/sleep', 'infinity'],
      cwd: '/',
      env: ['PATH=/usr/bin'],
      user: { uid: 65534, gid: 65534 },
      noNewPrivileges: true,
      capabilities: { bounding: [], effective: [], permitted: [] },
    },
    root: { path: 'rootfs', readonly: true },
    hostname: pod.hostname || s.id.slice(0, 12),
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'mode=755'] },
      { destination: '/usr', type: 'bind', source: '/usr', options: ['rbind', 'ro', 'nosuid', 'nodev'] },
    ],
    annotations,
    linux: {
      namespaces,
      ...(pod.cgroupParent && isCgroupfsParent(pod.cgroupParent) ? { cgroupsPath: path.posix.join(pod.cgroupParent, s.id) } : {}),
    },
  };
}

export class RunscPodSandbox implements PodSandbox {
  private pid = 0;
  private exit: Promise<SandboxExit> | undefined;
  private created = false;

  constructor(
    private readonly driver: RuntimeDriver,
    private readonly s: NewSandbox,
    private readonly deps: RunscPodDeps,
  ) {}

  get runtime(): string {
    return this.driver.name;
  }

  async start(): Promise<number> {
    const { bundle, id } = this.s;
    const rootfs = path.join(bundle, 'rootfs');
    // Mount points and the usr-merged links the sleeper's loader needs, on a read-only root.
    for (const d of ['proc', 'dev', 'usr']) fs.mkdirSync(path.join(rootfs, d), { recursive: true });
    for (const l of ['bin', 'lib', 'lib64']) if (!fs.existsSync(path.join(rootfs, l))) fs.symlinkSync(`usr/${l}`, path.join(rootfs, l));
    fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(rootContainerSpec(this.s)));
    // Should the daemon die with the pod, containerd runs our `delete` here: it destroys the sandbox.
    writeTaskRecord(bundle, { id, namespace: this.deps.namespace, runtime: this.driver.name, cleanup: this.driver.cleanupArgv(id) });
    const devNull = fs.openSync('/dev/null', 'r+');
    try {
      this.created = true;
      this.pid = await this.driver.create({
        id,
        bundle,
        stdio: [devNull, devNull, devNull],
        pidFile: path.join(bundle, 'init.pid'),
        annotations: { [CRI_CONTAINER_TYPE]: 'sandbox', [CRI_SANDBOX_ID]: id },
      });
      this.exit = this.deps.watch(this.pid);
      await this.driver.start(id);
    } catch (err) {
      await this.release().catch(() => undefined);
      throw failedPrecondition(`sandbox ${id}: runsc could not make the pod's gVisor sandbox: ${describe(err)}`, err);
    } finally {
      fs.closeSync(devNull);
    }
    return this.pid;
  }

  exited(): Promise<SandboxExit> {
    if (!this.exit) throw failedPrecondition(`sandbox ${this.s.id} was never started`);
    return this.exit;
  }

  /** Destroying the root container ends the whole gVisor sandbox, every container in it. */
  async stop(): Promise<void> {
    if (!this.created) return;
    this.created = false;
    await this.driver.delete(this.s.id, true).catch(() => undefined);
    await this.exit;
  }

  async release(): Promise<void> {
    await this.stop();
    markTaskDeleted(this.s.bundle, { pid: this.pid, exitStatus: this.exit ? (await this.exit).status : 0, exitedAt: new Date() });
    for (const f of ['config.json', 'init.pid']) fs.rmSync(path.join(this.s.bundle, f), { force: true });
    fs.rmSync(path.join(this.s.bundle, 'rootfs'), { recursive: true, force: true });
  }
}
