/**
 * The task events a shim owes containerd (docs/protocol.md §4.1), one builder each. A builder
 * encodes at once, so a caller's later mutation of its input cannot change what is sent.
 */
import { containerd } from '../gen/proto.js';

/** One encoded event, ready for an EventSink. */
export interface TaskEvent {
  /** '/tasks/exit' */
  readonly topic: string;
  /** The full proto name, no 'types.googleapis.com/' prefix: containerd decodes these. */
  readonly typeUrl: string;
  readonly value: Uint8Array;
}

export const Topic = {
  Create: '/tasks/create',
  Start: '/tasks/start',
  Exit: '/tasks/exit',
  Delete: '/tasks/delete',
  ExecAdded: '/tasks/exec-added',
  ExecStarted: '/tasks/exec-started',
  OOM: '/tasks/oom',
  Paused: '/tasks/paused',
  Resumed: '/tasks/resumed',
  Checkpointed: '/tasks/checkpointed',
} as const;
export type Topic = (typeof Topic)[keyof typeof Topic];

export interface Mount {
  type: string;
  source: string;
  target?: string;
  options?: string[];
}

export interface TaskIOInfo {
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
}

/** A protobuf Timestamp from a Date (millisecond precision is all a Date has). */
export function timestamp(date: Date): { seconds: number; nanos: number } {
  const ms = date.getTime();
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: (ms - seconds * 1000) * 1e6 };
}

/** The Date a protobuf Timestamp stands for. */
export function fromTimestamp(ts: { seconds?: number | null; nanos?: number | null } | null | undefined): Date {
  return new Date(Number(ts?.seconds ?? 0) * 1000 + Math.floor((ts?.nanos ?? 0) / 1e6));
}

interface Codec<T> {
  encode(message: T): { finish(): Uint8Array };
}

function build<T>(topic: Topic, typeUrl: string, codec: Codec<T>, message: T): TaskEvent {
  return { topic, typeUrl, value: codec.encode(message).finish() };
}

const ev = containerd.events;

export function taskCreate(e: {
  containerId: string;
  bundle: string;
  rootfs?: Mount[];
  io: TaskIOInfo;
  checkpoint?: string;
  pid: number;
}): TaskEvent {
  return build(Topic.Create, 'containerd.events.TaskCreate', ev.TaskCreate, {
    containerId: e.containerId,
    bundle: e.bundle,
    rootfs: (e.rootfs ?? []).map((m) => ({ type: m.type, source: m.source, target: m.target ?? '', options: m.options ?? [] })),
    io: { ...e.io },
    checkpoint: e.checkpoint ?? '',
    pid: e.pid,
  });
}

export function taskStart(e: { containerId: string; pid: number }): TaskEvent {
  return build(Topic.Start, 'containerd.events.TaskStart', ev.TaskStart, { containerId: e.containerId, pid: e.pid });
}

/** `id` is the exec id, or the container id for the init process. */
export function taskExit(e: { containerId: string; id: string; pid: number; exitStatus: number; exitedAt: Date }): TaskEvent {
  return build(Topic.Exit, 'containerd.events.TaskExit', ev.TaskExit, {
    containerId: e.containerId,
    id: e.id,
    pid: e.pid,
    exitStatus: e.exitStatus,
    exitedAt: timestamp(e.exitedAt),
  });
}

/** `id` is the exec id; empty (the default) for the init process. */
export function taskDelete(e: { containerId: string; id?: string; pid: number; exitStatus: number; exitedAt: Date }): TaskEvent {
  return build(Topic.Delete, 'containerd.events.TaskDelete', ev.TaskDelete, {
    containerId: e.containerId,
    id: e.id ?? '',
    pid: e.pid,
    exitStatus: e.exitStatus,
    exitedAt: timestamp(e.exitedAt),
  });
}

export function taskExecAdded(e: { containerId: string; execId: string }): TaskEvent {
  return build(Topic.ExecAdded, 'containerd.events.TaskExecAdded', ev.TaskExecAdded, { ...e });
}

export function taskExecStarted(e: { containerId: string; execId: string; pid: number }): TaskEvent {
  return build(Topic.ExecStarted, 'containerd.events.TaskExecStarted', ev.TaskExecStarted, { ...e });
}

export function taskOOM(e: { containerId: string }): TaskEvent {
  return build(Topic.OOM, 'containerd.events.TaskOOM', ev.TaskOOM, { containerId: e.containerId });
}

export function taskPaused(e: { containerId: string }): TaskEvent {
  return build(Topic.Paused, 'containerd.events.TaskPaused', ev.TaskPaused, { containerId: e.containerId });
}

export function taskResumed(e: { containerId: string }): TaskEvent {
  return build(Topic.Resumed, 'containerd.events.TaskResumed', ev.TaskResumed, { containerId: e.containerId });
}

export function taskCheckpointed(e: { containerId: string; checkpoint: string }): TaskEvent {
  return build(Topic.Checkpointed, 'containerd.events.TaskCheckpointed', ev.TaskCheckpointed, { ...e });
}

interface Decoder {
  decode(data: Uint8Array): unknown;
  toObject(message: never, options: { defaults: boolean; longs: NumberConstructor }): Record<string, unknown>;
}

const decoders: Record<string, Decoder> = {
  'containerd.events.TaskCreate': ev.TaskCreate,
  'containerd.events.TaskStart': ev.TaskStart,
  'containerd.events.TaskExit': ev.TaskExit,
  'containerd.events.TaskDelete': ev.TaskDelete,
  'containerd.events.TaskExecAdded': ev.TaskExecAdded,
  'containerd.events.TaskExecStarted': ev.TaskExecStarted,
  'containerd.events.TaskOOM': ev.TaskOOM,
  'containerd.events.TaskPaused': ev.TaskPaused,
  'containerd.events.TaskResumed': ev.TaskResumed,
  'containerd.events.TaskCheckpointed': ev.TaskCheckpointed,
};

/**
 * The decoded message of an event, as a plain object with every field filled in
 * (for tests and the debug CLI). Throws on a type URL that is not a task event.
 */
export function decodeTaskEvent(typeUrl: string, value: Uint8Array): Record<string, unknown> {
  const codec = decoders[typeUrl];
  if (!codec) throw new Error(`not a task event type: ${typeUrl}`);
  return codec.toObject(codec.decode(value) as never, { defaults: true, longs: Number });
}
