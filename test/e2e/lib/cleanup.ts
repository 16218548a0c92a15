// Synchronous, filesystem-driven cleanup of everything a private containerd left behind.
//
// It needs no running containerd: it reads the task bundles under the state dir, kills
// processes that reference the temp dir or sit in the bundles' cgroups, deletes leftover
// runc/crun state, removes cgroups, unmounts everything under the temp dir and removes it.
// It is used by ContainerdHandle.stop() (after the graceful ctr-based phase), by the
// process 'exit' / signal handlers, and by the detached reaper (reaper.ts), which runs it
// if the test process dies without stopping containerd (SIGKILL from a tap timeout).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';

export interface CleanupSpec {
  /** The private temp dir (mkdtemp /tmp/switchyard-e2e-XXXXXX). Everything under it is ours. */
  dir: string;
  /** containerd's pid, if known. Killed only if its cmdline still references `dir`. */
  containerdPid?: number;
  /**
   * Namespaces used with this containerd. For names matching isUniqueNamespace the whole
   * cgroup `/<ns>` is killed and removed; for any name, runc state under
   * /run/containerd/runc/<ns> is deleted only for containers whose bundle is under `dir`.
   */
  namespaces?: string[];
  /** Extra OCI runtime root dirs to scan for leftover containers whose bundle is under `dir`. */
  runtimeRoots?: string[];
  /** Pids never to kill (the caller adds itself automatically). */
  excludePids?: number[];
}

export interface CleanupReport {
  killed: number[];
  runtimeDeleted: string[];
  cgroupsRemoved: string[];
  unmounted: string[];
  removedDir: boolean;
  errors: string[];
}

/** Where the runc shim keeps runc state for a namespace (`/run/containerd/runc/<ns>`). */
export const RUNC_SHIM_ROOT = '/run/containerd/runc';
/** Where the runc shim keeps its sockets (1.6: sha256 of address/ns/id). */
export const SHIM_SOCKET_DIR = '/run/containerd/s';

/** Names made by uniqueNamespace() (containerd.ts): `<prefix>-<pid>-<8 hex>`. */
export function isUniqueNamespace(ns: string): boolean {
  return /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*-\d+-[0-9a-f]{8}$/.test(ns);
}

const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function readText(p: string): string | undefined {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
}

function readJson(p: string): unknown {
  const s = readText(p);
  if (s === undefined) return undefined;
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

/** A nested value of parsed JSON, or undefined where the path leaves the objects. */
function field(v: unknown, ...keys: string[]): unknown {
  for (const k of keys) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}

function listDir(p: string): string[] {
  try {
    return fs.readdirSync(p);
  } catch {
    return [];
  }
}

function under(p: string, dir: string): boolean {
  return p === dir || p.startsWith(dir.endsWith('/') ? dir : dir + '/');
}

/** Removes a shim socket, only where containerd's convention puts them: /run/containerd/s/<sha256>. */
function removeShimSocket(address: string): void {
  const file = address.replace(/^unix:\/\//, '');
  if (!/^\/run\/containerd\/s\/[0-9a-f]{64}$/.test(file)) return;
  try {
    fs.unlinkSync(file);
  } catch {}
}

/** Switchyard's default state dir (config state_dir); tests that set their own keep it under `dir`. */
export const SWITCHYARD_STATE = '/run/switchyard';

/** The first JSON line of a daemon log (node may have printed a plain warning before it). */
function firstLogLine(log: string): { ns?: string; socket?: string } {
  let head = '';
  try {
    head = fs.readFileSync(log, 'utf8').slice(0, 16384);
  } catch {
    return {};
  }
  for (const line of head.split('\n')) {
    try {
      const l = JSON.parse(line) as { ns?: string; socket?: string };
      if (l && typeof l === 'object' && l.ns) return l;
    } catch {
      // not a log line
    }
  }
  return {};
}

/** `<state_dir>/daemons` dirs a test configured inside its temp dir (CRI handlers do). */
function stateDirsUnder(dir: string, depth = 3): string[] {
  if (depth === 0) return [];
  const out: string[] = [];
  for (const name of listDir(dir)) {
    const p = path.join(dir, name);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch {
      continue;
    }
    if (!st.isDirectory()) continue;
    if (name === 'daemons') out.push(dir);
    else out.push(...stateDirsUnder(p, depth - 1));
  }
  return out;
}

function removeSwitchyardState(dir: string, namespaces: Set<string>, report: CleanupReport): void {
  for (const stateDir of [SWITCHYARD_STATE, ...stateDirsUnder(dir)]) removeDaemonCards(stateDir, dir, namespaces, report);
  for (const ns of namespaces) {
    if (!isUniqueNamespace(ns)) continue;
    fs.rmSync(path.join(SWITCHYARD_STATE, 'decisions', ns), { recursive: true, force: true });
    for (const rt of ['runc', 'crun']) deleteRuntimeLeftovers(path.join(SWITCHYARD_STATE, rt, ns), dir, report, true);
  }
}

/** Daemon logs (kept after the daemon left, in `<state_dir>/logs`) of this containerd's namespaces. */
function removeDaemonLogs(stateDir: string, dir: string, namespaces: Set<string>): void {
  const logs = path.join(stateDir, 'logs');
  for (const name of listDir(logs)) {
    if (!name.endsWith('.log')) continue;
    const first = firstLogLine(path.join(logs, name));
    if (!under(stateDir, dir) && !(!!first.ns && isUniqueNamespace(first.ns) && namespaces.has(first.ns))) continue;
    fs.rmSync(path.join(logs, name), { force: true });
    fs.rmSync(path.join(logs, `${name}.1`), { force: true });
  }
}

/** Daemon state dirs (and their sockets) of daemons that served this containerd. */
function removeDaemonCards(stateDir: string, dir: string, namespaces: Set<string>, report: CleanupReport): void {
  removeDaemonLogs(stateDir, dir, namespaces);
  const daemons = path.join(stateDir, 'daemons');
  for (const key of listDir(daemons)) {
    let card: { address?: string; socket?: string; ns?: string } = {};
    let ours = under(stateDir, dir);
    try {
      card = JSON.parse(fs.readFileSync(path.join(daemons, key, 'daemon.json'), 'utf8'));
      ours ||= !!card.address && under(card.address, dir);
    } catch {
      // A daemon that exited with tasks left keeps its log but drops its card: the log's
      // first line names its namespace and socket.
      card = firstLogLine(path.join(stateDir, 'logs', `${key}.log`));
      ours ||= !!card.ns && isUniqueNamespace(card.ns) && namespaces.has(card.ns);
    }
    if (!ours) continue;
    try {
      fs.rmSync(path.join(daemons, key), { recursive: true, force: true });
      if (card.socket) removeShimSocket(card.socket);
    } catch (err) {
      report.errors.push(`rm -rf ${path.join(daemons, key)}: ${(err as Error)?.message ?? err}`);
    }
  }
}

// ---------------------------------------------------------------------------------------
// /proc helpers

export interface ProcInfo {
  pid: number;
  ppid: number;
  state: string;
  cmdline: string[];
  cwd?: string;
  exe?: string;
}

export function readProc(pid: number): ProcInfo | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // comm may contain spaces and parens: fields after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const raw = readText(`/proc/${pid}/cmdline`) ?? '';
  const cmdline = raw.split('\0');
  if (cmdline.length && cmdline[cmdline.length - 1] === '') cmdline.pop();
  let cwd: string | undefined;
  let exe: string | undefined;
  try {
    cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
  } catch {}
  try {
    exe = fs.readlinkSync(`/proc/${pid}/exe`);
  } catch {}
  return { pid, ppid: Number(rest[1]), state: rest[0] ?? '?', cmdline, cwd, exe };
}

export function listPids(): number[] {
  return listDir('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number);
}

/** True if the process exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  const p = readText(`/proc/${pid}/stat`);
  if (p === undefined) return false;
  const state = p.slice(p.lastIndexOf(')') + 2).split(' ')[0];
  return state !== 'Z' && state !== 'X';
}

/** The pids of this process and its ancestors: never killed. */
function selfAndAncestors(): Set<number> {
  const out = new Set<number>([process.pid]);
  let pid = process.ppid;
  for (let i = 0; i < 64 && pid > 1; i++) {
    out.add(pid);
    const info = readProc(pid);
    if (!info) break;
    pid = info.ppid;
  }
  out.add(1);
  return out;
}

/**
 * Processes that reference `dir`: in their cmdline (e.g. a shim's `-address
 * <dir>/containerd.sock`, containerd's `--config <dir>/config.toml`), as their cwd
 * (shims run in their bundle dir) or as their executable.
 */
export function findProcessesReferencing(dir: string, exclude: Set<number> = selfAndAncestors()): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const pid of listPids()) {
    if (exclude.has(pid)) continue;
    const info = readProc(pid);
    if (!info || info.state === 'Z' || info.state === 'X') continue;
    if (info.cmdline.length === 0) continue; // kernel thread
    const hit =
      info.cmdline.some((a) => a.includes(dir + '/') || a.endsWith(dir)) ||
      (info.cwd !== undefined && under(info.cwd.replace(/ \(deleted\)$/, ''), dir)) ||
      (info.exe !== undefined && under(info.exe.replace(/ \(deleted\)$/, ''), dir));
    if (hit) out.push(info);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// mounts

const unescapeMount = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

export interface MountEntry {
  mountPoint: string;
  fsType: string;
  source: string;
  root: string;
}

export function readMounts(mountinfo = '/proc/self/mountinfo'): MountEntry[] {
  const text = readText(mountinfo) ?? '';
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const l = left.split(' ');
    const r = right.split(' ');
    out.push({ root: unescapeMount(l[3] ?? ''), mountPoint: unescapeMount(l[4] ?? ''), fsType: r[0] ?? '', source: unescapeMount(r[1] ?? '') });
  }
  return out;
}

export function mountsUnder(dir: string): string[] {
  return readMounts()
    .map((m) => m.mountPoint)
    .filter((m) => under(m, dir));
}

/** cgroup hierarchy mount points (v1 controllers and/or the v2 unified mount). */
export function cgroupMounts(): string[] {
  const seen = new Set<string>();
  for (const m of readMounts()) {
    if (m.fsType === 'cgroup' || m.fsType === 'cgroup2') {
      if (m.root === '/') seen.add(m.mountPoint);
    }
  }
  return [...seen];
}

// ---------------------------------------------------------------------------------------
// cgroups

function cgroupDirs(cgroupPath: string): string[] {
  if (!cgroupPath.startsWith('/') || cgroupPath.includes('..') || cgroupPath.includes(':') || cgroupPath === '/') return [];
  return cgroupMounts()
    .map((m) => path.join(m, cgroupPath))
    .filter((p) => fs.existsSync(p));
}

/** All cgroup dirs below (and including) `p`, deepest first. */
function walkCgroup(p: string): string[] {
  const out: string[] = [];
  const rec = (d: string) => {
    let ents: fs.Dirent[] = [];
    try {
      ents = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of ents) if (e.isDirectory()) rec(path.join(d, e.name));
    out.push(d);
  };
  rec(p);
  return out;
}

function cgroupPids(cgroupPath: string): number[] {
  const pids = new Set<number>();
  for (const d of cgroupDirs(cgroupPath)) {
    for (const sub of walkCgroup(d)) {
      for (const f of ['cgroup.procs', 'tasks']) {
        const t = readText(path.join(sub, f));
        if (!t) continue;
        for (const l of t.split('\n')) if (/^\d+$/.test(l)) pids.add(Number(l));
      }
    }
  }
  return [...pids];
}

function thawCgroup(cgroupPath: string): void {
  for (const d of cgroupDirs(cgroupPath)) {
    for (const sub of walkCgroup(d).reverse()) {
      const v1 = path.join(sub, 'freezer.state');
      const v2 = path.join(sub, 'cgroup.freeze');
      try {
        if (fs.existsSync(v1)) fs.writeFileSync(v1, 'THAWED');
        else if (fs.existsSync(v2)) fs.writeFileSync(v2, '0');
      } catch {}
    }
  }
}

function removeCgroup(cgroupPath: string, report: CleanupReport): void {
  for (const d of cgroupDirs(cgroupPath)) {
    for (const sub of walkCgroup(d)) {
      try {
        fs.rmdirSync(sub);
        report.cgroupsRemoved.push(sub);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT') report.errors.push(`rmdir ${sub}: ${code ?? e}`);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// task bundles

export interface BundleInfo {
  namespace: string;
  id: string;
  bundle: string;
  cgroupsPath?: string;
  shimAddress?: string;
}

export function findBundles(dir: string): BundleInfo[] {
  const out: BundleInfo[] = [];
  const base = path.join(dir, 'state', 'io.containerd.runtime.v2.task');
  for (const ns of listDir(base)) {
    for (const id of listDir(path.join(base, ns))) {
      const bundle = path.join(base, ns, id);
      const spec = readJson(path.join(bundle, 'config.json'));
      const cg = field(spec, 'linux', 'cgroupsPath');
      const addr = readText(path.join(bundle, 'address'))?.trim();
      out.push({ namespace: ns, id, bundle, cgroupsPath: typeof cg === 'string' ? cg : undefined, shimAddress: addr || undefined });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// OCI runtime state (runc: <root>/<id>/state.json; crun: <root>/<id>/status)

function runtimeEntryBundle(root: string, id: string): { bin: 'runc' | 'crun'; bundle?: string } | undefined {
  const st = readJson(path.join(root, id, 'state.json'));
  if (st) {
    const labels = field(st, 'config', 'labels');
    let bundle: string | undefined;
    if (Array.isArray(labels)) {
      for (const l of labels) if (typeof l === 'string' && l.startsWith('bundle=')) bundle = l.slice(7);
    }
    return { bin: 'runc', bundle };
  }
  const cs = readJson(path.join(root, id, 'status'));
  if (cs) {
    const bundle = field(cs, 'bundle');
    return { bin: 'crun', bundle: typeof bundle === 'string' ? bundle : undefined };
  }
  return undefined;
}

function deleteRuntimeLeftovers(root: string, dir: string, report: CleanupReport, removeRootIfEmpty: boolean): void {
  for (const id of listDir(root)) {
    const e = runtimeEntryBundle(root, id);
    if (!e || !e.bundle || !under(e.bundle, dir)) continue;
    try {
      execFileSync(e.bin, ['--root', root, 'delete', '--force', id], {
        stdio: 'ignore',
        timeout: 10_000,
        env: { PATH: SYSTEM_PATH },
      });
      report.runtimeDeleted.push(`${e.bin} --root ${root} ${id}`);
    } catch (err) {
      report.errors.push(`${e.bin} --root ${root} delete -f ${id}: ${(err as Error)?.message ?? err}`);
    }
    // runc refuses to delete a container whose state it cannot load: remove the dir.
    try {
      if (fs.existsSync(path.join(root, id))) fs.rmSync(path.join(root, id), { recursive: true, force: true });
    } catch {}
  }
  if (removeRootIfEmpty) {
    try {
      if (listDir(root).length === 0) fs.rmdirSync(root);
    } catch {}
  }
}

// ---------------------------------------------------------------------------------------

function killAll(pids: Iterable<number>, report: CleanupReport): number {
  let n = 0;
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
      report.killed.push(pid);
      n++;
    } catch {}
  }
  return n;
}

function waitGone(pids: number[], ms: number): number[] {
  const deadline = Date.now() + ms;
  let alive = pids.filter(isAlive);
  while (alive.length && Date.now() < deadline) {
    sleepSync(20);
    alive = alive.filter(isAlive);
  }
  return alive;
}

/**
 * Kill, unmount and remove everything belonging to a private containerd. Never throws;
 * problems are returned in `errors`.
 */
export function forceCleanupSync(spec: CleanupSpec): CleanupReport {
  const report: CleanupReport = { killed: [], runtimeDeleted: [], cgroupsRemoved: [], unmounted: [], removedDir: false, errors: [] };
  const dir = path.resolve(spec.dir);
  if (!path.basename(dir).startsWith('switchyard-e2e-')) {
    report.errors.push(`refusing to clean up suspicious dir ${dir}`);
    return report;
  }
  const exclude = selfAndAncestors();
  for (const p of spec.excludePids ?? []) exclude.add(p);

  try {
    const bundles = findBundles(dir);
    const namespaces = new Set<string>([...(spec.namespaces ?? []), ...bundles.map((b) => b.namespace)]);
    // cgroups owned by us: each bundle's cgroupsPath, and /<ns> of our unique namespaces.
    const cgroups = new Set<string>();
    for (const b of bundles) if (b.cgroupsPath) cgroups.add(b.cgroupsPath);
    for (const ns of spec.namespaces ?? []) if (isUniqueNamespace(ns)) cgroups.add('/' + ns);

    // 1. containerd itself (only if its pid still belongs to this dir).
    if (spec.containerdPid && isAlive(spec.containerdPid)) {
      const info = readProc(spec.containerdPid);
      if (info && info.cmdline.some((a) => a.includes(dir))) killAll([spec.containerdPid], report);
    }

    // 2. shims and anything else referencing dir; container processes via their cgroups.
    for (const cg of cgroups) thawCgroup(cg);
    let victims: number[] = [];
    for (let round = 0; round < 5; round++) {
      const pids = new Set<number>(findProcessesReferencing(dir, exclude).map((p) => p.pid));
      for (const cg of cgroups) for (const p of cgroupPids(cg)) if (!exclude.has(p)) pids.add(p);
      const alive = [...pids].filter(isAlive);
      if (alive.length === 0) break;
      killAll(alive, report);
      victims.push(...alive);
      waitGone(alive, 2000);
    }
    victims = waitGone(victims, 3000);
    if (victims.length) report.errors.push(`processes still alive after SIGKILL: ${victims.join(' ')}`);

    // 3. leftover OCI runtime state.
    for (const ns of namespaces) deleteRuntimeLeftovers(path.join(RUNC_SHIM_ROOT, ns), dir, report, true);
    for (const r of spec.runtimeRoots ?? []) deleteRuntimeLeftovers(r, dir, report, isUniqueNamespace(path.basename(r)));

    // 4. cgroups (runc delete removes them normally; after SIGKILL they may be left).
    for (const cg of cgroups) removeCgroup(cg, report);

    // 5. shim sockets outside dir (runc shim 1.6: /run/containerd/s/<sha256>).
    for (const b of bundles) if (b.shimAddress) removeShimSocket(b.shimAddress);

    // 5b. what Switchyard daemons serving this containerd kept under the default state dir:
    // a daemon killed with its containerd never gets to remove its own.
    removeSwitchyardState(dir, namespaces, report);

    // 6. mounts under dir, deepest first; repeat because lazy unmounts can uncover more.
    for (let round = 0; round < 5; round++) {
      const mounts = mountsUnder(dir).sort((a, b) => b.length - a.length);
      if (mounts.length === 0) break;
      for (const m of mounts) {
        try {
          execFileSync('umount', ['-l', m], { stdio: 'ignore', timeout: 10_000, env: { PATH: SYSTEM_PATH } });
          report.unmounted.push(m);
        } catch (err) {
          report.errors.push(`umount -l ${m}: ${(err as Error)?.message ?? err}`);
        }
      }
    }
    const left = mountsUnder(dir);
    if (left.length) report.errors.push(`mounts left under ${dir}: ${left.join(' ')}`);

    // 7. the dir itself.
    if (left.length === 0) {
      try {
        fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3, retryDelay: 100 });
        report.removedDir = !fs.existsSync(dir);
      } catch (err) {
        report.errors.push(`rm -rf ${dir}: ${(err as Error)?.message ?? err}`);
      }
    }
  } catch (err) {
    report.errors.push(`cleanup failed: ${(err as Error)?.stack ?? err}`);
  }
  return report;
}
