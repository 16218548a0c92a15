// Prerequisite checks for e2e tests. A missing prerequisite skips the test locally and
// fails it in CI (CI=true), so CI never goes green by skipping everything.
//
//   import t from 'tap';
//   if (requireE2E(t)) { ...tests... }
//
// Call these before any assertion in `t`: skipping is done with t.plan(0, reason).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SYSTEM_PATH } from './containerd.js';
import { containerdBuild, missingBuild, type ContainerdVersion } from './containerd-version.js';

/** Minimal shape of a tap Test used here. */
export interface PlanTest {
  fail(message: string): unknown;
  plan(n: number, comment?: string): unknown;
}

export const E2E_COMMANDS = ['containerd', 'ctr', 'runc', 'umount', 'mount', 'tar', 'sha256sum'];

export const isCI = (): boolean => process.env.CI === 'true';

/** Where `cmd` is found on the current PATH plus the system PATH, or undefined. */
export function which(cmd: string): string | undefined {
  if (cmd.includes('/')) return isExecutable(cmd) ? cmd : undefined;
  const dirs = [...(process.env.PATH ?? '').split(':'), ...SYSTEM_PATH.split(':')].filter(Boolean);
  for (const d of dirs) {
    const p = path.join(d, cmd);
    if (isExecutable(p)) return p;
  }
  return undefined;
}

function isExecutable(p: string): boolean {
  try {
    const st = fs.statSync(p);
    if (!st.isFile()) return false;
    fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Skip (locally) or fail (CI) `t` with `reason`. Returns false for convenience. */
export function unmet(t: PlanTest, reason: string): false {
  if (isCI()) {
    t.fail(`e2e prerequisite missing in CI: ${reason}`);
  } else {
    t.plan(0, `skip: ${reason}`);
  }
  return false;
}

/** True if running as root; otherwise skip/fail `t`. */
export function requireRoot(t: PlanTest): boolean {
  if (process.getuid?.() === 0) return true;
  return unmet(t, 'e2e tests must run as root');
}

/** True if every command is available; otherwise skip/fail `t`. Also requires root. */
export function requireCommands(t: PlanTest, cmds: string[] = E2E_COMMANDS, opts: { root?: boolean } = {}): boolean {
  if ((opts.root ?? true) && process.getuid?.() !== 0) return unmet(t, 'e2e tests must run as root');
  const missing = cmds.filter((c) => !which(c));
  if (missing.length) return unmet(t, `missing commands: ${missing.join(', ')} (run scripts/install-deps.sh)`);
  return true;
}

/**
 * The common check for e2e test files: root, containerd/ctr/runc, busybox-static, and the
 * containerd the run selected (SWITCHYARD_E2E_CONTAINERD) plus any other `versions`.
 */
export function requireE2E(t: PlanTest, extra: string[] = [], versions: ContainerdVersion[] = []): boolean {
  if (!requireCommands(t, [...E2E_COMMANDS, ...extra])) return false;
  if (!fs.existsSync('/bin/busybox')) return unmet(t, '/bin/busybox missing (install busybox-static)');
  for (const build of [containerdBuild(), ...versions.map((v) => containerdBuild(v))]) {
    const why = missingBuild(build);
    if (why) return unmet(t, why);
  }
  return true;
}
