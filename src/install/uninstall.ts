/**
 * `switchyard node uninstall`: the label first (no new pods come), then every recorded file
 * back as it was, containerd restarted on the old config, the bundle and the directories
 * we made removed. A file its owner changed since keeps their change: only our block goes.
 */
import { Host } from './plan.js';
import { removeBundle } from './bundle-copy.js';
import { removeDirsIfEmpty, undoHostFile } from './host-files.js';
import { readRecord, removeRecord } from './record.js';
import { restartContainerd } from './restart.js';
import { label } from './install.js';
import { withoutBlock } from './containerd-toml.js';

export interface UninstallOptions {
  hostRoot: string;
  nodeName?: string;
  /** Overrides the recorded restart (e.g. the node's init changed). */
  restartCommand?: string;
  log: (s: string) => void;
}

/** Returns the problems that need a person (files left as they were); empty when clean. */
export async function uninstall(o: UninstallOptions): Promise<string[]> {
  const host = new Host(o.hostRoot);
  const record = readRecord(host);
  if (!record) {
    o.log('not installed (no install record): nothing to do');
    return [];
  }
  await label(o.nodeName, null, o.log);
  const problems: string[] = [];
  let configChanged = false;
  for (const f of [...record.files].reverse()) {
    const r = undoHostFile(host, f, withoutBlock);
    o.log(`${f.path}: ${r.result}${r.detail ? ` (${r.detail})` : ''}`);
    if (r.result === 'kept') problems.push(r.detail!);
    if (!f.path.startsWith('/usr/local/bin/')) configChanged = true;
  }
  if (configChanged) {
    const restart = o.restartCommand ? { how: 'command' as const, argv: ['sh', '-c', o.restartCommand] } : record.restart;
    await restartContainerd(host, restart, record.socket, o.log);
  }
  removeBundle(host, record.prefix);
  removeRecord(host);
  removeDirsIfEmpty(host, record.dirs);
  o.log(problems.length ? `uninstalled, with ${problems.length} file(s) to look at` : 'uninstalled: the node is as it was');
  return problems;
}
