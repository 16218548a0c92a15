/**
 * The install record on the host (/var/lib/switchyard/install.json): every file written
 * and its backup, every directory made, the flavour and how containerd was restarted. It
 * is what uninstall undoes, and what a second install compares against.
 */
import fs from 'node:fs';
import type { RecordedFile } from './host-files.js';
import type { Host, Restart } from './plan.js';

export const RECORD_DIR = '/var/lib/switchyard';
export const RECORD = `${RECORD_DIR}/install.json`;

export interface InstallRecord {
  version: 1;
  flavour: string;
  prefix: string;
  bundleSha256: string;
  containerdConfig: string;
  socket: string;
  restart: Restart;
  files: RecordedFile[];
  dirs: string[];
  /** Set while containerd has not yet taken the config written: the next run restarts it. */
  restartPending?: true;
}

export function readRecord(host: Host): InstallRecord | undefined {
  const text = host.read(RECORD);
  if (text === undefined) return undefined;
  return JSON.parse(text) as InstallRecord;
}

/** Writes the record if it differs from what is there; true if it did. */
export function writeRecord(host: Host, r: InstallRecord): boolean {
  const text = `${JSON.stringify(r, null, 2)}\n`;
  if (host.read(RECORD) === text) return false;
  const tmp = `${host.at(RECORD)}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o600 });
  fs.renameSync(tmp, host.at(RECORD));
  return true;
}

export function removeRecord(host: Host): void {
  fs.rmSync(host.at(RECORD), { force: true });
}
