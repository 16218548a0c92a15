/**
 * Finding a container's cgroup directories: from its init pid while it runs, or from the
 * OCI spec's linux.cgroupsPath once the pid is gone. Both come down to a cgroup path per
 * hierarchy, turned into a directory through the mount table.
 */
import fs from 'node:fs';
import path from 'node:path';
import { failedPrecondition, internal, invalidArgument, notFound } from '../errors/index.js';
import { detectCgroupMode } from './mode.js';
import { type CgroupMount, cgroupMounts } from './mounts.js';
import type { Cgroup } from './types.js';

/** One line of /proc/<pid>/cgroup. */
export interface ProcCgroupLine {
  /** 0 for the v2 hierarchy. */
  readonly hierarchyId: number;
  /** Empty for the v2 hierarchy. */
  readonly controllers: readonly string[];
  /** The cgroup, relative to our cgroup namespace's root. */
  readonly path: string;
}

export function parseProcCgroup(text: string): ProcCgroupLine[] {
  const out: ProcCgroupLine[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    // The path may itself contain ':', so split on the first two only.
    const a = line.indexOf(':');
    const b = line.indexOf(':', a + 1);
    if (a < 0 || b < 0) continue;
    const list = line.slice(a + 1, b);
    // cgroup2 appends " (deleted)" once the cgroup is removed under a process (a zombie).
    // The marker names no real directory, so the existence check below reports it.
    const cgPath = line.slice(b + 1).replace(/ \(deleted\)$/, '');
    out.push({ hierarchyId: Number(line.slice(0, a)), controllers: list ? list.split(',') : [], path: cgPath });
  }
  return out;
}

export interface LocateOptions {
  /** The mount table to resolve against; the live one by default (tests pass their own). */
  readonly mounts?: readonly CgroupMount[];
}

/**
 * The cgroup that process pid is in. Throws notFound when the process is gone or its
 * cgroup has been removed, failedPrecondition when its hierarchy is not mounted here.
 */
export function cgroupOf(pid: number, opts: LocateOptions = {}): Cgroup {
  if (!Number.isInteger(pid) || pid <= 0) throw invalidArgument(`pid must be a positive integer, got ${pid}`);
  const file = `/proc/${pid}/cgroup`;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') throw notFound(`process ${pid} not found (${file})`, err);
    throw internal(`reading ${file}`, err);
  }
  return resolve(parseProcCgroup(text), opts.mounts ?? cgroupMounts(), `process ${pid}`);
}

export interface SpecPathOptions extends LocateOptions {
  /**
   * Whether runc runs with --systemd-cgroup, which reads cgroupsPath as
   * "slice:prefix:name". By default guessed from the shape: a relative path with exactly
   * two colons.
   */
  readonly systemd?: boolean;
}

/**
 * The cgroup runc made for an OCI spec's linux.cgroupsPath, for when no live pid can say
 * where it is. Only directories that exist are returned: notFound when none does.
 */
export function cgroupFromSpecPath(cgroupsPath: string, opts: SpecPathOptions = {}): Cgroup {
  if (!cgroupsPath) throw failedPrecondition('linux.cgroupsPath is empty: without a pid the cgroup cannot be located');
  const mounts = opts.mounts ?? cgroupMounts();
  const systemd = opts.systemd ?? (!cgroupsPath.startsWith('/') && cgroupsPath.split(':').length === 3);
  const what = `linux.cgroupsPath ${JSON.stringify(cgroupsPath)}`;
  if (systemd) return resolve(everyHierarchy(mounts, systemdCgroupPath(cgroupsPath)), mounts, what);
  if (cgroupsPath.startsWith('/')) return resolve(everyHierarchy(mounts, path.posix.normalize(cgroupsPath)), mounts, what);
  // runc's cgroupfs driver reads a relative path as under its own cgroup, which it
  // inherits from us.
  const own = parseProcCgroup(fs.readFileSync('/proc/self/cgroup', 'utf8'));
  return resolve(own.map((l) => ({ ...l, path: path.posix.join(l.path, cgroupsPath) })), mounts, what);
}

/** The same cgroup path in every mounted hierarchy, as /proc/<pid>/cgroup would list it. */
function everyHierarchy(mounts: readonly CgroupMount[], cgPath: string): ProcCgroupLine[] {
  return mounts.map((m) => ({ hierarchyId: m.version === 2 ? 0 : -1, controllers: m.controllers, path: cgPath }));
}

/**
 * runc's systemd driver: "slice:prefix:name" is the scope "prefix-name.scope" (or the
 * slice "name" itself) under the slice, whose dashes nest: "a-b.slice" is
 * /a.slice/a-b.slice. An empty slice means system.slice.
 */
export function systemdCgroupPath(cgroupsPath: string): string {
  const parts = cgroupsPath.split(':');
  if (parts.length !== 3) throw invalidArgument(`linux.cgroupsPath ${JSON.stringify(cgroupsPath)} is not "slice:prefix:name"`);
  const [slice, prefix, name] = parts as [string, string, string];
  if (!name) throw invalidArgument(`linux.cgroupsPath ${JSON.stringify(cgroupsPath)} has no name`);
  const unit = name.endsWith('.slice') ? name : `${prefix ? `${prefix}-` : ''}${name}.scope`;
  return path.posix.join(expandSlice(slice || 'system.slice'), unit);
}

function expandSlice(slice: string): string {
  const bad = () => invalidArgument(`linux.cgroupsPath: invalid systemd slice name ${JSON.stringify(slice)}`);
  if (!slice.endsWith('.slice') || slice.length === '.slice'.length || slice.includes('/')) throw bad();
  const stem = slice.slice(0, -'.slice'.length);
  if (stem === '-') return '/';
  let out = '';
  let prefix = '';
  for (const part of stem.split('-')) {
    if (!part) throw bad();
    out += `/${prefix}${part}.slice`;
    prefix += `${part}-`;
  }
  return out;
}

function resolve(lines: readonly ProcCgroupLine[], mounts: readonly CgroupMount[], what: string): Cgroup {
  const mode = detectCgroupMode(mounts);
  const unifiedLine = lines.find((l) => l.hierarchyId === 0 && l.controllers.length === 0);
  const unifiedDir = unifiedLine && dirIn(mounts.filter((m) => m.version === 2), unifiedLine.path);

  if (mode === 'v2') {
    if (!unifiedLine) throw failedPrecondition(`${what} is in no cgroup v2 hierarchy`);
    if (!unifiedDir) throw failedPrecondition(`${what}: cgroup ${unifiedLine.path} is outside every mounted cgroup2 filesystem`);
    if (!isDir(unifiedDir)) throw notFound(`${what}: cgroup ${unifiedDir} does not exist`);
    return { version: 2, path: unifiedDir };
  }

  const paths: Record<string, string> = {};
  const missing: string[] = [];
  for (const line of lines) {
    const first = line.controllers[0];
    if (first === undefined) continue;
    // Hierarchies this process sees but we do not mount (or mount only partly) are
    // skipped: their controllers simply go unreported.
    const dir = dirIn(mounts.filter((m) => m.version === 1 && m.controllers.includes(first)), line.path);
    if (!dir) continue;
    if (!isDir(dir)) {
      missing.push(dir);
      continue;
    }
    for (const c of line.controllers) paths[c] ??= dir;
  }
  if (Object.keys(paths).length === 0) {
    if (missing.length) throw notFound(`${what}: no cgroup directory exists (looked for ${missing.join(', ')})`);
    throw failedPrecondition(`${what} is in no mounted cgroup v1 hierarchy`);
  }
  return unifiedDir && isDir(unifiedDir) ? { version: 1, paths, unified: unifiedDir } : { version: 1, paths };
}

/**
 * The directory for cgroup cgPath under whichever of these mounts shows it. A mount
 * whose root is deeper shows only that subtree, so the deepest root that still contains
 * the path wins (a container's bind mount over the host's, say).
 */
function dirIn(mounts: readonly CgroupMount[], cgPath: string): string | undefined {
  let best: CgroupMount | undefined;
  for (const m of mounts) {
    if (!within(m.root, cgPath)) continue;
    if (!best || m.root.length > best.root.length) best = m;
  }
  if (!best) return undefined;
  const rest = best.root === '/' ? cgPath : cgPath.slice(best.root.length);
  // The cgroup at the mount's top must name the mount point itself, without a trailing
  // slash, so that the same cgroup always gives the same string.
  return rest === '' || rest === '/' ? best.mountPoint : path.posix.join(best.mountPoint, rest);
}

function within(root: string, cgPath: string): boolean {
  // A process in another cgroup namespace can show as "/../x": that is above every
  // mount's root, and joining it would climb out of the mount point.
  if (!cgPath.startsWith('/') || cgPath.split('/').includes('..')) return false;
  return root === '/' || cgPath === root || cgPath.startsWith(`${root}/`);
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}
