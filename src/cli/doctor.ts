/** `doctor`: what this node has, and what stops Switchyard from working on it, with the fix. */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { parse } from 'smol-toml';
import type { Config } from '../config/config.js';
import { describe } from '../errors/index.js';
import { findOnPath } from '../routing/find-on-path.js';
import { detectCgroupMode } from '../cgroups/index.js';
import { runscFindings } from './doctor-runsc.js';
import { declaredRuntimes } from '../install/containerd-runtimes.js';
import { print, printJson } from './output.js';
import { checkContainerdConfig, formFor, installedContainerd, type Finding } from './containerd-config.js';

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
