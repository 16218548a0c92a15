/**
 * StopSandbox ends everything in the pod: CRI stops the pod's containers first, but a
 * container it did not know of (or one whose stop failed) must not outlive its sandbox.
 * Each task still there is killed (every process) and waited for, through the Task
 * service, so its exit is published as any other.
 */
import type { Logger } from 'pino';
import type { TaskCallContext } from '../api/task.js';
import { containerd } from '../gen/proto.js';
import { describe } from '../errors/index.js';
import type { TaskService } from '../task/service.js';

const WAIT_MS = 10_000;
const SIGKILL = 9;
const t = containerd.task.v2;

export async function endPodTasks(service: TaskService, ids: string[], log: Logger): Promise<void> {
  await Promise.all(ids.map((id) => endTask(service, id, log)));
}

async function endTask(service: TaskService, id: string, log: Logger): Promise<void> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), WAIT_MS);
  const ctx: TaskCallContext = { service: 'switchyard.sandbox', method: 'StopSandbox', metadata: new Map(), signal: ac.signal };
  try {
    const state = await service.State(t.StateRequest.create({ id }), ctx);
    // 3 = STOPPED: nothing to end.
    if (state.status === 3) return;
    await service.Kill(t.KillRequest.create({ id, signal: SIGKILL, all: true }), ctx);
    await service.Wait(t.WaitRequest.create({ id }), ctx);
  } catch (err) {
    log.warn({ task: id, err: describe(err) }, 'stop sandbox: could not end a task of the pod');
  } finally {
    clearTimeout(timer);
  }
}
