/**
 * Writing and undoing files on the host so that an uninstall puts back the very file that
 * was there: the original is kept by a hard link (`FILE.switchyard-backup`, same inode, so
 * its bytes, mode, owner, mtime, and a symlink stays a symlink) and the new content is
 * renamed over the path (containerd never reads a half-written config). Restoring is one
 * rename back. Directories we create are recorded and removed when empty again.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Host } from './plan.js';

export const BACKUP_SUFFIX = '.switchyard-backup';

export interface RecordedFile {
  path: string;
  kind: 'own' | 'shared';
  /** The host path of the original, hard-linked before we replaced it; absent: we created the file. */
  backup?: string;
  /** sha256 of what we wrote: tells "unchanged since" from "the owner edited it". */
  sha256: string;
}

export const sha256 = (s: string | Buffer) => crypto.createHash('sha256').update(s).digest('hex');

/** mkdir -p, returning the host paths of the directories it made (outermost first). */
export function makeDirs(host: Host, hostDir: string): string[] {
  const made: string[] = [];
  const parts = hostDir.split('/').filter(Boolean);
  let cur = '';
  for (const p of parts) {
    cur = `${cur}/${p}`;
    if (fs.existsSync(host.at(cur))) continue;
    fs.mkdirSync(host.at(cur), { mode: 0o755 });
    made.push(cur);
  }
  return made;
}

/** Removes the directories (innermost first) that are empty; others stay. */
export function removeDirsIfEmpty(host: Host, dirs: readonly string[]): void {
  for (const d of [...dirs].sort((a, b) => b.length - a.length)) {
    try {
      fs.rmdirSync(host.at(d));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
    }
  }
}

/**
 * Writes `content` at `hostPath`. The first time (no `prev`), an existing file is kept as
 * the backup and lends its mode and owner to the new one.
 */
export function writeHostFile(host: Host, hostPath: string, content: string, kind: 'own' | 'shared', mode: number | undefined, prev: RecordedFile | undefined): RecordedFile {
  const file = host.at(hostPath);
  const st = lstatOrUndefined(file);
  const tmp = `${file}.switchyard-tmp`;
  fs.writeFileSync(tmp, content, { mode: mode ?? 0o644 });
  const target = st?.isSymbolicLink() ? fs.statSync(file) : st;
  if (target) {
    fs.chmodSync(tmp, mode ?? target.mode & 0o7777);
    fs.chownSync(tmp, target.uid, target.gid);
  }
  let backup = prev?.backup;
  if (!prev && st) {
    backup = `${hostPath}${BACKUP_SUFFIX}`;
    fs.rmSync(host.at(backup), { force: true });
    fs.linkSync(file, host.at(backup));
  }
  fs.renameSync(tmp, file);
  return { path: hostPath, kind, ...(backup ? { backup } : {}), sha256: sha256(content) };
}

export type UndoResult = 'restored' | 'removed' | 'stripped' | 'kept';

/**
 * Undoes one write: the backup renamed back, or our file removed, if the file is still what
 * we wrote; a shared file changed since loses only our block (`strip`), keeping the backup.
 */
export function undoHostFile(host: Host, f: RecordedFile, strip: (text: string) => string | undefined): { result: UndoResult; detail?: string } {
  const file = host.at(f.path);
  let current: string | undefined;
  try {
    current = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const unchanged = current !== undefined && sha256(current) === f.sha256;
  if (unchanged || current === undefined || f.kind === 'own') {
    if (f.backup && fs.existsSync(host.at(f.backup))) {
      fs.renameSync(host.at(f.backup), file);
      return { result: 'restored' };
    }
    fs.rmSync(file, { force: true });
    return { result: 'removed' };
  }
  const stripped = strip(current);
  if (stripped === undefined) return { result: 'kept', detail: `${f.path} changed since the install and no longer holds our block; left as it is${f.backup ? `, original in ${f.backup}` : ''}` };
  fs.writeFileSync(file, stripped);
  return { result: 'stripped', detail: `${f.path} changed since the install: only our block was taken out${f.backup ? `; the original is kept in ${f.backup}` : ''}` };
}

function lstatOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export const dirOf = (hostPath: string) => path.posix.dirname(hostPath);
