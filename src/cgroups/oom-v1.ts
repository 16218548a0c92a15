/**
 * OOM notification on cgroup v1: an eventfd registered against memory.oom_control
 * through cgroup.event_control. The kernel bumps it on every OOM in the cgroup, and once
 * more when the cgroup is removed, which is how the watch learns to end.
 */
import fs from 'node:fs';
import path from 'node:path';
import { failedPrecondition, internal, notFound } from '../errors/index.js';
import { eventfd, readEventfd, waitReadable } from '../sys/index.js';
import { type OomWatch, type OomWatchEnd, type OomWatchOptions, report } from './oom-types.js';

/** Throws notFound when memoryDir is gone, failedPrecondition when it cannot be watched. */
export function watchOomV1(memoryDir: string, onOom: () => void, opts: OomWatchOptions = {}): OomWatch {
  const efd = eventfd();
  try {
    register(memoryDir, efd);
  } catch (err) {
    fs.closeSync(efd);
    throw err;
  }
  const abort = new AbortController();
  const done = run(memoryDir, efd, onOom, abort.signal, opts);
  return { close: () => abort.abort(), done };
}

function register(memoryDir: string, efd: number): void {
  const control = path.join(memoryDir, 'memory.oom_control');
  let ofd: number;
  try {
    ofd = fs.openSync(control, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw fs.existsSync(memoryDir) ? failedPrecondition(`${control} missing: not a v1 memory cgroup`, err) : notFound(`cgroup ${memoryDir} does not exist`, err);
    }
    throw internal(`opening ${control}`, err);
  }
  try {
    // The kernel resolves both numbers in the writer's fd table and takes its own
    // references, so the oom_control fd can be closed right after.
    fs.writeFileSync(path.join(memoryDir, 'cgroup.event_control'), `${efd} ${ofd}`);
  } catch (err) {
    throw failedPrecondition(`cannot register for OOM events in ${memoryDir}`, err);
  } finally {
    fs.closeSync(ofd);
  }
}

async function run(memoryDir: string, efd: number, onOom: () => void, signal: AbortSignal, opts: OomWatchOptions): Promise<OomWatchEnd> {
  try {
    for (;;) {
      await waitReadable(efd, { signal, ref: opts.ref });
      const count = readEventfd(efd);
      if (count === null) continue;
      // Removal bumps the counter once more; by then rmdir has already taken the
      // directory away. A count above one means OOMs came in with the removal (the kill
      // that emptied the cgroup, say) and still deserve their report.
      if (fs.existsSync(memoryDir)) {
        report(onOom, opts);
        continue;
      }
      if (count > 1n) report(onOom, opts);
      return 'gone';
    }
  } catch (err) {
    if (signal.aborted) return 'closed';
    opts.onError?.(err);
    return 'error';
  } finally {
    fs.closeSync(efd);
  }
}
