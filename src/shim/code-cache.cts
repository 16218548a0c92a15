/**
 * The daemon's bundle (serve.cjs), loaded with a V8 code cache. Compiling its 1.3 MB is the
 * largest single part of a cold daemon's start (about 35 of the 90 ms it takes to load it on
 * this machine), and V8 skips it when handed the code it made last time. Node 20 has no
 * compile cache of its own (`module.enableCompileCache` came in 22), so the bundle is
 * compiled here the way `require` would, with the cached data beside it.
 *
 * `start`'s bundle (main.cjs) is not loaded this way: its dynamic `import()`s would need a vm
 * loader that Node 20 calls experimental and warns about on stderr, which containerd reads
 * as part of start's answer.
 *
 * CommonJS on purpose: the launcher in bin/ requires it before any bundle is loaded.
 * Everything here is a cache: a file that cannot be read, written or used means compiling
 * as `require` does, never a failed start.
 */
import fs from 'node:fs';
import { isAscii } from 'node:buffer';
import path from 'node:path';
import vm from 'node:vm';
import { Module, createRequire } from 'node:module';

/** Root-only and on tmpfs: gone at reboot, like the daemons the cache serves. */
export const DEFAULT_CODE_CACHE_DIR = '/run/switchyard/code-cache';

export type CacheOutcome = 'used' | 'rejected' | 'missing' | 'off';

export interface CachedModule {
  exports: unknown;
  outcome: CacheOutcome;
  /** Writes V8's code for the bundle, with every function compiled so far; once, and only when the cache was not used. */
  save(): void;
}

/**
 * The cache file's name: the file's identity (inode), its build (size, mtime), Node's version
 * and flags. V8 checks its version, its flags and the source's length, not the source
 * itself, so the build must be in the name; and the daemon runs with --lite-mode, whose code
 * V8 will not share with a plain process.
 */
export function cacheFileName(file: string, st: fs.Stats, nodeVersion: string, execArgv: readonly string[]): { name: string; build: string; identity: string } {
  const identity = `${path.basename(file)}.${st.ino}.`;
  const build = `${identity}${st.size}.${Math.trunc(st.mtimeMs)}.`;
  return { name: `${build}${nodeVersion}.${fnv1a(execArgv.join('\0'))}.v8`, build, identity };
}

/** A short name for a set of flags (any length, any characters); no crypto to load for it. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/** Loads a CommonJS file as `require` would; with `dir`, through the code cache kept there. */
export function requireCached(file: string, dir: string | undefined, execArgv: readonly string[] = process.execArgv): CachedModule {
  // One open for the bytes and the stat the cache is named by: a rebuild between the two
  // cannot give this source another build's name.
  const fd = fs.openSync(file, 'r');
  let bytes: Buffer;
  let st: fs.Stats;
  try {
    st = fs.fstatSync(fd);
    bytes = fs.readFileSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  // esbuild writes ASCII: read as latin1, a plain copy, ~5 ms less than decoding 1.3 MB as UTF-8.
  const source = bytes.toString(isAscii(bytes) ? 'latin1' : 'utf8');
  const names = dir ? cacheFileName(file, st, process.version, execArgv) : undefined;
  const cacheFile = dir && names ? path.join(dir, names.name) : undefined;
  let cachedData: Buffer | undefined;
  try {
    if (cacheFile) cachedData = fs.readFileSync(cacheFile);
  } catch {
    // No cache yet (or none can be had): compile.
  }
  const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
  const outcome: CacheOutcome = !cacheFile ? 'off' : !cachedData ? 'missing' : script.cachedDataRejected ? 'rejected' : 'used';
  const mod = { exports: {} as unknown };
  const wrapper = script.runInThisContext() as (e: unknown, r: NodeJS.Require, m: unknown, f: string, d: string) => void;
  wrapper.call(mod.exports, mod.exports, createRequire(file), mod, file, path.dirname(file));
  let saved = outcome === 'used' || outcome === 'off';
  return {
    exports: mod.exports,
    outcome,
    save() {
      if (saved || !cacheFile || !names) return;
      saved = true;
      writeCache(cacheFile, script.createCachedData(), names);
    },
  };
}

/** Caches kept in the folder at most: builds of other installs (a checkout, a moved install) come and go. */
export const MAX_CACHES = 8;

/**
 * Atomically (a loading daemon never reads half a file). A bundle rebuilt in place keeps its
 * inode: that file's caches of older builds go. Of the rest, the newest MAX_CACHES stay.
 */
function writeCache(cacheFile: string, data: Buffer, names: { build: string; identity: string }): void {
  const dir = path.dirname(cacheFile);
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(tmp, data, { mode: 0o600 });
    fs.renameSync(tmp, cacheFile);
    const kept: { file: string; mtime: number }[] = [];
    for (const n of fs.readdirSync(dir)) {
      if (!n.endsWith('.v8')) continue;
      const file = path.join(dir, n);
      if (n.startsWith(names.identity) && !n.startsWith(names.build)) fs.rmSync(file, { force: true });
      else kept.push({ file, mtime: fs.statSync(file).mtimeMs });
    }
    kept.sort((a, b) => b.mtime - a.mtime);
    for (const { file } of kept.slice(MAX_CACHES)) fs.rmSync(file, { force: true });
  } catch {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // Nothing was written.
    }
  }
}
