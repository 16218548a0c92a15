// A private containerd for end-to-end tests.
//
//   const c = await startContainerd({ pathPrefix: [shimDir] });
//   await c.ctr(['run', '--rm', ref, 'id1', 'echo', 'hello']);
//   await c.stop();
//
// Every instance lives in its own temp dir /tmp/switchyard-e2e-XXXXXX (root, state,
// sockets, config, log) and runs with a clean environment (like systemd: only PATH plus
// what the caller passes), so the shims it spawns do not inherit NODE_EXTRA_CA_CERTS etc.
//
// Cleanup is layered:
//   1. stop(): kill/delete tasks and containers through ctr, SIGTERM containerd, then the
//      synchronous forceCleanupSync (cleanup.ts): kill leftover shims and container
//      processes, runc/crun delete, remove cgroups, umount -l, rm -rf.
//   2. process 'exit' and SIGINT/SIGTERM/SIGHUP handlers run forceCleanupSync for every
//      instance that was not stopped.
//   3. a detached reaper process (reaper.ts) runs forceCleanupSync if this process dies
//      without stopping the instance (e.g. SIGKILL after a tap timeout).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import type { Socket } from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { execa, type ResultPromise } from 'execa';
import { forceCleanupSync, isAlive, sleepSync, type CleanupReport } from './cleanup.js';
import { containerdBuild, type ContainerdBuild, type ContainerdVersion } from './containerd-version.js';
import { renderCri, tomlValue, type TomlValue } from './containerd-config.js';

export const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export type { TomlValue };

export interface ContainerdOptions {
  /** Enable the CRI plugin (default false: it is disabled, which makes start faster). */
  cri?: boolean;
  /**
   * Extra keys for the CRI plugin, named as in config version 2's
   * `[plugins."io.containerd.grpc.v1.cri"]` table (when cri). For containerd 2.x each is
   * written where config version 3 keeps it (containerd-config.ts).
   */
  criOptions?: Record<string, TomlValue>;
  /** Keys for the `[plugins."io.containerd.grpc.v1.cri".containerd]` table (when cri); same mapping. */
  criContainerdOptions?: Record<string, TomlValue>;
  /**
   * Which containerd (default: SWITCHYARD_E2E_CONTAINERD, else 2.1). Its own folder goes
   * first on containerd's PATH (its containerd-shim-runc-v2) and its own ctr is used.
   */
  version?: ContainerdVersion;
  /** 'auto' (default): overlayfs if an overlay mount works under /tmp, else native. */
  snapshotter?: 'overlayfs' | 'native' | 'auto';
  /**
   * TOML appended to the generated config. It must not re-open tables the generator
   * writes: `[grpc]`, `[debug]`, `[plugins."io.containerd.internal.v1.opt"]` and, with
   * cri, `[plugins."io.containerd.grpc.v1.cri"]`, `….cri".containerd]`, `….cri".cni]`,
   * `….cri".containerd.runtimes.runc]`.
   * Other sub-tables such as `[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.x]`
   * or `[plugins."io.containerd.runtime.v2.task"]` are fine.
   */
  extraConfig?: string | ((build: ContainerdBuild) => string);
  /** Directories put in front of containerd's PATH (e.g. where our shim binary lives). */
  pathPrefix?: string[];
  /** Extra environment variables for containerd (inherited by the shims it spawns). */
  env?: Record<string, string>;
  /** containerd log level (default info). debug or trace make containerd pass -debug to shims. */
  logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  /** Default namespace for ctr() (default: a fresh uniqueNamespace('sy')). */
  namespace?: string;
  /** How long to wait for containerd to answer (default 20000 ms). */
  startTimeoutMs?: number;
  /** containerd executable (default: the chosen version's). */
  containerdBinary?: string;
  /**
   * Use this directory, made by the caller with makeE2EDir(), instead of a fresh one: for
   * files that env or extraConfig must name before containerd starts. It is removed on
   * stop like a fresh one.
   */
  dir?: string;
}

/** An empty private temp dir for startContainerd's `dir` option (/tmp/switchyard-e2e-XXXXXX). */
export function makeE2EDir(): string {
  return fs.mkdtempSync('/tmp/switchyard-e2e-');
}

export interface CtrOptions {
  /** Namespace (default: the handle's namespace). */
  namespace?: string;
  /** Throw on a non-zero exit (default true). */
  reject?: boolean;
  /** Kill ctr after this long (default 60000 ms). */
  timeoutMs?: number;
  /** Data written to ctr's stdin. */
  input?: string | Buffer;
  /** 'pipe': the caller writes ctr's stdin itself (subprocess.stdin); default: input, or nothing. */
  stdin?: 'pipe';
  /** Extra environment for ctr (the base is a clean env with PATH and CONTAINERD_SNAPSHOTTER). */
  env?: Record<string, string>;
  /**
   * Send ctr's stdout to this file instead of a pipe. ctr 1.6 can exit before its copy
   * from the stdout FIFO into a slow pipe is done (seen with runc-v2 too, under load):
   * tests that count output bytes use a file, which never blocks the copy.
   */
  stdoutFile?: string;
}

export interface CtrResult {
  command: string;
  exitCode: number | undefined;
  signal: string | undefined;
  stdout: string;
  stderr: string;
  failed: boolean;
  timedOut: boolean;
  durationMs: number;
}

export interface ContainerdHandle {
  /** The temp dir holding everything below. */
  readonly dir: string;
  readonly root: string;
  readonly state: string;
  /** gRPC socket path (no scheme). */
  readonly address: string;
  /** ttrpc socket path: containerd 1.6 derives it as address + ".ttrpc". */
  readonly ttrpcAddress: string;
  readonly configPath: string;
  readonly logPath: string;
  /** Default namespace used by ctr(). */
  readonly namespace: string;
  readonly snapshotter: 'overlayfs' | 'native';
  /** Which containerd this is: version, binaries, config form. */
  readonly build: ContainerdBuild;
  /** The environment containerd runs with. */
  readonly env: Record<string, string>;
  /** containerd's current pid (changes on restart). */
  readonly pid: number | undefined;
  readonly stopped: boolean;
  /** Run `ctr --address ADDRESS --namespace NS ARGS...` with a clean environment. */
  ctr(args: string[], opts?: CtrOptions): Promise<CtrResult>;
  /** Same, but return the execa subprocess (streaming stdin/stdout, kill, ...). */
  ctrProcess(args: string[], opts?: CtrOptions): ResultPromise;
  /** The argv and environment ctr() would use, for spawning ctr some other way (on a pty). */
  ctrCommand(args: string[], opts?: Pick<CtrOptions, 'namespace' | 'env'>): { file: string; args: string[]; env: Record<string, string> };
  /** A fresh unique namespace registered for cleanup with this instance. */
  newNamespace(prefix?: string): string;
  /** Register a namespace chosen by the caller for cleanup (cgroups /<ns>, runc root). */
  addNamespace(ns: string): void;
  /** Register an OCI runtime root (runc/crun --root) to scan for leftovers on stop. */
  addRuntimeRoot(dir: string): void;
  /** The containerd log so far. */
  logs(): string;
  /** Stop containerd (SIGTERM, shims keep running) and start it again with the same config. */
  restart(): Promise<void>;
  /**
   * Stop containerd (shims keep running) and start another version on the same root,
   * state and socket, as an operator upgrades a node: the config is rewritten in the new
   * version's form, and ctr() uses the new version's ctr.
   */
  replaceWith(version: ContainerdVersion): Promise<void>;
  /**
   * Kill and delete all tasks and containers, stop containerd and remove every process,
   * mount, cgroup and file it left. Idempotent. Rejects if processes, mounts or the temp
   * dir survive; the report is attached to the error as `.report`.
   */
  stop(): Promise<CleanupReport>;
}

// ---------------------------------------------------------------------------------------
// namespaces

const ownedNamespaces = new Set<string>();

/**
 * A namespace name unique to this process and call: `<prefix>-<pid>-<8 hex>`. Only such
 * names get their whole cgroup `/<ns>` killed and removed on cleanup (see cleanup.ts
 * isUniqueNamespace); use them, not "default", so cleanup can never touch anything else.
 * Register it with a handle through c.newNamespace(), c.addNamespace() or by passing it
 * to c.ctr(..., { namespace }).
 */
export function uniqueNamespace(prefix = 'sy'): string {
  const ns = `${prefix}-${process.pid}-${randomBytes(4).toString('hex')}`;
  ownedNamespaces.add(ns);
  return ns;
}

// ---------------------------------------------------------------------------------------
// snapshotter detection

let overlayWorks: boolean | undefined;

/** Whether an overlay mount works in a temp dir under /tmp on this machine (cached). */
export function overlaySupported(): boolean {
  if (overlayWorks !== undefined) return overlayWorks;
  const d = fs.mkdtempSync('/tmp/switchyard-ovlprobe-');
  const [l, u, w, m] = ['l', 'u', 'w', 'm'].map((x) => path.join(d, x));
  for (const p of [l, u, w, m]) fs.mkdirSync(p!);
  try {
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${l},upperdir=${u},workdir=${w}`, m!], {
      stdio: 'ignore',
      env: { PATH: SYSTEM_PATH },
    });
    overlayWorks = true;
    try {
      execFileSync('umount', [m!], { stdio: 'ignore', env: { PATH: SYSTEM_PATH } });
    } catch {
      execFileSync('umount', ['-l', m!], { stdio: 'ignore', env: { PATH: SYSTEM_PATH } });
    }
  } catch {
    overlayWorks = false;
  }
  fs.rmSync(d, { recursive: true, force: true });
  return overlayWorks;
}

// ---------------------------------------------------------------------------------------
// config

export function renderConfig(p: {
  dir: string;
  root: string;
  state: string;
  address: string;
  snapshotter: string;
  opts: ContainerdOptions;
  build: ContainerdBuild;
}): string {
  const { opts } = p;
  const v3 = p.build.configVersion === 3;
  const disabled = ['io.containerd.snapshotter.v1.aufs', 'io.containerd.snapshotter.v1.btrfs', 'io.containerd.snapshotter.v1.zfs', 'io.containerd.snapshotter.v1.devmapper'];
  // 1.7 and 2.x run NRI, which listens on one host-wide socket (/var/run/nri/nri.sock):
  // private instances side by side would take it from each other.
  disabled.push('io.containerd.nri.v1.nri');
  if (!opts.cri) {
    disabled.push('io.containerd.grpc.v1.cri');
    // 2.x splits CRI into several plugins; the runtime and images halves load on their own.
    if (v3) disabled.push('io.containerd.cri.v1.runtime', 'io.containerd.cri.v1.images');
  }
  const lines = [
    '# generated by test/e2e/lib/containerd.ts',
    `version = ${p.build.configVersion}`,
    `root = ${JSON.stringify(p.root)}`,
    `state = ${JSON.stringify(p.state)}`,
    'oom_score = 0',
    `disabled_plugins = ${tomlValue(disabled)}`,
    '',
    '[grpc]',
    `  address = ${JSON.stringify(p.address)}`,
    '',
    '[debug]',
    `  level = ${JSON.stringify(opts.logLevel ?? 'info')}`,
    '',
    '[plugins]',
    '  [plugins."io.containerd.internal.v1.opt"]',
    `    path = ${JSON.stringify(path.join(p.dir, 'opt'))}`,
  ];
  if (opts.cri) {
    lines.push(
      ...renderCri(p.build.configVersion, {
        // a random port, so that several CRI-enabled instances can run at once
        plugin: { stream_server_address: '127.0.0.1', stream_server_port: '0', netns_mounts_under_state_dir: true, ...opts.criOptions },
        containerd: { snapshotter: p.snapshotter, ...opts.criContainerdOptions },
        cni: { bin_dir: '/usr/lib/cni', conf_dir: path.join(p.dir, 'cni', 'net.d') },
      }),
    );
  }
  lines.push('');
  const extra = typeof opts.extraConfig === 'function' ? opts.extraConfig(p.build) : opts.extraConfig;
  if (extra) lines.push('# extraConfig', extra, '');
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------
// global safety net

const live = new Set<Instance>();
let handlersInstalled = false;
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function onExitSync(): void {
  for (const inst of [...live]) inst.forceSync();
}

function onSignal(sig: NodeJS.Signals): void {
  onExitSync();
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  // Re-raise so the default action (or another library's handler) takes place.
  process.kill(process.pid, sig);
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', onExitSync);
  for (const s of SIGNALS) process.on(s, onSignal);
}

// ---------------------------------------------------------------------------------------

const ENV_BIN = fs.existsSync('/usr/bin/env') ? '/usr/bin/env' : 'env';

function envArgs(env: Record<string, string>): string[] {
  return Object.entries(env).map(([k, v]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`bad environment variable name ${JSON.stringify(k)}`);
    return `${k}=${v}`;
  });
}

function tail(text: string, lines = 40): string {
  return text.split('\n').slice(-lines).join('\n');
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Resolves true when `p` settles, false after `ms` (the timer is cleared either way). */
async function withTimeout(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p.then(
        () => true,
        () => true,
      ),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

class Instance implements ContainerdHandle {
  readonly dir: string;
  readonly root: string;
  readonly state: string;
  readonly address: string;
  readonly ttrpcAddress: string;
  readonly configPath: string;
  readonly logPath: string;
  readonly namespace: string;
  readonly snapshotter: 'overlayfs' | 'native';
  readonly env: Record<string, string>;
  build: ContainerdBuild;
  private proc: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private reaper: ChildProcess | undefined;
  private namespaces = new Set<string>();
  private runtimeRoots = new Set<string>();
  private stopPromise: Promise<CleanupReport> | undefined;
  private forced = false;
  private readonly startTimeoutMs: number;
  private binary: string;

  constructor(private readonly opts: ContainerdOptions) {
    if (opts.dir !== undefined && !/^\/tmp\/switchyard-e2e-[^/]+$/.test(opts.dir)) {
      throw new Error(`ContainerdOptions.dir must come from makeE2EDir(), not ${opts.dir}`);
    }
    this.dir = opts.dir ?? makeE2EDir();
    this.root = path.join(this.dir, 'root');
    this.state = path.join(this.dir, 'state');
    this.address = path.join(this.dir, 'containerd.sock');
    this.ttrpcAddress = this.address + '.ttrpc';
    this.configPath = path.join(this.dir, 'config.toml');
    this.logPath = path.join(this.dir, 'containerd.log');
    this.namespace = opts.namespace ?? uniqueNamespace('sy');
    this.startTimeoutMs = opts.startTimeoutMs ?? 20_000;
    this.build = containerdBuild(opts.version);
    this.binary = opts.containerdBinary ?? this.build.containerd;
    const snap = opts.snapshotter ?? 'auto';
    this.snapshotter = snap === 'auto' ? (overlaySupported() ? 'overlayfs' : 'native') : snap;
    this.env = { PATH: this.pathFor(this.build), ...(opts.env ?? {}) };
    this.namespaces.add(this.namespace);
    this.writeConfig();
  }

  /** The version's folder first, so its containerd-shim-runc-v2 is the one containerd finds. */
  private pathFor(build: ContainerdBuild): string {
    return [...(this.opts.pathPrefix ?? []), build.binDir, SYSTEM_PATH].join(':');
  }

  private writeConfig(): void {
    const p = { dir: this.dir, root: this.root, state: this.state, address: this.address, snapshotter: this.snapshotter, opts: this.opts, build: this.build };
    fs.writeFileSync(this.configPath, renderConfig(p));
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get stopped(): boolean {
    return this.stopPromise !== undefined || this.forced;
  }

  private startReaper(): void {
    const script = fileURLToPath(new URL('./reaper.js', import.meta.url));
    if (!fs.existsSync(script)) return;
    const spec = { dir: this.dir, namespaces: [...this.namespaces], runtimeRoots: [...this.runtimeRoots], excludePids: [] };
    const r = spawn(ENV_BIN, ['-i', ...envArgs({ PATH: SYSTEM_PATH, SWITCHYARD_REAPER: JSON.stringify(spec) }), process.execPath, script], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
      cwd: '/',
      env: { PATH: SYSTEM_PATH },
    });
    r.on('error', () => {});
    r.stdin?.on('error', () => {});
    r.unref();
    (r.stdin as unknown as Socket | null)?.unref?.();
    this.reaper = r;
  }

  private tellReaper(line: string): void {
    try {
      if (this.reaper?.stdin?.writable) this.reaper.stdin.write(line + '\n');
    } catch {}
  }

  private releaseReaper(): void {
    this.tellReaper('done');
    try {
      this.reaper?.stdin?.end();
    } catch {}
    this.reaper = undefined;
  }

  async start(): Promise<void> {
    const logFd = fs.openSync(this.logPath, 'a');
    let child: ChildProcess;
    try {
      // `env -i` (which execs, so the pid stays containerd's): the spawn `env` option alone
      // is not enough, because under tap @tapjs/processinfo wraps child_process and adds
      // NODE_OPTIONS=--import=<tap loader> and _TAPJS_PROCESSINFO_* to every child's env,
      // which the shims would inherit.
      child = spawn(ENV_BIN, ['-i', ...envArgs(this.env), this.binary, '--config', this.configPath], {
        cwd: this.dir,
        env: { PATH: SYSTEM_PATH },
        detached: true, // own process group: a terminal ^C goes to us, not to containerd
        stdio: ['ignore', logFd, logFd],
      });
    } finally {
      fs.closeSync(logFd);
    }
    this.proc = child;
    let exitInfo: string | undefined;
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        exitInfo = `exit code ${code} signal ${signal}`;
        resolve();
      });
      child.once('error', (e) => {
        exitInfo = `spawn error ${e.message}`;
        resolve();
      });
    });
    child.unref();
    if (child.pid) this.tellReaper(`pid ${child.pid}`);

    const t0 = Date.now();
    const deadline = t0 + this.startTimeoutMs;
    for (;;) {
      if (exitInfo !== undefined) {
        throw new Error(`containerd exited during startup (${exitInfo})\n--- ${this.logPath} (tail) ---\n${tail(this.logs())}`);
      }
      if (fs.existsSync(this.address)) {
        const r = await this.ctr(['version'], { reject: false, timeoutMs: 5000 });
        if (r.exitCode === 0) {
          if (this.opts.cri) await this.checkCri();
          return;
        }
      }
      if (Date.now() > deadline) {
        throw new Error(
          `containerd did not answer on ${this.address} within ${this.startTimeoutMs} ms\n--- ${this.logPath} (tail) ---\n${tail(this.logs())}`,
        );
      }
      await delay(25);
    }
  }

  /** containerd starts even when the CRI plugin fails to load: make that an error. */
  private async checkCri(): Promise<void> {
    const r = await this.ctr(['plugins', 'ls'], { reject: false, timeoutMs: 10_000 });
    const line = r.stdout.split('\n').find((l) => /^io\.containerd\.grpc\.v1\s+cri\s/.test(l));
    if (line && /\sok\s*$/.test(line)) return;
    const why = this.logs()
      .split('\n')
      .filter((l) => l.includes('io.containerd.grpc.v1.cri') && /level=(warning|error)/.test(l))
      .join('\n');
    throw new Error(`the CRI plugin did not load (${line?.trim() ?? 'not listed'})\n${why || tail(this.logs())}`);
  }

  private ctrEnv(extra?: Record<string, string>): Record<string, string> {
    return { PATH: SYSTEM_PATH, CONTAINERD_SNAPSHOTTER: this.snapshotter, ...(extra ?? {}) };
  }

  ctrCommand(args: string[], opts: Pick<CtrOptions, 'namespace' | 'env'> = {}) {
    const ns = opts.namespace ?? this.namespace;
    return { file: this.build.ctr, args: ['--address', this.address, '--namespace', ns, ...this.withFifoDir(args)], env: this.ctrEnv(opts.env) };
  }

  ctrProcess(args: string[], opts: CtrOptions = {}): ResultPromise {
    const ns = opts.namespace ?? this.namespace;
    if (opts.namespace && !this.namespaces.has(ns)) this.addNamespace(ns);
    return execa(this.build.ctr, ['--address', this.address, '--namespace', ns, ...this.withFifoDir(args)], {
      env: this.ctrEnv(opts.env),
      extendEnv: false,
      reject: opts.reject ?? true,
      timeout: opts.timeoutMs ?? 60_000,
      ...(opts.input !== undefined ? { input: opts.input } : { stdin: opts.stdin ?? ('ignore' as const) }),
      ...(opts.stdoutFile !== undefined ? { stdout: { file: opts.stdoutFile } } : {}),
    }) as unknown as ResultPromise;
  }

  /**
   * ctr creates stdio FIFOs in /run/containerd/fifo/<random> and leaks them for `run -d`
   * (it exits without closing the IO). Put them under our temp dir instead: add
   * `--fifo-dir <dir>/fifo` to `run`, `task start` and `task exec` unless given.
   */
  private withFifoDir(args: string[]): string[] {
    if (args.includes('--fifo-dir') || args.some((a) => a.startsWith('--fifo-dir='))) return args;
    const fifo = ['--fifo-dir', path.join(this.dir, 'fifo')];
    if (args[0] === 'run') return [args[0], ...fifo, ...args.slice(1)];
    if (['task', 'tasks', 't'].includes(args[0] ?? '') && ['start', 'exec'].includes(args[1] ?? '')) {
      return [args[0]!, args[1]!, ...fifo, ...args.slice(2)];
    }
    return args;
  }

  async ctr(args: string[], opts: CtrOptions = {}): Promise<CtrResult> {
    const t0 = Date.now();
    const r = await this.ctrProcess(args, opts);
    return {
      command: r.command,
      exitCode: r.exitCode,
      signal: r.signal,
      stdout: String(r.stdout ?? ''),
      stderr: String(r.stderr ?? ''),
      failed: Boolean(r.failed),
      timedOut: Boolean(r.timedOut),
      durationMs: Date.now() - t0,
    };
  }

  newNamespace(prefix = 'sy'): string {
    const ns = uniqueNamespace(prefix);
    this.addNamespace(ns);
    return ns;
  }

  addNamespace(ns: string): void {
    if (this.namespaces.has(ns)) return;
    this.namespaces.add(ns);
    this.tellReaper(`ns ${ns}`);
  }

  addRuntimeRoot(dir: string): void {
    if (this.runtimeRoots.has(dir)) return;
    this.runtimeRoots.add(dir);
    this.tellReaper(`root ${dir}`);
  }

  logs(): string {
    try {
      return fs.readFileSync(this.logPath, 'utf8');
    } catch {
      return '';
    }
  }

  private async stopDaemon(graceMs: number): Promise<void> {
    const child = this.proc;
    if (!child?.pid || !isAlive(child.pid)) return;
    try {
      child.kill('SIGTERM');
    } catch {}
    const timedOut = !(await withTimeout(this.exited, graceMs));
    if (timedOut) {
      try {
        child.kill('SIGKILL');
      } catch {}
      await withTimeout(this.exited, 5000);
    }
  }

  async restart(): Promise<void> {
    if (this.stopped) throw new Error('restart() after stop()');
    await this.stopDaemon(10_000);
    await this.start();
  }

  async replaceWith(version: ContainerdVersion): Promise<void> {
    if (this.stopped) throw new Error('replaceWith() after stop()');
    await this.stopDaemon(10_000);
    this.build = containerdBuild(version);
    this.binary = this.build.containerd;
    this.env.PATH = this.pathFor(this.build);
    this.writeConfig();
    await this.start();
  }

  /** Kill/delete every task and container through ctr; bounded by a deadline. */
  private async gracefulCleanup(budgetMs: number): Promise<void> {
    const deadline = Date.now() + budgetMs;
    const left = () => Math.max(1000, Math.min(10_000, deadline - Date.now()));
    const run = (ns: string, args: string[]) =>
      Date.now() > deadline
        ? Promise.resolve(undefined)
        : this.ctr(args, { namespace: ns, reject: false, timeoutMs: left() }).catch(() => undefined);
    const lines = (r: CtrResult | undefined) => (r && r.exitCode === 0 ? r.stdout.split('\n').map((s) => s.trim()).filter(Boolean) : []);

    const v = await this.ctr(['version'], { reject: false, timeoutMs: 3000 }).catch(() => undefined);
    if (!v || v.exitCode !== 0) return;
    const nsList = lines(await run('default', ['namespaces', 'ls', '-q']));
    for (const ns of nsList) this.addNamespace(ns);
    await Promise.all(
      nsList.map(async (ns) => {
        const tasks = lines(await run(ns, ['tasks', 'ls', '-q']));
        await Promise.all(tasks.map((id) => run(ns, ['tasks', 'kill', '--all', '--signal', 'SIGKILL', id])));
        await Promise.all(tasks.map((id) => run(ns, ['tasks', 'delete', '--force', id])));
        const ctrs = lines(await run(ns, ['containers', 'ls', '-q']));
        if (ctrs.length) await run(ns, ['containers', 'delete', ...ctrs]);
      }),
    );
  }

  stop(): Promise<CleanupReport> {
    this.stopPromise ??= (async () => {
      try {
        if (!this.forced) {
          if (this.proc?.pid && isAlive(this.proc.pid)) await this.gracefulCleanup(20_000);
          await this.stopDaemon(10_000);
        }
      } finally {
        // fall through to the forced part whatever happened above
      }
      const report = this.forceSync();
      const problems = report.errors.filter((e) => /still alive|mounts left|rm -rf|cleanup failed/.test(e));
      if (!report.removedDir && fs.existsSync(this.dir)) problems.push(`temp dir ${this.dir} not removed`);
      if (problems.length) {
        const err = new Error(`containerd cleanup incomplete:\n  ${problems.join('\n  ')}`) as Error & { report?: CleanupReport };
        err.report = report;
        throw err;
      }
      return report;
    })();
    return this.stopPromise;
  }

  /** Synchronous forced cleanup; used by stop() and by the exit/signal handlers. */
  forceSync(): CleanupReport {
    const report = forceCleanupSync({
      dir: this.dir,
      containerdPid: this.proc?.pid,
      namespaces: [...this.namespaces],
      runtimeRoots: [...this.runtimeRoots],
    });
    // containerd is our child: wait (briefly) until it is reaped or at least dead.
    if (this.proc?.pid) {
      const deadline = Date.now() + 2000;
      while (isAlive(this.proc.pid) && Date.now() < deadline) sleepSync(10);
    }
    this.forced = true;
    live.delete(this);
    this.releaseReaper();
    return report;
  }

  async init(): Promise<void> {
    installHandlers();
    live.add(this);
    this.startReaper();
    try {
      await this.start();
    } catch (e) {
      this.forceSync();
      throw e;
    }
  }
}

/** Start a private containerd; resolves once `ctr version` answers. */
export async function startContainerd(opts: ContainerdOptions = {}): Promise<ContainerdHandle> {
  const inst = new Instance(opts);
  await inst.init();
  return inst;
}

/** Minimal shape of a tap Test used here. */
export interface TeardownTest {
  teardown(fn: () => unknown): void;
}

/**
 * Start a containerd for the test `t`, stopped (and everything cleaned up) in
 * t.teardown, and run `fn` with it.
 */
export async function withContainerd<T>(
  t: TeardownTest,
  opts: ContainerdOptions,
  fn: (c: ContainerdHandle) => T | Promise<T>,
): Promise<T> {
  const c = await startContainerd(opts);
  t.teardown(() => c.stop());
  return await fn(c);
}
