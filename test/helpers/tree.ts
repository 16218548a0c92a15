import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Every entry under `root` as one line: type, mode, owner, size and sha256 (files), target
 * (symlinks), mtime (files and links). Directory mtimes are left out: adding and removing
 * an entry changes them. Mount points are listed but not entered (`skip` more by path).
 */
export function snapshotTree(root: string, skip: (rel: string) => boolean = () => false): string[] {
  const out: string[] = [];
  const dev = fs.statSync(root).dev;
  const walk = (dir: string) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const p = path.join(dir, name);
      const rel = path.relative(root, p);
      if (skip(rel)) continue;
      const st = fs.lstatSync(p);
      const meta = `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
      if (st.isSymbolicLink()) out.push(`l ${rel} ${meta} -> ${fs.readlinkSync(p)} ${st.mtimeMs}`);
      else if (st.isDirectory()) {
        out.push(`d ${rel} ${meta}`);
        if (st.dev === dev) walk(p);
      } else if (st.isFile()) out.push(`f ${rel} ${meta} ${st.size} ${crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex')} ${st.mtimeMs}`);
      else out.push(`o ${rel} ${meta}`);
    }
  };
  walk(root);
  return out;
}
