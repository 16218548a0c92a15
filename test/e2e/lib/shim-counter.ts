// A stand-in shim binary that records every run of ours, then execs the real one: for
// tests that count how often containerd runs `start` and `delete` (containerd 2.x with a
// version-3 bootstrap runs them once per pod, 1.6/1.7 once per container). Handed to
// containerd by absolute path (CRI `runtime_path`, `ctr run --runtime-path`), which is
// itself one of the ways containerd 2.x finds a shim.
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from './image.js';

export interface ShimCounter {
  /** The wrapper's absolute path. */
  binary: string;
  /** Every recorded run's action (start, delete, serve, -info, -v), in order. */
  runs(): string[];
  count(action: string): number;
}

/** The runtime type whose binary name is the wrapper's, for containerd to find on PATH. */
export const COUNTED_RUNTIME = 'io.containerd.switchyard-counted.v2';

export function shimCounter(dir: string): ShimCounter {
  const binary = path.join(dir, 'containerd-shim-switchyard-counted-v2');
  const log = path.join(dir, 'shim-runs.log');
  const real = path.join(repoRoot(), 'bin', 'containerd-shim-switchyard-v2.cjs');
  // The action is the last argument of start/delete (Go flag syntax puts it last); -info
  // and -v come alone. One line per run, appended with a single write.
  fs.writeFileSync(
    binary,
    ['#!/bin/sh', `for a in "$@"; do last="$a"; done`, `echo "$last" >> ${JSON.stringify(log)}`, `exec ${JSON.stringify(process.execPath)} ${JSON.stringify(real)} "$@"`, ''].join('\n'),
    { mode: 0o755 },
  );
  const runs = () => {
    try {
      return fs.readFileSync(log, 'utf8').split('\n').filter(Boolean);
    } catch {
      return [];
    }
  };
  return { binary, runs, count: (action) => runs().filter((a) => a === action).length };
}
