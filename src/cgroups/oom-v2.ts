/**
 * OOM notification on cgroup v2. memory.events has no eventfd interface, but the kernel
 * raises a modify notification on it (and on cgroup.events) whenever a counter changes,
 * so fs.watch wakes us and the oom_kill counter says whether an OOM kill happened.
 *
 * Removing a cgroup raises no notification on its files, so the watch ends as
 * containerd's does: when cgroup.events says the cgroup has become empty, which must
 * happen before it can be removed, and after which no process is left to be killed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { failedPrecondition, internal, notFound } from '../errors/index.js';
import { type OomWatch, type OomWatchEnd, type OomWatchOptions, report } from './oom-types.js';
import { parseFlatKeyed } from './files.js';

/** Throws notFound when dir is gone, failedPrecondition without the memory controller. */
export function watchOomV2(dir: string, onOom: () => void, opts: OomWatchOptions = {}): OomWatch {
  const eventsFile = path.join(dir, 'memory.events');
  const stateFile = path.join(dir, 'cgroup.events');
  const initial = oomKills(eventsFile);
  if (initial === undefined) {
    if (!fs.existsSync(dir)) throw notFound(`cgroup ${dir} does not exist`);
    throw failedPrecondition(`${eventsFile} missing: the memory controller is not enabled for ${dir}`);
  }
  let last = initial;

  let settle!: (end: OomWatchEnd) => void;
  const done = new Promise<OomWatchEnd>((resolve) => (settle = resolve));
  const watchers: fs.FSWatcher[] = [];
  let ended = false;
  const end = (why: OomWatchEnd, err?: unknown) => {
    if (ended) return;
    ended = true;
    for (const w of watchers) w.close();
    if (err !== undefined) opts.onError?.(err);
    settle(why);
  };

  // Reads are synchronous on purpose: cgroupfs files are generated in memory and answer
  // at once, and checking in one go keeps overlapping notifications from racing.
  const check = () => {
    if (ended) return;
    // Emptiness first: a kill that emptied the cgroup is counted by the time
    // cgroup.events shows it, so the read below still sees it.
    const empty = isEmpty(stateFile);
    const now = oomKills(eventsFile);
    if (now === undefined) return end('gone');
    if (now > last) {
      last = now;
      report(onOom, opts);
    }
    if (empty) end('gone');
  };

  try {
    for (const file of [eventsFile, stateFile]) {
      // The root cgroup has no cgroup.events; it is never removed, so nothing is lost.
      if (file === stateFile && !fs.existsSync(file)) continue;
      const w = fs.watch(file, { persistent: opts.ref ?? true });
      w.on('change', check);
      w.on('error', (err) => end('error', err));
      watchers.push(w);
    }
  } catch (err) {
    for (const w of watchers) w.close();
    throw internal(`cannot watch ${dir} for OOM events`, err);
  }
  // Anything that happened between the first read and the watches being in place.
  check();
  return { close: () => end('closed'), done };
}

/** memory.events' oom_kill; undefined when unreadable (the cgroup is gone). */
function oomKills(file: string): number | undefined {
  try {
    return parseFlatKeyed(fs.readFileSync(file, 'utf8')).get('oom_kill') ?? 0;
  } catch {
    return undefined;
  }
}

/** cgroup.events "populated 0"; an unreadable file counts as empty (removed). */
function isEmpty(file: string): boolean {
  try {
    return parseFlatKeyed(fs.readFileSync(file, 'utf8')).get('populated') === 0;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ENOENT' || !fs.existsSync(path.dirname(file));
  }
}
