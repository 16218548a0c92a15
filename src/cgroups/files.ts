/**
 * Reading cgroup interface files and the few text formats they share. Stats tolerate a
 * missing file (a controller not enabled, a counter an older or newer kernel lacks) by
 * leaving the field out, as containerd's readers do.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { internal, notFound } from '../errors/index.js';

/**
 * A cgroup file's text, or undefined when the kernel does not provide it. ENODEV is what a
 * read returns on a v2 cgroup removed after open; EOPNOTSUPP is a pressure file with PSI
 * disabled at boot. Any other failure is an error naming the file.
 */
export async function readCgroupFile(dir: string, name: string): Promise<string | undefined> {
  const file = path.join(dir, name);
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENODEV' || code === 'EOPNOTSUPP' || code === 'ENOTSUP') return undefined;
    throw internal(`reading ${file}`, err);
  }
}

/**
 * Stats of a removed cgroup would be all zeros and look healthy; report the removal
 * instead, naming the directory.
 */
export async function assertCgroupDirs(dirs: Iterable<string>): Promise<void> {
  await Promise.all(
    [...new Set(dirs)].map(async (dir) => {
      try {
        if ((await fs.stat(dir)).isDirectory()) return;
      } catch (err) {
        throw notFound(`cgroup ${dir} does not exist`, err);
      }
      throw notFound(`cgroup ${dir} is not a directory`);
    }),
  );
}

/**
 * One unsigned counter. "max" is what v2 writes for no limit; each caller says what it
 * stands for, since v1 (0) and v2 (all ones) report it differently. Negative values
 * (memory.soft_limit_in_bytes can be -1 on old kernels) read as 0, as in containerd.
 * Undefined when the text is not a number at all.
 */
export function parseCounter(text: string, max: number): number | undefined {
  const s = text.trim();
  if (s === 'max') return max;
  if (!/^-?\d+$/.test(s)) return undefined;
  const n = Number(s);
  return n < 0 ? 0 : n;
}

/** "key value" lines (memory.stat, cpu.stat, memory.events, ...) as a map; others skipped. */
export function parseFlatKeyed(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [key, value, extra] = line.trim().split(/\s+/);
    if (!key || value === undefined || extra !== undefined) continue;
    const n = parseCounter(value, Number.POSITIVE_INFINITY);
    if (n !== undefined) out.set(key, n);
  }
  return out;
}

/** Copies each present key of `from` into the field named for it: [field, file key][]. */
export function pickKeys<T extends object>(from: Map<string, number>, table: readonly (readonly [keyof T & string, string])[]): Partial<T> {
  const out: Partial<Record<string, number>> = {};
  for (const [field, key] of table) {
    const v = from.get(key);
    if (v !== undefined) out[field] = v;
  }
  return out as Partial<T>;
}

export interface PsiLine {
  avg10: number;
  avg60: number;
  avg300: number;
  total: number;
}

/** A *.pressure file: "some avg10=0.00 avg60=0.00 avg300=0.00 total=0" and a "full" line. */
export function parsePressure(text: string): { some?: PsiLine; full?: PsiLine } {
  const out: { some?: PsiLine; full?: PsiLine } = {};
  for (const line of text.split('\n')) {
    const [kind, ...pairs] = line.trim().split(/\s+/);
    if (kind !== 'some' && kind !== 'full') continue;
    const v: PsiLine = { avg10: 0, avg60: 0, avg300: 0, total: 0 };
    for (const pair of pairs) {
      const [k, raw] = pair.split('=');
      const n = Number(raw);
      if ((k === 'avg10' || k === 'avg60' || k === 'avg300' || k === 'total') && Number.isFinite(n)) v[k] = n;
    }
    out[kind] = v;
  }
  return out;
}
