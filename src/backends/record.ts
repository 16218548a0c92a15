import fs from 'node:fs';
import path from 'node:path';
import { openError } from '../io/fd-set.js';

/**
 * What `delete` needs to clean a task up from disk alone, after the daemon is gone: the
 * argv its runtime removes it with. Written into the bundle at Create.
 */
export interface TaskRecord {
  id: string;
  namespace: string;
  /** The runtime's name in the config (or the delegate's binary). */
  runtime: string;
  /** The argv that force-deletes the container with no daemon left (RuntimeDriver.cleanupArgv). */
  cleanup?: string[];
  /** Records of tasks created before `cleanup` existed name the binary, root and global flags instead. */
  binary?: string;
  root?: string;
  command?: string[];
  /** The routing decision that chose the runtime. */
  decision?: unknown;
  /**
   * A pod's namespace holder (Sandbox API, runc/crun): our `delete` kills it when the daemon
   * died with the pod, if that pid is still the same process (its start time in clock ticks).
   */
  holder?: { pid: number; startTime: number };
  /** Set when another shim v2 serves the task: our `delete` runs its `delete`. */
  delegate?: { binary: string; address: string; publishBinary: string };
  /**
   * Set by the daemon once its Delete has run the runtime's delete and unmounted the
   * rootfs: containerd 1.6 runs our `delete` after every task, and it then has nothing
   * left to do but answer with the exit the daemon saw.
   */
  deleted?: { pid: number; exitStatus: number; exitedAt: string };
}

export const RECORD_FILE = 'switchyard.json';

export function writeTaskRecord(bundle: string, record: TaskRecord): void {
  const file = path.join(bundle, RECORD_FILE);
  try {
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(record));
    fs.renameSync(`${file}.tmp`, file);
  } catch (err) {
    fs.rmSync(`${file}.tmp`, { force: true });
    // A full disk is the node's to fix, not the request's: say which file and why.
    throw openError('task record', file, err, 'write');
  }
}

export function readTaskRecord(bundle: string): TaskRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(bundle, RECORD_FILE), 'utf8')) as TaskRecord;
  } catch {
    return undefined;
  }
}

/** Best effort: without the mark, `delete` repeats the cleanup, which is safe, only slower. */
export function markTaskDeleted(bundle: string, exit: { pid: number; exitStatus: number; exitedAt: Date }): void {
  const record = readTaskRecord(bundle);
  if (!record) return;
  try {
    writeTaskRecord(bundle, { ...record, deleted: { pid: exit.pid, exitStatus: exit.exitStatus, exitedAt: exit.exitedAt.toISOString() } });
  } catch {
    // The bundle may already be going away.
  }
}
