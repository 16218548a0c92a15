/**
 * `delete`: containerd's cleanup after a shim connection closed, possibly after the daemon
 * died. Works from the bundle alone, touches only this task, and is safe to run twice.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ShimArgs } from './argv.js';
import { readTaskRecord, type TaskRecord } from '../backends/record.js';
import { isMountPoint } from '../sys/mountinfo.js';
import { readProcStat } from '../sys/proc.js';
import { encodeDeleteResponse } from './delete-response.js';

const SIGKILL_STATUS = 128 + 9;

export async function deleteAction(args: ShimArgs): Promise<number> {
  const bundle = args.bundle || process.cwd();
  const record = readTaskRecord(bundle);
  if (record?.delegate) {
    // Another shim served this task: its own delete knows what to clean and what the exit was.
    const { deleteDelegate } = await import('../backends/shim/launch.js');
    const d = record.delegate;
    const r = await deleteDelegate({
      binary: d.binary, namespace: args.namespace, id: args.id, bundle, address: args.address || d.address,
      publishBinary: args.publishBinary || d.publishBinary, env: process.env, timeoutMs: 10_000,
    });
    process.stdout.write(r.raw);
    return 0;
  }
  const warnings: string[] = [];
  // The daemon's Delete already ran the runtime's delete: repeating it would only cost a fork.
  const cleanup = record && !record.deleted ? cleanupArgv(record, args.id) : undefined;
  if (cleanup) {
    const [file, ...rest] = cleanup;
    // Loaded here, not at the top: most deletes find the daemon's mark and never fork.
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(file!, rest, { encoding: 'utf8', timeout: 4000 });
    const err = `${r.stderr ?? ''}`.trim();
    if (r.status !== 0 && !/does not exist|not found/i.test(err)) warnings.push(`${record!.runtime} delete: ${err || r.error?.message || `status ${r.status}`}`);
  }
  if (record?.holder && !record.deleted) endHolder(record.holder);
  const rootfs = path.join(bundle, 'rootfs');
  try {
    // Reading the mount table is cheap; loading the FFI to call umount2 is not.
    if (isMountPoint(rootfs)) (await import('../sys/mount.js')).unmountAll(rootfs);
  } catch (err) {
    warnings.push(`unmount ${rootfs}: ${(err as Error).message}`);
  }
  if (warnings.length) process.stderr.write(`${warnings.join('\n')}\n`);
  if (record?.deleted) {
    const d = record.deleted;
    process.stdout.write(encodeDeleteResponse({ pid: d.pid, exitStatus: d.exitStatus, exitedAt: new Date(d.exitedAt) }));
    return 0;
  }
  let pid = 0;
  try {
    pid = Number.parseInt(fs.readFileSync(path.join(bundle, 'init.pid'), 'utf8'), 10) || 0;
  } catch {
    // Create never got as far as a pid: nothing ran.
  }
  process.stdout.write(encodeDeleteResponse({ pid, exitStatus: SIGKILL_STATUS, exitedAt: new Date() }));
  return 0;
}

/** A pod's holder outlived the daemon: it goes, unless its pid now names another process. */
function endHolder(h: { pid: number; startTime: number }): void {
  if (readProcStat(h.pid)?.startTime !== h.startTime) return;
  try {
    process.kill(h.pid, 'SIGKILL');
  } catch {
    // Gone in between.
  }
}

/** The record's cleanup argv; a record from before it existed names binary, root and flags. */
function cleanupArgv(record: TaskRecord, id: string): string[] | undefined {
  if (record.cleanup?.length) return record.cleanup;
  if (!record.binary || !record.root) return undefined;
  const globals = record.command?.length ? record.command : [record.binary, '--root', record.root];
  return [...globals, 'delete', '--force', id];
}
