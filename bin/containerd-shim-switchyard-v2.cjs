#!/usr/bin/env node
'use strict';
// containerd runs this binary twice per container on 1.6/1.7 (start, delete): a small
// CommonJS bundle of those paths starts ~10 ms sooner than the ES module graph. The daemon
// (serve) is its own bundle, required rather than imported: import() of CommonJS would
// first scan all of its 2 MB for export names.
//
// The code lives in dist/ beside a checkout or an install (`make install`: PREFIX/lib/
// switchyard, linked from PREFIX/bin). This file may be reached through a symlink, by an
// absolute path given to containerd, or as a copy in another folder, so the bundle is
// looked for from the real file first, then from the folder it was run from, then where
// `make install` puts it; SWITCHYARD_HOME overrides all of them.
// Explicit exit: `start` leaves the listening socket handle it passed to the daemon open.
const fs = require('node:fs');
const path = require('node:path');

function homes() {
  const out = [];
  if (process.env.SWITCHYARD_HOME) out.push(process.env.SWITCHYARD_HOME);
  let real = __filename;
  try {
    real = fs.realpathSync(__filename);
  } catch {}
  out.push(path.join(path.dirname(real), '..'));
  const ran = path.dirname(path.resolve(process.argv[1] || __filename));
  out.push(path.join(ran, '..'), path.join(ran, '..', 'lib', 'switchyard'));
  out.push('/usr/local/lib/switchyard', '/usr/lib/switchyard', '/opt/switchyard');
  return [...new Set(out.map((d) => path.resolve(d)))];
}

const tried = homes();
const home = tried.find((d) => fs.existsSync(path.join(d, 'dist', 'src', 'shim', 'main.cjs')));
if (!home) {
  // containerd shows start's output as the error: say what is missing and where it looked.
  process.stderr.write(
    `containerd-shim-switchyard-v2: cannot find Switchyard's code (dist/src/shim/main.cjs) in ${tried.join(', ')}; ` +
      'run `make install`, link this binary to PREFIX/lib/switchyard/bin/containerd-shim-switchyard-v2.cjs, or set SWITCHYARD_HOME\n',
  );
  process.exit(1);
}
const dist = path.join(home, 'dist', 'src', 'shim');

/**
 * The daemon's bundle through V8's code cache (code-cache.cjs): a cold daemon compiles it
 * once per build, not once per start. The cache is written after a few seconds of serving,
 * so it holds the code of the first requests too, or at exit if that comes first.
 * SWITCHYARD_CODE_CACHE names another folder, or `off`.
 */
function loadServe() {
  const file = path.join(dist, 'serve.cjs');
  const setting = process.env.SWITCHYARD_CODE_CACHE;
  if (setting === 'off') return require(file);
  let cache;
  try {
    cache = require(path.join(dist, 'code-cache.cjs'));
  } catch {
    // A dist/ older than this launcher (a mixed install): load the daemon as before.
    return require(file);
  }
  const { requireCached, DEFAULT_CODE_CACHE_DIR } = cache;
  const loaded = requireCached(file, setting || DEFAULT_CODE_CACHE_DIR);
  // save() writes only when the cache was not used, and once.
  setTimeout(() => loaded.save(), 3000).unref();
  process.once('exit', () => loaded.save());
  // The daemon names the outcome in its first log line.
  return { ...loaded.exports, serve: (args) => loaded.exports.serve(args, { codeCache: loaded.outcome }) };
}

require(path.join(dist, 'main.cjs'))
  .main(process.argv.slice(2), { serve: async () => loadServe() })
  .then((code) => process.exit(code));
