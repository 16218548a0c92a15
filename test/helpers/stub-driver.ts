import type { DriverCapabilities, RuntimeDriver } from '../../src/backends/types.js';

export const RUNC_LIKE: DriverCapabilities = { killCreated: true, reportsExit: false, pause: true, update: true, checkpoint: true, restore: true };

/**
 * A runtime that records every call as one line ("start c1", "kill c1 15 false", …) and
 * does nothing else; `overrides` replace single operations (to make one slow or fail).
 */
export function stubDriver(calls: string[], overrides: Partial<RuntimeDriver> = {}): RuntimeDriver {
  let nextPid = 100;
  return {
    name: 'fake',
    capabilities: RUNC_LIKE,
    cleanupArgv: (id) => ['fake', 'delete', '--force', id],
    create: async (s) => {
      calls.push(`create ${s.id}`);
      return 1;
    },
    start: async (id) => void calls.push(`start ${id}`),
    kill: async (id, sig, all) => void calls.push(`kill ${id} ${sig} ${all}`),
    killExec: async (id, pid, sig) => void calls.push(`kill-exec ${id} ${pid} ${sig}`),
    delete: async (id, force) => void calls.push(`delete ${id}${force ? ' --force' : ''}`),
    wait: async () => 0,
    ps: async () => [1, 100],
    exec: async (s) => {
      calls.push(`exec ${s.execId}`);
      return nextPid++;
    },
    pause: async (id) => void calls.push(`pause ${id}`),
    resume: async (id) => void calls.push(`resume ${id}`),
    update: async (id, r) => void calls.push(`update ${id} ${JSON.stringify(r)}`),
    checkpoint: async (id) => void calls.push(`checkpoint ${id}`),
    restore: async () => 50,
    ...overrides,
  };
}
