// The daemon's bundle through V8's code cache: used when it fits, rebuilt when it does not,
// never in the way; and accepted for the real serve.cjs under the daemon's own flags.
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DAEMON_NODE_FLAGS } from '../../src/shim/start.js';
import { MAX_CACHES } from '../../src/shim/code-cache.cjs';
import { repoRoot } from '../e2e/lib/image.js';
import { tempDir } from '../helpers/tmp.js';

const run = promisify(execFile);

function writeModule(dir: string, extra = ''): string {
  const file = path.join(dir, 'mod.cjs');
  fs.writeFileSync(file, `const path = require('node:path');\nexports.where = () => path.basename(__dirname);\nexports.twice = (n) => n * 2;\n${extra}`);
  return file;
}

const caches = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.endsWith('.v8')) : []);
const loader = path.join(repoRoot(), 'dist/src/shim/code-cache.cjs');

/**
 * Loads `file` through the cache in a new process, as a daemon does (within one process V8's
 * own compilation cache would answer, and the cached data would never be asked). Prints the
 * outcome and what `call` returns on the module's exports.
 */
async function load(t: Test, file: string, cache: string | undefined, call = 'String(m.twice(21))', flags: string[] = []): Promise<{ outcome: string; value: string }> {
  const script = path.join(tempDir(t), 'load.cjs');
  fs.writeFileSync(script, [
    `const l = require(${JSON.stringify(loader)}).requireCached(${JSON.stringify(file)}, ${cache === undefined ? 'undefined' : JSON.stringify(cache)});`,
    'const m = l.exports;',
    `const value = ${call};`,
    'l.save();',
    'process.stdout.write(JSON.stringify({ outcome: l.outcome, value }));',
  ].join('\n'));
  // A script file, as the daemon is run: its flags are all of process.execArgv.
  const { stdout } = await run(process.execPath, [...flags, script], { env: { PATH: process.env.PATH } });
  return JSON.parse(stdout) as { outcome: string; value: string };
}

t.test('missing, then used; the module works either way', async (t) => {
  const dir = tempDir(t);
  const cache = path.join(dir, 'cache');
  const file = writeModule(dir);
  t.same(await load(t, file, cache, 'm.where() + " " + m.twice(21)'), { outcome: 'missing', value: `${path.basename(dir)} 42` }, "__dirname is the file's folder");
  t.equal(caches(cache).length, 1, 'one cache file');
  t.equal(fs.statSync(cache).mode & 0o777, 0o700, 'a root-only folder');
  const before = fs.statSync(path.join(cache, caches(cache)[0]!)).mtimeMs;
  t.same(await load(t, file, cache), { outcome: 'used', value: '42' });
  t.equal(fs.statSync(path.join(cache, caches(cache)[0]!)).mtimeMs, before, 'a used cache is not written again');
});

t.test('a file that is not ASCII is read as UTF-8', async (t) => {
  const dir = tempDir(t);
  const file = writeModule(dir, "exports.word = 'Grüße, 世界';\n");
  t.same(await load(t, file, path.join(dir, 'cache'), 'm.word'), { outcome: 'missing', value: 'Grüße, 世界' });
});

/** A module loaded once through a new cache folder: its one cache file written. */
async function seeded(t: Test): Promise<{ dir: string; cache: string; file: string; name: string }> {
  const dir = tempDir(t);
  const cache = path.join(dir, 'cache');
  const file = writeModule(dir);
  await load(t, file, cache);
  return { dir, cache, file, name: caches(cache)[0]! };
}

t.test('a bundle rebuilt in place is compiled again and its old cache goes', async (t) => {
  const { cache, file, name: old } = await seeded(t);
  // Same length, other code: V8's own check (the source's length) would not see it.
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('n * 2', 'n * 3'));
  fs.utimesSync(file, new Date(), new Date(Date.now() + 5000));
  t.same(await load(t, file, cache), { outcome: 'missing', value: '63' }, 'the build is part of the name; the new code runs');
  t.equal(caches(cache).length, 1);
  t.not(caches(cache)[0], old, "the old build's cache was removed");
});

t.test('a damaged cache is rejected and replaced; no folder means no cache', async (t) => {
  const { dir, cache, file, name } = await seeded(t);
  fs.writeFileSync(path.join(cache, name), Buffer.alloc(64, 7));
  t.same(await load(t, file, cache), { outcome: 'rejected', value: '42' });
  t.same(await load(t, file, cache), { outcome: 'used', value: '42' }, 'rewritten');

  t.same(await load(t, file, undefined), { outcome: 'off', value: '42' });
  t.equal(caches(cache).length, 1, 'nothing written without a folder');

  // A cache folder that cannot be made (a file in the way) costs nothing but the cache.
  const blocked = path.join(dir, 'blocked');
  fs.writeFileSync(blocked, '');
  t.same(await load(t, file, path.join(blocked, 'cache')), { outcome: 'missing', value: '42' });
});

t.test('the folder keeps the newest caches only', async (t) => {
  const dir = tempDir(t);
  const cache = path.join(dir, 'cache');
  fs.mkdirSync(cache);
  // Caches of other installs' bundles, older than anything written now.
  const old = Date.now() / 1000 - 3600;
  for (let i = 0; i < MAX_CACHES + 3; i++) {
    const f = path.join(cache, `serve.cjs.${1000 + i}.1.1.v20.0.0.00000000.v8`);
    fs.writeFileSync(f, 'x');
    fs.utimesSync(f, old + i, old + i);
  }
  fs.writeFileSync(path.join(cache, 'unrelated.txt'), 'kept');
  await load(t, writeModule(dir), cache);
  const left = caches(cache);
  t.equal(left.length, MAX_CACHES);
  t.ok(left.some((n) => n.startsWith('mod.cjs.')), 'the new one is kept');
  t.notOk(left.includes('serve.cjs.1000.1.1.v20.0.0.00000000.v8'), 'the oldest went');
  t.ok(fs.existsSync(path.join(cache, 'unrelated.txt')), 'only cache files are touched');
});

t.test("the real serve.cjs under the daemon's flags: the second daemon uses the first one's cache", async (t) => {
  const dir = tempDir(t);
  const serve = path.join(repoRoot(), 'dist/src/shim/serve.cjs');
  const call = 'typeof m.serve';
  t.same(await load(t, serve, dir, call, DAEMON_NODE_FLAGS), { outcome: 'missing', value: 'function' });
  t.same(await load(t, serve, dir, call, DAEMON_NODE_FLAGS), { outcome: 'used', value: 'function' }, 'V8 accepted the code made under --lite-mode');
  // A plain process (other flags) compiles for itself rather than using code it cannot.
  t.same(await load(t, serve, dir, call), { outcome: 'missing', value: 'function' });
  t.equal(caches(dir).length, 2, 'one cache per set of flags, side by side');
});
