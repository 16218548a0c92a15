/**
 * How a new task reaches its backend. The Task service validates the request and reads the
 * bundle's spec; the daemon's wiring routes it (node policy) and answers with a Placement:
 * the backend that will own the task, and how to create it there.
 */
import type { TaskApi, TaskCallContext } from '../api/task.js';
import type { TaskBackend } from '../backends/types.js';
import type { BundleSpec } from './validate.js';

export type CreateTaskRequest = Parameters<TaskApi['Create']>[0];
export type CreateTaskResponse = Awaited<ReturnType<TaskApi['Create']>>;

export interface NewTask {
  id: string;
  bundle: string;
  /** The bundle's config.json, as far as the shim reads it (annotations route the task). */
  spec: BundleSpec;
  /** The request as containerd sent it: a delegate gets it unchanged. */
  request: CreateTaskRequest;
}

export interface Placement {
  backend: TaskBackend;
  create(ctx: TaskCallContext): Promise<CreateTaskResponse>;
}
