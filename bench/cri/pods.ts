/**
 * Pods as kubelet drives them, timed: RunPodSandbox, CreateContainer + StartContainer to
 * RUNNING, a short-lived container's whole life, teardown. One CriEnv serves every side;
 * what differs is the handler, the pod's annotations and its namespaces (sides.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { CriEnv } from '../../test/e2e/lib/cri-env.js';
import type { CriClient, ContainerState } from '../../test/e2e/lib/cri.js';
import type { CriSide } from './sides.js';
import { msSince, sleep } from '../lib/stats.js';

/** ContainerStatus is polled this often while waiting for a state (same for every side). */
const POLL_MS = 5;
/** kubelet's default --runtime-request-timeout. */
const KUBELET_DEADLINE_MS = 120_000;

export interface PodStart {
  /** RunPodSandbox */
  sandboxMs: number;
  /** CreateContainer + StartContainer + RUNNING seen */
  containerMs: number;
  totalMs: number;
  pod: string;
  containers: string[];
}

export class Pods {
  private seq = 0;
  constructor(
    private readonly env: CriEnv,
    private readonly runId = randomUUID().slice(0, 8),
  ) {}

  private get cri(): CriClient {
    return this.env.cri;
  }

  /** A pod of `side` (through `handler`, default the side's) with `containers` sleepers. */
  async start(side: CriSide, what: string, containers = 1, handler = side.handler): Promise<PodStart> {
    const name = `${what}-${side.name}-${this.runId}-${++this.seq}`;
    const t0 = process.hrtime.bigint();
    const pod = await this.cri.runPod({
      name,
      namespace: 'bench',
      runtimeHandler: handler,
      ...(side.annotations ? { annotations: side.annotations } : {}),
      ...(side.namespaces ? { namespaceOptions: side.namespaces } : {}),
    });
    const sandboxMs = msSince(t0);
    const ids: string[] = [];
    try {
      for (let i = 0; i < containers; i++) {
        const id = await this.cri.createAndStart(pod, undefined, { name: `c${i}`, image: this.env.busybox, command: ['sleep', '100000'], waitRunning: false });
        await this.waitState(id, 'CONTAINER_RUNNING');
        ids.push(id);
      }
    } catch (err) {
      await this.remove(pod).catch(() => undefined);
      throw err;
    }
    const totalMs = msSince(t0);
    return { sandboxMs, containerMs: totalMs - sandboxMs, totalMs, pod, containers: ids };
  }

  /**
   * One short-lived container inside running pod `pod`: CreateContainer, StartContainer,
   * its exit (`true`), RemoveContainer; ms of each step.
   */
  async lifecycle(pod: string, n: number): Promise<{ create: number; start: number; exit: number; remove: number; total: number }> {
    const cri = this.cri;
    const pc = cri.sentPodConfig(pod);
    if (!pc) throw new Error(`no config known for pod ${pod}`);
    // kubelet makes the container's log directory; containerd only opens the file.
    if (pc.log_directory) fs.mkdirSync(path.join(pc.log_directory, `life${n}`), { recursive: true });
    const t0 = process.hrtime.bigint();
    const id = await cri.createContainer(
      pod,
      {
        metadata: { name: `life${n}`, attempt: 0 },
        image: { image: this.env.busybox },
        command: ['true'],
        log_path: `life${n}/0.log`,
        linux: { security_context: { namespace_options: pc.linux?.security_context?.namespace_options ?? {} } },
      },
      pc,
    );
    const create = msSince(t0);
    let t = process.hrtime.bigint();
    try {
      await cri.startContainer(id);
      const start = msSince(t);
      t = process.hrtime.bigint();
      const s = await this.waitState(id, 'CONTAINER_EXITED');
      if (s !== 0) throw new Error(`container ${id} exited ${s}`);
      const exit = msSince(t);
      t = process.hrtime.bigint();
      await cri.removeContainer(id);
      const remove = msSince(t);
      return { create, start, exit, remove, total: msSince(t0) };
    } catch (err) {
      await cri.removeContainer(id).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Stop and remove a pod as kubelet does: no grace (its sleepers would ignore SIGTERM),
   * kubelet's 2 min deadline per call, and once more after a failure, as kubelet's next
   * sync would. 50 idle gVisor sandboxes on 2 cores make a stop take over 30 s, and a pod
   * left running would weigh on every row measured after it.
   */
  async remove(pod: string): Promise<number> {
    const t = process.hrtime.bigint();
    try {
      await this.cri.stopAndRemovePod(pod, 0, { timeoutMs: KUBELET_DEADLINE_MS });
    } catch (err) {
      process.stderr.write(`bench: removing pod ${pod.slice(0, 12)} failed, once more: ${(err as Error).message.split('\n')[0]}\n`);
      await this.cri.stopAndRemovePod(pod, 0, { timeoutMs: KUBELET_DEADLINE_MS });
    }
    return msSince(t);
  }

  /** Poll ContainerStatus until `state`; the exit code for EXITED, 0 otherwise. */
  private async waitState(id: string, state: ContainerState, timeoutMs = 60_000): Promise<number> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const s = (await this.cri.containerStatus(id)).status;
      if (s?.state === state) return state === 'CONTAINER_EXITED' ? s.exit_code : 0;
      if (s?.state === 'CONTAINER_EXITED') throw new Error(`container ${id} exited ${s.exit_code} (${s.reason}: ${s.message}) before ${state}`);
      if (Date.now() > end) throw new Error(`container ${id} is ${s?.state ?? 'unknown'}, not ${state}, after ${timeoutMs} ms`);
      await sleep(POLL_MS);
    }
  }
}
