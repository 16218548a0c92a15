/**
 * `switchyard node install`: the bundle into the prefix, the commands onto containerd's
 * PATH, the config for the node's flavour, containerd restarted if its config changed, a
 * probe task, the node label. Everything is planned (and any refusal made) before the first
 * write; a second run with the same bundle and options writes nothing and restarts nothing.
 */
import { Host, type FileWrite } from './plan.js';
import { detectFlavour, planFor, type Flavour } from './flavours.js';
import { handlerSet, type Pin } from './handlers.js';
import { BIN_DIR, copyBundle, readBundleInfo, wrappers } from './bundle-copy.js';
import { dirOf, makeDirs, undoHostFile, writeHostFile, type RecordedFile } from './host-files.js';
import { readRecord, writeRecord, RECORD, RECORD_DIR, type InstallRecord } from './record.js';
import { restartContainerd } from './restart.js';
import { probeNode } from './probe.js';
import { inCluster, labelNode } from './kube.js';
import { withoutBlock } from './containerd-toml.js';
import { failedPrecondition } from '../errors/index.js';

export interface InstallOptions {
  hostRoot: string;
  bundle: string;
  prefix: string;
  flavour?: Flavour;
  pins: Pin[];
  runtimeArgs: Record<string, string[]>;
  containerdConfig?: string;
  restartCommand?: string;
  probe?: { ctr: string; image: string };
  nodeName?: string;
  log: (s: string) => void;
}

export interface InstallResult {
  changed: string[];
  restarted: boolean;
  flavour: string;
}

export async function install(o: InstallOptions): Promise<InstallResult> {
  const host = new Host(o.hostRoot);
  const record = readRecord(host);
  const info = readBundleInfo(o.bundle);
  if (!info) throw failedPrecondition(`${o.bundle} is not a node bundle (no BUILD-INFO.json)`);
  if (record && record.prefix !== o.prefix) throw failedPrecondition(`already installed in ${record.prefix}; uninstall first to move it to ${o.prefix}`);
  const flavour = o.flavour ?? (record?.flavour as Flavour | undefined) ?? detectFlavour(host);
  const hs = handlerSet(o.pins, o.runtimeArgs);
  const plan = planFor(flavour, host, { handlers: hs.handlers, handlerConfigs: hs.configs, containerdConfig: o.containerdConfig, restartCommand: o.restartCommand });
  for (const n of plan.notes) o.log(n);

  const changed: string[] = [];
  const dirs = new Set(record?.dirs ?? []);
  const mkdirs = (d: string) => makeDirs(host, d).forEach((x) => dirs.add(x));
  mkdirs(RECORD_DIR);
  const prev = new Map((record?.files ?? []).map((f) => [f.path, f]));

  mkdirs(dirOf(o.prefix));
  if (copyBundle(host, o.bundle, o.prefix, record !== undefined)) changed.push(`${o.prefix} (bundle ${info.version}, Node ${info.node.v})`);
  const writes: FileWrite[] = [...wrappers(o.prefix).map((w) => ({ ...w, kind: 'own' as const, mode: 0o755 })), ...plan.files];
  const files: RecordedFile[] = [];
  let configChanged = false;
  for (const w of writes) {
    const before = prev.get(w.path);
    prev.delete(w.path);
    if (host.read(w.path) === w.content && before) {
      files.push(before);
      continue;
    }
    mkdirs(dirOf(w.path));
    files.push(writeHostFile(host, w.path, w.content, w.kind, w.mode, before));
    changed.push(w.path);
    if (!w.path.startsWith(`${BIN_DIR}/`)) configChanged = true;
  }
  // Files of an earlier install this one no longer writes (a pin dropped, another flavour).
  for (const f of prev.values()) {
    const r = undoHostFile(host, f, withoutBlock);
    if (r.detail) o.log(r.detail);
    changed.push(`${f.path} (${r.result})`);
    configChanged = true;
  }
  const next: InstallRecord = {
    version: 1,
    flavour: plan.flavour,
    prefix: o.prefix,
    bundleSha256: info.contentSha256,
    containerdConfig: plan.containerdConfig,
    socket: plan.socket,
    restart: plan.restart,
    files,
    dirs: [...dirs],
  };
  let restarted = false;
  if (configChanged || record?.restartPending) {
    writeRecord(host, { ...next, restartPending: true });
    await restartContainerd(host, plan.restart, plan.socket, o.log);
    restarted = plan.restart.how !== 'none';
  }
  if (writeRecord(host, next) && changed.length === 0) changed.push(RECORD);
  if (!restarted) {
    o.log(configChanged ? 'containerd: takes the config by itself' : 'containerd: config unchanged, not restarted');
  }
  if (o.probe) probeNode(host, { ...o.probe, socket: plan.socket }, o.log);
  await label(o.nodeName, 'true', o.log);
  o.log(changed.length ? `installed (${plan.flavour}): ${changed.join(', ')}` : `already installed (${plan.flavour}): nothing changed`);
  return { changed, restarted, flavour: plan.flavour };
}

export async function label(nodeName: string | undefined, value: 'true' | null, log: (s: string) => void): Promise<void> {
  const k = inCluster();
  if (!k) {
    log('node label: not in a cluster (no service account), not set');
    return;
  }
  if (!nodeName) throw failedPrecondition('in a cluster but no node name: set NODE_NAME from the downward API (spec.nodeName) or pass --node-name');
  await labelNode(k, nodeName, value);
  log(`node label: ${nodeName} ${value === null ? 'unlabelled' : 'labelled'} switchyard.dev/runtime-ready${value === null ? '' : `=${value}`}`);
}
