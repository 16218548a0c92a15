/**
 * A runc or crun pod without a pause container: the daemon makes the pod's IPC and UTS
 * namespaces (and its PID namespace when the pod shares one) around a sleeping holder that
 * sits in the network namespace CRI made, and puts it in the pod's cgroup. Containers join
 * through /proc/<holder>/ns/*, as CRI points them; the holder's end, whether asked for or
 * a crash, is the sandbox's exit.
 */
import type { Logger } from 'pino';
import { describe, failedPrecondition } from '../errors/index.js';
import { markTaskDeleted, writeTaskRecord } from '../backends/record.js';
import { readProcStat } from '../sys/proc.js';
import { spawnNamespaceHolder, type NamespaceHolder } from '../sys/ns-holder.js';
import { isCgroupfsParent, joinPodCgroup, type PodCgroup } from './pod-cgroup.js';
import type { NewSandbox, PodSandbox, SandboxExit } from './types.js';

export class HolderSandbox implements PodSandbox {
  private holder: NamespaceHolder | undefined;
  private cgroup: PodCgroup | undefined;

  constructor(
    readonly runtime: string,
    private readonly s: NewSandbox,
    private readonly log: Logger,
    private readonly namespace: string,
  ) {}

  async start(): Promise<number> {
    const { pod, netnsPath } = this.s;
    if (pod.namespaces.network === 'pod' && !netnsPath) throw failedPrecondition(`sandbox ${this.s.id}: the pod has its own network but CRI sent no netns_path`);
    const holder = await spawnNamespaceHolder({
      netns: pod.namespaces.network === 'pod' ? netnsPath : undefined,
      ipc: pod.namespaces.ipc === 'pod',
      uts: true,
      hostname: pod.hostname || undefined,
      pid: pod.namespaces.pid === 'pod',
    }).catch((err) => {
      throw failedPrecondition(`sandbox ${this.s.id}: cannot make the pod's namespaces: ${describe(err)}`, err);
    });
    this.holder = holder;
    // Should the daemon die with the pod, containerd runs our `delete` in this bundle: it ends the holder.
    writeTaskRecord(this.s.bundle, { id: this.s.id, namespace: this.namespace, runtime: this.runtime, holder: { pid: holder.pid, startTime: readProcStat(holder.pid)?.startTime ?? 0 } });
    if (pod.cgroupParent && isCgroupfsParent(pod.cgroupParent)) {
      try {
        this.cgroup = joinPodCgroup(holder.pid, pod.cgroupParent, this.s.id);
      } catch (err) {
        holder.kill('SIGKILL');
        await holder.exited;
        throw err;
      }
    } else if (pod.cgroupParent) {
      this.log.info({ sandbox: this.s.id, cgroupParent: pod.cgroupParent }, 'systemd cgroup parent: the holder stays in the daemon\'s cgroup');
    }
    return holder.pid;
  }

  exited(): Promise<SandboxExit> {
    if (!this.holder) throw failedPrecondition(`sandbox ${this.s.id} was never started`);
    return this.holder.exited;
  }

  /** The holder keeps no state worth a grace period (and as a pid namespace's init it ignores SIGTERM). */
  async stop(): Promise<void> {
    const h = this.holder;
    if (!h) return;
    h.kill('SIGKILL');
    await h.exited;
  }

  async release(): Promise<void> {
    await this.stop();
    this.cgroup?.remove();
    if (this.holder) markTaskDeleted(this.s.bundle, { pid: this.holder.pid, exitStatus: (await this.holder.exited).status, exitedAt: new Date() });
  }
}
