/** The commands about the node rather than one task: why, route, logs, doctor, config check, install. */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { parse } from 'smol-toml';
import { loadConfig, parseConfig, type Config } from '../config/config.js';
import { describe } from '../errors/index.js';
import { route } from '../routing/router.js';
import { formatDecision } from '../routing/decision.js';
import { availableOnPath, findOnPath } from '../routing/find-on-path.js';
import { readDecision } from '../routing/store.js';
import { detectCgroupMode } from '../cgroups/index.js';
import { namespaceOf } from './daemons.js';
import { runscFindings } from './doctor-runsc.js';
import { declaredRuntimes } from '../install/containerd-runtimes.js';
import { CliError, print, printJson } from './output.js';
import { checkContainerdConfig, formFor, installedContainerd, type Finding } from './containerd-config.js';

export function why(cfg: Config, id: string, ns: string | undefined, json: boolean): number {
  const namespace = namespaceOf(cfg.stateDir, id, ns);
  const d = readDecision(cfg.stateDir, namespace, id);
  if (!d) throw new CliError(`no routing decision recorded for ${id} in ${namespace}`);
  if (json) printJson({ namespace, id, ...d });
  else print(formatDecision(d));
  return 0;
}

export function routeDryRun(cfg: Config, o: { bundle?: string; annotations: string[]; k8sNamespace?: string; containerType?: string; sandboxId?: string; containerdNamespace: string; json: boolean }): number {
  let annotations: Record<string, string> = {};
  if (o.bundle) {
    const spec = JSON.parse(fs.readFileSync(path.join(o.bundle, 'config.json'), 'utf8')) as { annotations?: Record<string, string> };
    annotations = { ...(spec.annotations ?? {}) };
  }
  for (const kv of o.annotations) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new CliError(`--annotation ${kv}: expected KEY=VALUE`, 2);
    annotations[kv.slice(0, i)] = kv.slice(i + 1);
  }
  if (o.k8sNamespace) {
    annotations['io.kubernetes.cri.sandbox-namespace'] = o.k8sNamespace;
    annotations['io.kubernetes.cri.container-type'] ??= 'sandbox';
    annotations['io.kubernetes.cri.sandbox-id'] ??= o.sandboxId ?? 'dry-run';
  }
  if (o.containerType) annotations['io.kubernetes.cri.container-type'] = o.containerType;
  if (o.sandboxId) annotations['io.kubernetes.cri.sandbox-id'] = o.sandboxId;
  try {
    const d = route({ annotations, containerdNamespace: o.containerdNamespace, sandboxDecision: (sid) => readDecision(cfg.stateDir, o.containerdNamespace, sid) }, cfg, availableOnPath());
    if (o.json) printJson(d);
    else print(formatDecision(d));
    return 0;
  } catch (err) {
    if (o.json) printJson({ refused: describe(err), kind: (err as { kind?: string }).kind });
    else print(`refused: ${describe(err)}`);
    return 3;
  }
}

interface LogLine {
  time?: number;
  level?: number;
  msg?: string;
  task?: string;
  [k: string]: unknown;
}
const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

function formatLog(l: LogLine): string {
  const rest = Object.entries(l)
    .filter(([k]) => !['time', 'level', 'msg', 'task', 'pid', 'hostname', 'ns'].includes(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${new Date(l.time ?? 0).toISOString()} ${(LEVELS[l.level ?? 30] ?? String(l.level)).padEnd(5)} ${l.msg ?? ''}${rest ? ` ${rest}` : ''}`;
}

/**
 * Every daemon's log, running or gone: `<state>/logs/<key>.log` (after its rotated `.1`),
 * and the `daemon.log` of a daemon started by hand in its own directory.
 */
function daemonLogFiles(stateDir: string): string[] {
  const list = (dir: string) => {
    try {
      return fs.readdirSync(dir).sort();
    } catch {
      return [];
    }
  };
  const logs = path.join(stateDir, 'logs');
  const files = list(logs)
    .filter((n) => n.endsWith('.log'))
    .flatMap((n) => [path.join(logs, `${n}.1`), path.join(logs, n)]);
  const daemons = path.join(stateDir, 'daemons');
  return [...files, ...list(daemons).map((n) => path.join(daemons, n, 'daemon.log'))];
}

/** The daemon log lines of one task, from every daemon's log; -f keeps following. */
export async function logs(cfg: Config, id: string, follow: boolean, json: boolean, signal?: AbortSignal): Promise<number> {
  const offsets = new Map<string, number>();
  const scan = () => {
    for (const file of daemonLogFiles(cfg.stateDir)) {
      let text: string;
      try {
        const st = fs.statSync(file);
        let from = offsets.get(file) ?? 0;
        // Smaller than what we read: rotated under us, a new file from its start.
        if (st.size < from) from = 0;
        if (st.size <= from) continue;
        const fd = fs.openSync(file, 'r');
        const buf = Buffer.alloc(st.size - from);
        fs.readSync(fd, buf, 0, buf.length, from);
        fs.closeSync(fd);
        const end = buf.lastIndexOf(0x0a) + 1;
        offsets.set(file, from + end);
        text = buf.subarray(0, end).toString();
      } catch {
        continue;
      }
      for (const line of text.split('\n')) {
        if (!line.includes(`"${id}"`)) continue;
        try {
          const l = JSON.parse(line) as LogLine;
          if (l.task !== id) continue;
          print(json ? line : formatLog(l));
        } catch {
          // a torn line at a daemon crash
        }
      }
    }
  };
  scan();
  while (follow && !signal?.aborted) {
    await new Promise((r) => setTimeout(r, 250));
    scan();
  }
  return 0;
}

export function configCheck(file: string, json: boolean): number {
  let cfg: Config;
  try {
    cfg = parseConfig(fs.readFileSync(file, 'utf8'), file);
  } catch (err) {
    const msg = (err as NodeJS.ErrnoException).code ? `${file}: ${(err as NodeJS.ErrnoException).code}` : describe(err);
    if (json) printJson({ ok: false, error: msg });
    else process.stderr.write(`${msg}\n`);
    return 2;
  }
  const summary = { ok: true, file, runtimes: Object.keys(cfg.runtimes), default: cfg.defaultRuntime, annotationKey: cfg.annotationKey, rules: cfg.policy.rules.map((r) => r.name), hardenOnly: cfg.policy.hardenOnly };
  if (json) printJson(summary);
  else print(`${file}: ok\n  runtimes: ${summary.runtimes.join(', ')}\n  default: ${summary.default}\n  annotation: ${summary.annotationKey}\n  policy rules: ${summary.rules.join(', ') || '(none: every namespace may use every runtime)'}${summary.hardenOnly ? ' (harden_only)' : ''}`);
  return 0;
}

export const RUNTIMECLASS = `apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata:
  name: switchyard
handler: switchyard
`;

export function doctor(cfg: Config, containerdConfig: string, json: boolean): number {
  const f: Finding[] = [];
  for (const rt of Object.values(cfg.runtimes)) {
    const found = findOnPath(rt.binary);
    if (!found) {
      f.push({ check: `runtime ${rt.name}`, ok: false, severity: rt.name === cfg.defaultRuntime ? 'error' : 'warning', detail: `${rt.binary} not found on PATH`, fix: `install ${rt.binary}, or remove [runtimes.${rt.name}] from ${cfg.source}` });
      continue;
    }
    let version = '';
    try {
      version = execFileSync(found, ['--version'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0] ?? '';
    } catch {
      version = '(no --version)';
    }
    f.push({ check: `runtime ${rt.name}`, ok: true, severity: 'info', detail: `${found}: ${version}` });
    if (rt.type === 'oci' && rt.flavour === 'runsc') f.push(...runscFindings(rt, found, cfg.source));
  }
  const containerd = installedContainerd();
  f.push(
    containerd
      ? { check: 'containerd', ok: true, severity: 'info', detail: `containerd ${containerd.text} (reads config version ${formFor(containerd)}; bootstrap version ${formFor(containerd) === 3 ? '3: one start per pod' : '2: start per container'})` }
      : { check: 'containerd', ok: false, severity: 'warning', detail: 'no containerd on PATH' },
  );
  try {
    const doc = parse(fs.readFileSync(containerdConfig, 'utf8')) as Record<string, unknown>;
    // Runtimes in the file's imports count too (node install writes a drop-in).
    const main = path.resolve(containerdConfig);
    const imported = Object.fromEntries(Object.entries(declaredRuntimes(containerdConfig)).filter(([, r]) => r.file !== main));
    f.push(...checkContainerdConfig(doc, containerdConfig, cfg, containerd, imported));
  } catch (err) {
    f.push({ check: 'containerd config', ok: false, severity: 'error', detail: `cannot read ${containerdConfig}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, fix: 'give its path with --containerd-config' });
  }
  try {
    f.push({ check: 'cgroups', ok: true, severity: 'info', detail: `cgroup ${detectCgroupMode()}` });
  } catch (err) {
    f.push({ check: 'cgroups', ok: false, severity: 'error', detail: describe(err) });
  }
  try {
    execFileSync('criu', ['check'], { stdio: 'pipe', timeout: 10_000 });
    f.push({ check: 'criu', ok: true, severity: 'info', detail: 'criu check passed: checkpoint/restore can work' });
  } catch (err) {
    const out = `${(err as { stderr?: Buffer }).stderr ?? ''}`.trim().split('\n').filter((l) => l.includes('Error')).slice(-2).join('; ');
    f.push({ check: 'criu', ok: false, severity: 'warning', detail: `criu check fails: checkpoint will fail${out ? ` (${out})` : ''}`, fix: 'install criu and a kernel with checkpoint/restore support, if checkpoints are needed' });
  }
  try {
    fs.closeSync(fs.openSync('/dev/kvm', 'r+'));
    f.push({ check: 'kvm', ok: true, severity: 'info', detail: '/dev/kvm opens: VM-isolated runtimes can use hardware virtualization' });
  } catch (err) {
    f.push({ check: 'kvm', ok: false, severity: 'warning', detail: `/dev/kvm: ${(err as NodeJS.ErrnoException).code}`, fix: 'enable nested virtualization or KVM for Kata' });
  }
  for (const d of [cfg.stateDir, path.join(cfg.stateDir, 'daemons')]) {
    try {
      const st = fs.statSync(d);
      const mode = st.mode & 0o777;
      const ok = (mode & 0o077) === 0 && st.uid === 0;
      f.push({ check: `permissions ${d}`, ok, severity: ok ? 'info' : 'error', detail: `mode ${mode.toString(8)}, uid ${st.uid}`, fix: ok ? undefined : `chown root ${d} && chmod 0700 ${d}` });
    } catch {
      f.push({ check: `permissions ${d}`, ok: true, severity: 'info', detail: 'not created yet (made 0700 on first use)' });
    }
  }
  const errors = f.filter((x) => !x.ok && x.severity === 'error').length;
  if (json) printJson({ errors, findings: f });
  else {
    for (const x of f) print(`${x.ok ? 'ok   ' : x.severity === 'error' ? 'ERROR' : 'warn '} ${x.check}: ${x.detail}${x.fix ? `\n      fix: ${x.fix.replace(/\n/g, '\n      ')}` : ''}`);
    print(errors ? `${errors} error(s)` : 'no errors');
  }
  return errors ? 1 : 0;
}

export { loadConfig };
