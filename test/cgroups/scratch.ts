/**
 * Throwaway cgroups on the machine running the tests, removed in teardown whatever
 * happens: every process inside is killed, the directories waited on, then removed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Test } from 'tap';
import { cgroupMounts } from '../../src/cgroups/mounts.js';
import type { V1Cgroup } from '../../src/cgroups/types.js';
import { needsRoot } from '../helpers/root.js';

export const SCRATCH_PREFIX = 'switchyard-test-';

/**
 * Why v1 scratch cgroups cannot be made here, or undefined when they can. Root is gated
 * like every root-only unit test (never skipped in CI); a host without the v1 hierarchy
 * (cgroup v2 only) is a fact of the machine, and those tests skip everywhere.
 */
export function v1Unavailable(controllers: readonly string[]): string | undefined {
  const root = needsRoot('makes scratch v1 cgroups');
  if (root) return root;
  for (const c of controllers) {
    if (!cgroupMounts().some((m) => m.version === 1 && m.controllers.includes(c))) return `no v1 ${c} hierarchy mounted`;
  }
  return undefined;
}

export interface Scratch {
  cgroup: V1Cgroup;
  /** Every cgroup.procs file, one per distinct directory. */
  procsFiles: string[];
  /**
   * Runs `sh -c script` after the shell has moved itself into the scratch cgroup, so
   * everything it and its children allocate is charged there from the start.
   */
  run(script: string): ChildProcess;
}

/** A fresh cgroup in each named v1 hierarchy (co-mounted ones share a directory). */
export function scratchV1(t: Test, controllers: readonly string[]): Scratch {
  const name = `${SCRATCH_PREFIX}${crypto.randomBytes(6).toString('hex')}`;
  const paths: Record<string, string> = {};
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  t.teardown(() => removeAll(dirs, children));
  for (const c of controllers) {
    const mount = cgroupMounts().find((m) => m.version === 1 && m.controllers.includes(c) && m.root === '/');
    if (!mount) throw new Error(`no v1 ${c} mount with root /`);
    const dir = path.join(mount.mountPoint, name);
    if (!dirs.includes(dir)) {
      fs.mkdirSync(dir);
      dirs.push(dir);
    }
    paths[c] = dir;
  }
  const procsFiles = dirs.map((d) => path.join(d, 'cgroup.procs'));
  return {
    cgroup: { version: 1, paths },
    procsFiles,
    run(script) {
      const join = procsFiles.map((f) => `echo $$ > '${f}'`).join(' && ');
      // On a line of its own, so no operator in script can bind to the joins.
      const child = spawn('sh', ['-c', `${join} || exit 99\n${script}`], { stdio: 'ignore' });
      children.push(child);
      return child;
    },
  };
}

async function removeAll(dirs: readonly string[], children: readonly ChildProcess[]): Promise<void> {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const dir of dirs) {
    for (let i = 0; ; i++) {
      for (const pid of pidsIn(dir)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      try {
        fs.rmdirSync(dir);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') break;
        // EBUSY until the killed processes have finished exiting.
        if (code !== 'EBUSY' || i >= 200) throw err;
        await sleep(25);
      }
    }
  }
}

function pidsIn(dir: string): number[] {
  try {
    return fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Polls until check() is truthy; fails after timeoutMs. */
export async function until<T>(what: string, check: () => T | Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
