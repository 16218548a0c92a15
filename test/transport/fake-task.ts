/** A Task handler table with canned answers, for transport tests. */
import { ShimError, unimplemented, type ErrorKind } from '../../src/errors/index.js';
import type { TaskServiceDefinition } from '../../src/api/task.js';
import type { ServiceImplementation } from '../../src/transport/service.js';

export function fakeTask(overrides: Partial<ServiceImplementation<TaskServiceDefinition>> = {}): ServiceImplementation<TaskServiceDefinition> {
  const no = async () => {
    throw unimplemented('not in this fake');
  };
  return {
    State: async (req) => {
      // "kind:<kind>" as the id makes the handler fail with that kind: the round-trip table.
      if (req.id?.startsWith('kind:')) throw new ShimError(req.id.slice(5) as ErrorKind, `failed with ${req.id.slice(5)}`);
      if (req.id?.startsWith('sleep:')) await new Promise((r) => setTimeout(r, Number(req.id!.slice(6))));
      if (req.id === 'throw') throw new TypeError('a bug');
      return { id: req.id, bundle: '/b', pid: 42, status: 2 };
    },
    Create: no,
    Start: no,
    Delete: no,
    Pids: no,
    Pause: no,
    Resume: no,
    Checkpoint: no,
    Kill: no,
    Exec: no,
    ResizePty: no,
    CloseIO: no,
    Update: no,
    Wait: no,
    Stats: no,
    Connect: async (req) => ({ shimPid: process.pid, taskPid: 4242, version: `fake:${req.id}` }),
    Shutdown: async () => ({}),
    ...overrides,
  };
}
