/**
 * containerd's Task service as a definition both transports serve. v3 is v2 on the wire
 * (docs/protocol.md §3.1), so the v3 definition only renames the service.
 */
import { containerd, google } from '../gen/proto.js';
import { defineMethod, renameService, type CallContext, type Codec, type ServiceClient, type ServiceImplementation } from '../transport/service.js';

const t = containerd.task.v2;
const Empty = google.protobuf.Empty;

export const TASK_V2 = 'containerd.task.v2.Task';
export const TASK_V3 = 'containerd.task.v3.Task';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const m = <Req extends Codec<any, any>, Res extends Codec<any, any>>(name: string, req: Req, res: Res) =>
  defineMethod(TASK_V2, name, req, res);

export const taskServiceV2 = {
  State: m('State', t.StateRequest, t.StateResponse),
  Create: m('Create', t.CreateTaskRequest, t.CreateTaskResponse),
  Start: m('Start', t.StartRequest, t.StartResponse),
  Delete: m('Delete', t.DeleteRequest, t.DeleteResponse),
  Pids: m('Pids', t.PidsRequest, t.PidsResponse),
  Pause: m('Pause', t.PauseRequest, Empty),
  Resume: m('Resume', t.ResumeRequest, Empty),
  Checkpoint: m('Checkpoint', t.CheckpointTaskRequest, Empty),
  Kill: m('Kill', t.KillRequest, Empty),
  Exec: m('Exec', t.ExecProcessRequest, Empty),
  ResizePty: m('ResizePty', t.ResizePtyRequest, Empty),
  CloseIO: m('CloseIO', t.CloseIORequest, Empty),
  Update: m('Update', t.UpdateTaskRequest, Empty),
  Wait: m('Wait', t.WaitRequest, t.WaitResponse),
  Stats: m('Stats', t.StatsRequest, t.StatsResponse),
  Connect: m('Connect', t.ConnectRequest, t.ConnectResponse),
  Shutdown: m('Shutdown', t.ShutdownRequest, Empty),
};
export type TaskServiceDefinition = typeof taskServiceV2;

export const taskServiceV3: TaskServiceDefinition = renameService(taskServiceV2, TASK_V3);

export type TaskTypes = typeof containerd.task.v2;

/** The Task API as handlers: what the Task service and every TaskBackend implement. */
export type TaskApi = ServiceImplementation<TaskServiceDefinition>;
/** A call's context (its cancellation signal, its metadata), as handlers receive it. */
export type TaskCallContext = CallContext;
/** A client of another shim's Task API. */
export type TaskClient = ServiceClient<TaskServiceDefinition>;
