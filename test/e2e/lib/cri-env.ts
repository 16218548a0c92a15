// A private containerd with the CRI plugin, as a Kubernetes node runs it, for tests that
// drive Switchyard the way kubelet does (through CRI and a RuntimeClass handler).
//
//   const env = criContainerd(t);                       // before/teardown hooks of `t`
//   t.test('...', async (t) => {
//     const pod = await env.cri.runPod({ name: 'p', namespace: 'default', runtimeHandler: 'switchyard' });
//     const id = await env.cri.createAndStart(pod, undefined, { name: 'c', image: env.busybox, command: ['sleep', '100'] });
//     await env.cri.stopAndRemovePod(pod);
//   });
//
// What it sets up (all under the containerd handle's temp dir /tmp/switchyard-e2e-XXXXXX):
//   - the CRI plugin on containerd's own socket, sandbox_image = the locally built pause
//     image (cri-image.ts), apparmor off (nothing loaded into the kernel);
//   - runtime handlers: `switchyard` (runtime_type io.containerd.switchyard.v2,
//     pod_annotations ["switchyard.dev/*"]), the stock `runc` (io.containerd.runc.v2), and
//     any the caller adds;
//   - Switchyard on containerd's PATH (shimPathOptions) with a config file
//     (SWITCHYARD_CONFIG) that keeps its daemon state and runc root inside the temp dir;
//   - the busybox and pause images imported into the `k8s.io` namespace and known to CRI;
//   - no CNI: pods use the host network (NamespaceOption.network = NODE), which CRI
//     serves without any network plugin; conf_dir points at an empty dir in the temp dir;
//   - pods get cgroup_parent `/<unique>/pod<uid>` (cgroupfs), a cgroup the cleanup owns;
//     pod logs go to `<dir>/pods/<ns>_<name>_<uid>/<container>/<attempt>.log`.
// Teardown: every pod is stopped and removed through CRI, then the containerd handle's
// stop() kills and removes whatever is left (processes, mounts, cgroups, runc state, dir);
// the daemon's socket in /run/containerd/s is removed if the daemon did not remove it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { SYSTEM_PATH, makeE2EDir, startContainerd, uniqueNamespace, type ContainerdHandle, type ContainerdOptions, type TomlValue } from './containerd.js';
import { criRuntimesTable, tomlKeys } from './containerd-config.js';
import { containerdBuild } from './containerd-version.js';
import { cgroupMounts, findProcessesReferencing, mountsUnder, type CleanupReport } from './cleanup.js';
import { importBusybox } from './image.js';
import { importPause, PAUSE_REF, type PauseBuild } from './cri-image.js';
import { CriClient } from './cri.js';
import { daemonPids, RUNTIME, shimPathOptions } from './switchyard.js';
import { socketPath } from '../../../src/shim/address.js';

/** The containerd namespace the CRI plugin uses. */
export const CRI_NAMESPACE = 'k8s.io';
/** The RuntimeClass handler that selects Switchyard. */
export const SWITCHYARD_HANDLER = 'switchyard';
/** The stock handler, for comparison. */
export const RUNC_HANDLER = 'runc';
export const RUNC_RUNTIME = 'io.containerd.runc.v2';

/** One `[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.<name>]` table. */
export interface CriRuntimeHandler {
  /** runtime_type, e.g. io.containerd.switchyard.v2. */
  runtimeType: string;
  /** Keys of the `.options` sub-table (for non-runc types containerd sends them as
   *  runtimeoptions.v1.Options: TypeUrl, ConfigPath, ConfigBody). */
  options?: Record<string, TomlValue>;
  /** pod_annotations: pod annotations containerd copies into the OCI spec (globs). */
  podAnnotations?: string[];
  /** container_annotations: the same for container annotations. */
  containerAnnotations?: string[];
  /** Other keys of the table (privileged_without_host_devices, base_runtime_spec, ...). */
  settings?: Record<string, TomlValue>;
  /**
   * For a Switchyard handler with its own config: the harness writes
   * `<dir>/switchyard/handler-<name>.toml` (state_dir and runtime_root inside the temp dir,
   * then these keys) and sets options.ConfigPath to it, which containerd hands to the
   * shim's `start` as runtime options (e.g. `{ grouping: 'pod' }`).
   */
  switchyardConfig?: Record<string, TomlValue>;
  /** Raw TOML appended to that handler's config (tables such as [policy]). */
  switchyardToml?: string;
}

export interface CriContainerdOptions {
  /**
   * Extra handlers by name (or a replacement for `switchyard`). `runc` is always the
   * stock handler and cannot be redefined here.
   */
  handlers?: Record<string, CriRuntimeHandler>;
  /** Extra keys for the Switchyard config file (grouping, idle_timeout, log_level, ...). */
  switchyardConfig?: Record<string, TomlValue>;
  /** Raw TOML appended to Switchyard's main config (tables such as [policy]). */
  switchyardToml?: string;
  /** Extra keys for the CRI plugin table (they override the harness's). */
  criOptions?: Record<string, TomlValue>;
  /** Other containerd options (log level, env, extraConfig for non-CRI tables, ...). */
  containerd?: Omit<ContainerdOptions, 'cri' | 'criOptions' | 'dir'>;
  /** Which pause image to build (default: static C if a compiler exists). */
  pause?: PauseBuild['kind'];
  /** Deadline of every CRI call (default 60000 ms). */
  callTimeoutMs?: number;
}

export interface CriEnv {
  readonly c: ContainerdHandle;
  /** CRI client on containerd's socket, with the harness's log root and cgroup parent. */
  readonly cri: CriClient;
  /** The busybox image ref, as CRI knows it. */
  readonly busybox: string;
  /** The sandbox (pause) image ref and how it was built. */
  readonly pause: PauseBuild;
  /** Where pod log directories go. */
  readonly logRoot: string;
  /** The cgroup parent of every pod (`/<unique>`), removed with everything below on stop. */
  readonly cgroupParent: string;
  /** Switchyard's config file (also in containerd's env as SWITCHYARD_CONFIG). */
  readonly switchyardConfigPath: string;
  /** Switchyard's state_dir (logs/<key>.log). */
  readonly switchyardStateDir: string;
  /** runc --root Switchyard uses for CRI's namespace. */
  readonly switchyardRuncRoot: string;
  /** Switchyard daemon logs so far (every daemon of this containerd), for diagnostics. */
  daemonLogs(): string;
  /** Stop and remove every pod through CRI, then stop containerd and clean up. Idempotent. */
  stop(): Promise<CleanupReport>;
}

// ---------------------------------------------------------------------------------------

const tomlLines = tomlKeys;

/** The runtimes.<name> tables for containerd's config (extraConfig), in its version's form. */
export function renderHandlers(handlers: Record<string, CriRuntimeHandler>, configVersion: 2 | 3): string {
  const CRI_TABLE = criRuntimesTable(configVersion);
  const out: string[] = [];
  for (const [name, h] of Object.entries(handlers)) {
    if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new Error(`bad runtime handler name ${JSON.stringify(name)}`);
    if (name === RUNC_HANDLER) throw new Error('the runc handler is the stock one and cannot be redefined');
    out.push(
      `[${CRI_TABLE}.${name}]`,
      ...tomlLines(
        {
          runtime_type: h.runtimeType,
          pod_annotations: h.podAnnotations,
          container_annotations: h.containerAnnotations,
          ...(h.settings ?? {}),
        },
        '  ',
      ),
    );
    if (h.options && Object.keys(h.options).length) out.push(`  [${CRI_TABLE}.${name}.options]`, ...tomlLines(h.options, '    '));
    out.push('');
  }
  return out.join('\n');
}

/** The default `switchyard` handler. */
export function switchyardHandler(extra: Partial<CriRuntimeHandler> = {}): CriRuntimeHandler {
  return { runtimeType: RUNTIME, podAnnotations: ['switchyard.dev/*'], ...extra };
}

let lowerOomCache: boolean | undefined;

/** Whether a process may lower its oom_score_adj here (needs CAP_SYS_RESOURCE). */
export function canLowerOomScoreAdj(): boolean {
  if (lowerOomCache !== undefined) return lowerOomCache;
  try {
    execFileSync('sh', ['-c', 'echo -1 > /proc/self/oom_score_adj'], { stdio: 'ignore', env: { PATH: SYSTEM_PATH } });
    lowerOomCache = true;
  } catch {
    lowerOomCache = false;
  }
  return lowerOomCache;
}

/** Start a CRI-enabled private containerd with Switchyard registered (see the file header). */
export async function startCriContainerd(opts: CriContainerdOptions = {}): Promise<CriEnv> {
  const dir = makeE2EDir();
  const syDir = path.join(dir, 'switchyard');
  const switchyardConfigPath = path.join(syDir, 'config.toml');
  const switchyardStateDir = path.join(syDir, 'state');
  const runcBase = path.join(syDir, 'runc');
  const logRoot = path.join(dir, 'pods');
  const cgroupName = uniqueNamespace('sycri');
  const cgroupParent = '/' + cgroupName;
  let c: ContainerdHandle;
  try {
    fs.mkdirSync(syDir, { recursive: true });
    fs.mkdirSync(logRoot, { recursive: true });
    fs.mkdirSync(path.join(dir, 'cni', 'net.d'), { recursive: true });
    const syKeys = (extra: Record<string, TomlValue> | undefined) =>
      ['# generated by test/e2e/lib/cri-env.ts', ...tomlLines({ state_dir: switchyardStateDir, runtime_root: runcBase, ...(extra ?? {}) }, ''), ''].join('\n');
    const handlers: Record<string, CriRuntimeHandler> = { [SWITCHYARD_HANDLER]: switchyardHandler(), ...(opts.handlers ?? {}) };
    for (const [name, h] of Object.entries(handlers)) {
      if (!h.switchyardConfig && !h.switchyardToml) continue;
      if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new Error(`bad runtime handler name ${JSON.stringify(name)}`);
      const file = path.join(syDir, `handler-${name}.toml`);
      fs.writeFileSync(file, syKeys(h.switchyardConfig) + (h.switchyardToml ?? ''));
      handlers[name] = { ...h, options: { ...(h.options ?? {}), ConfigPath: file } };
    }
    fs.writeFileSync(switchyardConfigPath, syKeys(opts.switchyardConfig) + (opts.switchyardToml ?? ''));
    const base = opts.containerd ?? {};
    const shim = shimPathOptions();
    c = await startContainerd({
      ...base,
      dir,
      cri: true,
      pathPrefix: [...(shim.pathPrefix ?? []), ...(base.pathPrefix ?? [])],
      env: { SWITCHYARD_CONFIG: switchyardConfigPath, ...(base.env ?? {}) },
      criOptions: {
        sandbox_image: PAUSE_REF,
        // otherwise CRI generates and loads an AppArmor profile into the kernel
        disable_apparmor: true,
        // CRI gives the sandbox oom_score_adj -998; without CAP_SYS_RESOURCE (this test
        // machine is itself a container) runc init then dies with "failed to update
        // /proc/self/oom_score_adj: Permission denied". Clamp to containerd's own score.
        // containerd 2.x's CRI always needs it here (runc 1.1.5 under it otherwise fails
        // every sandbox with "can't get final child's PID from pipe").
        ...(canLowerOomScoreAdj() && containerdBuild(base.version).configVersion === 2 ? {} : { restrict_oom_score_adj: true }),
        ...(opts.criOptions ?? {}),
      },
      // A function of the version: an upgrade test rewrites the config for the next one.
      extraConfig: (build) =>
        [renderHandlers(handlers, build.configVersion), typeof base.extraConfig === 'function' ? base.extraConfig(build) : (base.extraConfig ?? '')].join('\n'),
    });
  } catch (e) {
    // startContainerd removes the dir itself when containerd fails to start; not before.
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }

  c.addNamespace(CRI_NAMESPACE);
  c.addNamespace(cgroupName); // its cgroup /<cgroupName> is killed and removed on stop
  const switchyardRuncRoot = path.join(runcBase, CRI_NAMESPACE);
  c.addRuntimeRoot(switchyardRuncRoot);

  const cri = new CriClient(c.address, { logRoot, cgroupParent, timeoutMs: opts.callTimeoutMs });
  let stopPromise: Promise<CleanupReport> | undefined;

  const stop = (): Promise<CleanupReport> =>
    (stopPromise ??= (async () => {
      const problems: string[] = [];
      // 1. every pod through CRI, as kubelet would on node drain
      try {
        const pods = await cri.listPodSandbox(undefined, { timeoutMs: 10_000 });
        await Promise.all(
          pods.map((p) =>
            cri.stopAndRemovePod(p.id, 0).catch((e: Error) => {
              problems.push(`pod ${p.metadata?.name ?? ''} ${p.id}: ${e.message}`);
            }),
          ),
        );
      } catch (e) {
        problems.push(`listing pods: ${(e as Error).message}`);
      }
      cri.close();
      // Idle daemons outlive their tasks (idle_timeout) and are killed below; their
      // sockets live in /run/containerd/s, outside the temp dir: note them first.
      const sockets = new Set<string>(['ttrpc', 'grpc'].map((proto) => socketPath(c.address, CRI_NAMESPACE, `switchyard:${proto}`)));
      for (const pid of daemonPids(c)) {
        const sock = environOf(pid).SWITCHYARD_DAEMON_SOCKET;
        if (sock && /^\/run\/containerd\/s\/[0-9a-f]{64}$/.test(sock)) sockets.add(sock);
      }
      // 2. containerd and everything it left
      let report: CleanupReport;
      try {
        report = await c.stop();
      } finally {
        // 3. the daemons' sockets
        for (const sock of sockets) {
          try {
            fs.unlinkSync(sock);
          } catch {}
        }
      }
      // 4. nothing of ours may survive
      const cgs = cgroupMounts()
        .map((m) => path.join(m, cgroupName))
        .filter((p) => fs.existsSync(p));
      if (cgs.length) problems.push(`cgroups left: ${cgs.join(' ')}`);
      const procs = findProcessesReferencing(dir);
      if (procs.length) problems.push(`processes left: ${procs.map((p) => `${p.pid} ${p.cmdline.join(' ')}`).join('; ')}`);
      if (mountsUnder(dir).length) problems.push(`mounts left: ${mountsUnder(dir).join(' ')}`);
      if (problems.length) throw new Error(`CRI environment teardown:\n  ${problems.join('\n  ')}`);
      return report;
    })());

  try {
    await cri.waitReady();
    const busybox = await importBusybox(c, CRI_NAMESPACE);
    const pause = await importPause(c, CRI_NAMESPACE, undefined, opts.pause);
    // CRI learns about images imported behind its back from containerd's image events.
    await cri.waitImage(busybox);
    await cri.waitImage(pause.ref);
    return {
      c,
      cri,
      busybox,
      pause,
      logRoot,
      cgroupParent,
      switchyardConfigPath,
      switchyardStateDir,
      switchyardRuncRoot,
      daemonLogs: () => readDaemonLogs(switchyardStateDir),
      stop,
    };
  } catch (e) {
    await stop().catch(() => undefined);
    throw e;
  }
}

/** The environment of process `pid` ({} if it is gone). */
export function environOf(pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  try {
    for (const kv of fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
      const i = kv.indexOf('=');
      if (i > 0) out[kv.slice(0, i)] = kv.slice(i + 1);
    }
  } catch {}
  return out;
}

/** containerd's warnings and errors and the daemons' logs (tails), for a failed test. */
export function diagnostics(env: CriEnv, lines = 60): string {
  const tail = (s: string) => s.split('\n').slice(-lines).join('\n');
  const cd = env.c
    .logs()
    .split('\n')
    .filter((l) => /level=(warning|error|fatal)/.test(l) && !/cni/i.test(l))
    .join('\n');
  return `\n=== containerd ${env.c.logPath} (warnings and errors) ===\n${tail(cd)}\n=== Switchyard daemons ===\n${tail(env.daemonLogs())}\n`;
}

/** Copy containerd's log and the daemons' logs to `dir` (SWITCHYARD_E2E_LOGS). */
function saveLogs(env: CriEnv, dir: string): void {
  try {
    const to = path.join(dir, path.basename(env.c.dir));
    fs.mkdirSync(to, { recursive: true });
    fs.copyFileSync(env.c.logPath, path.join(to, 'containerd.log'));
    fs.writeFileSync(path.join(to, 'daemons.log'), env.daemonLogs());
  } catch {}
}

function readDaemonLogs(stateDir: string): string {
  const base = path.join(stateDir, 'logs');
  let out = '';
  let keys: string[] = [];
  try {
    keys = fs.readdirSync(base);
  } catch {
    return '';
  }
  for (const k of keys) {
    try {
      out += `--- ${path.join(base, k)}\n` + fs.readFileSync(path.join(base, k), 'utf8');
    } catch {}
  }
  return out;
}

/**
 * A CRI environment for a tap test file: started in t.before, stopped (pods removed,
 * everything cleaned up) in t.teardown. Read its fields inside subtests.
 */
export function criContainerd(
  t: { before(fn: () => Promise<void>): void; teardown(fn: () => unknown): void; passing?(): boolean; comment?(...args: unknown[]): void },
  opts: CriContainerdOptions = {},
): CriEnv {
  let env: CriEnv | undefined;
  const get = (): CriEnv => {
    if (!env) throw new Error('criContainerd: the environment is not started (use it inside subtests)');
    return env;
  };
  t.before(async () => {
    env = await startCriContainerd(opts);
  });
  t.teardown(async () => {
    if (!env) return;
    // A failed test: show what containerd and the daemons said before it is all removed.
    if (t.passing && !t.passing()) process.stderr.write(diagnostics(env));
    const keep = process.env.SWITCHYARD_E2E_LOGS;
    if (keep) saveLogs(env, keep);
    await env.stop();
  });
  return {
    get c() {
      return get().c;
    },
    get cri() {
      return get().cri;
    },
    get busybox() {
      return get().busybox;
    },
    get pause() {
      return get().pause;
    },
    get logRoot() {
      return get().logRoot;
    },
    get cgroupParent() {
      return get().cgroupParent;
    },
    get switchyardConfigPath() {
      return get().switchyardConfigPath;
    },
    get switchyardStateDir() {
      return get().switchyardStateDir;
    },
    get switchyardRuncRoot() {
      return get().switchyardRuncRoot;
    },
    daemonLogs: () => get().daemonLogs(),
    stop: () => get().stop(),
  };
}
