// The self-contained node bundle (make node-bundle): one directory holding everything the
// shim and the CLI need on a Kubernetes node that has no Node.js, relocatable to any prefix
// (/opt/switchyard by default, see `switchyard node install`):
//
//   bin/node                            a private copy of the Node.js that built it
//   bin/containerd-shim-switchyard-v2   sh wrappers that find their own prefix
//   bin/switchyard
//   lib/bin/*, lib/dist/src/**          our compiled code and esbuild bundles (make build)
//   lib/node_modules/**                 the production dependencies only, koffi's native
//                                       library where koffi looks for it
//   lib/package.json                    "type": "module", as in the repository
//   BUILD-INFO.json                     versions, what the host must provide, a content hash
//
// Usage: node scripts/node-bundle.mjs [OUT_DIR]   (default dist/node-bundle; needs make build)
// Env: NODE_BINARY (default: the node running this script).
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const out = path.resolve(process.argv[2] ?? path.join(root, 'dist', 'node-bundle'));
const nodeBinary = fs.realpathSync(process.env.NODE_BINARY ?? process.execPath);

const die = (msg) => {
  process.stderr.write(`node-bundle: ERROR: ${msg}\n`);
  process.exit(1);
};
if (!fs.existsSync(path.join(root, 'dist/src/shim/main.cjs'))) die('dist/ is not built: run make build first');

const tmp = `${out}.tmp`;
fs.rmSync(tmp, { recursive: true, force: true });
fs.mkdirSync(path.join(tmp, 'bin'), { recursive: true });
fs.mkdirSync(path.join(tmp, 'lib'), { recursive: true });

// --- our code ------------------------------------------------------------------------
const copyTree = (from, to, keep) => {
  for (const e of fs.readdirSync(from, { withFileTypes: true })) {
    const s = path.join(from, e.name);
    const d = path.join(to, e.name);
    if (e.isDirectory()) copyTree(s, d, keep);
    else if (keep(e.name)) {
      fs.mkdirSync(to, { recursive: true });
      fs.copyFileSync(s, d);
    }
  }
};
copyTree(path.join(root, 'dist/src'), path.join(tmp, 'lib/dist/src'), (n) => /\.(c?js|json)$/.test(n));
copyTree(path.join(root, 'bin'), path.join(tmp, 'lib/bin'), () => true);
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
fs.writeFileSync(path.join(tmp, 'lib/package.json'), `${JSON.stringify({ name: pkg.name, version: pkg.version, type: 'module', private: true }, null, 2)}\n`);

// --- production dependencies (package-lock's non-dev entries that are installed) -----
const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
const prod = Object.entries(lock.packages)
  .filter(([k, v]) => k.startsWith('node_modules/') && !v.dev && fs.existsSync(path.join(root, k)))
  .map(([k]) => k)
  .sort();
for (const k of prod) {
  // A nested entry is copied with its parent; copying it again is harmless but slow.
  if (prod.some((p) => p !== k && k.startsWith(`${p}/`))) continue;
  fs.cpSync(path.join(root, k), path.join(tmp, 'lib', k), { recursive: true, dereference: true });
}
// Only this platform's koffi build: koffi picks linux_<arch> or musl_<arch> at load time.
const koffiNode = (() => {
  const dir = path.join(tmp, 'lib/node_modules/@koromix', `koffi-linux-${process.arch}`);
  const f = path.join(dir, `linux_${process.arch}`, 'koffi.node');
  if (!fs.existsSync(f)) die(`koffi's native library for linux_${process.arch} is missing (npm ci)`);
  return f;
})();

// --- Node itself -----------------------------------------------------------------------
fs.copyFileSync(nodeBinary, path.join(tmp, 'bin/node'));
fs.chmodSync(path.join(tmp, 'bin/node'), 0o755);
const wrapper = (entry) => `#!/bin/sh
# Finds the bundle from its own directory (shell builtins only: a node may lack coreutils
# on PATH), so the bundle runs from any prefix. Link to the installed wrappers in
# /usr/local/bin, not to this file: a symlink to it would resolve to the link's directory.
p=$(cd -P -- "\${0%/*}/.." && pwd) || exit 1
exec "$p/bin/node" "$p/lib/bin/${entry}" "$@"
`;
for (const [name, entry] of [
  ['containerd-shim-switchyard-v2', 'containerd-shim-switchyard-v2.cjs'],
  ['switchyard', 'switchyard.js'],
]) {
  fs.writeFileSync(path.join(tmp, 'bin', name), wrapper(entry), { mode: 0o755 });
}

// --- what the host must provide --------------------------------------------------------
function elfNeeds(file) {
  const dyn = execFileSync('objdump', ['-p', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const syms = execFileSync('objdump', ['-T', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const max = (prefix) =>
    [...new Set([...syms.matchAll(new RegExp(`\\b${prefix}_([0-9.]+)\\b`, 'g'))].map((m) => m[1]))].sort((a, b) => {
      const [x, y] = [a.split('.').map(Number), b.split('.').map(Number)];
      for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
      return 0;
    }).at(-1);
  return {
    needed: [...dyn.matchAll(/NEEDED\s+(\S+)/g)].map((m) => m[1]),
    glibc: max('GLIBC'),
    glibcxx: max('GLIBCXX'),
  };
}
const nodeVersion = execFileSync(path.join(tmp, 'bin/node'), ['-p', 'JSON.stringify({v: process.version, release: process.release.name, lts: process.release.lts ?? null})'], {
  encoding: 'utf8',
  env: { PATH: '/usr/bin:/bin' },
});
let packaged = '';
try {
  packaged = execFileSync('dpkg-query', ['-S', nodeBinary], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split(':')[0];
  packaged = execFileSync('dpkg-query', ['-W', '-f=${Package} ${Version}', packaged], { encoding: 'utf8' });
} catch {
  packaged = '(not from a Debian package)';
}

// --- content hash: what `node install` compares to tell an upgrade from a no-op ---------
function hashTree(dir) {
  const h = crypto.createHash('sha256');
  const walk = (d) => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = fs.lstatSync(p);
      const rel = path.relative(dir, p);
      if (st.isDirectory()) walk(p);
      else if (st.isSymbolicLink()) h.update(`l ${rel} ${fs.readlinkSync(p)}\n`);
      else h.update(`f ${rel} ${(st.mode & 0o111) !== 0 ? 'x' : '-'} ${crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex')}\n`);
    }
  };
  walk(dir);
  return h.digest('hex');
}

const info = {
  name: 'switchyard',
  version: pkg.version,
  node: { ...JSON.parse(nodeVersion), source: nodeBinary, package: packaged, ...elfNeeds(path.join(tmp, 'bin/node')) },
  koffi: { file: path.relative(tmp, koffiNode), ...elfNeeds(koffiNode) },
  arch: process.arch,
  contentSha256: hashTree(tmp),
};
fs.writeFileSync(path.join(tmp, 'BUILD-INFO.json'), `${JSON.stringify(info, null, 2)}\n`);

fs.rmSync(out, { recursive: true, force: true });
fs.renameSync(tmp, out);
const size = execFileSync('du', ['-sh', out], { encoding: 'utf8' }).split('\t')[0];
process.stderr.write(
  `node-bundle: wrote ${out} (${size}): Node ${info.node.v} (${packaged}); host needs glibc >= ${info.node.glibc}, ` +
    `libstdc++ (GLIBCXX_${info.node.glibcxx}), ${info.node.needed.join(' ')}\n`,
);
