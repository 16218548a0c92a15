// Two CommonJS bundles of the shim binary, made from tsc's output in dist/ (make build):
//   dist/src/shim/main.cjs   start, delete, -v: containerd runs them for every container,
//                            so they stay small (~70 KB) and load nothing of the daemon;
//   dist/src/shim/serve.cjs  the daemon: one file loads ~70 ms faster than ~100 ES modules,
//                            which is the first task's wait after the daemon idled out.
// What is rare or native stays outside and loads from dist/ or node_modules on demand.
import * as esbuild from 'esbuild';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * Node's built-in modules, each required once and linked to directly. Left to esbuild, every
 * default import of one (`import fs from 'node:fs'`, ~30 in start's code) becomes its own
 * __toESM copy of the module's every property: 6 % of a `start` run in its profile.
 */
const builtinsOnce = {
  name: 'builtins-once',
  setup(build) {
    build.onResolve({ filter: /^node:/ }, (a) =>
      a.namespace === 'builtin' ? { path: a.path, external: true } : { path: a.path, namespace: 'builtin' },
    );
    build.onLoad({ filter: /.*/, namespace: 'builtin' }, (a) => {
      const names = Object.keys(require(a.path)).filter((n) => /^[A-Za-z_$][\w$]*$/.test(n) && n !== 'default');
      // Pure, so that esbuild drops every name nobody imports (and never reads a lazy getter such as fs.promises).
      const lines = names.map((n) => `export const ${n} = /* @__PURE__ */ (() => m.${n})();`);
      return { contents: [`const m = require(${JSON.stringify(a.path)});`, 'export default m;', ...lines].join('\n'), loader: 'js' };
    });
  },
};

const common = { bundle: true, platform: 'node', format: 'cjs', target: 'node20', logLevel: 'warning', plugins: [builtinsOnce] };

await esbuild.build({
  ...common,
  entryPoints: ['dist/src/shim/main.js'],
  outfile: 'dist/src/shim/main.cjs',
  // -info is rare and needs the generated protobuf code: it loads from dist/ when asked.
  external: ['koffi', '../backends/shim/launch.js', '../sys/mount.js', './serve.js', './info.js'],
});

await esbuild.build({
  ...common,
  entryPoints: ['dist/src/shim/serve.js'],
  outfile: 'dist/src/shim/serve.cjs',
  // V8 keeps a script's source for as long as it runs: minified, the daemon holds ~3 MiB
  // less. Names stay as written, so stacks in the daemon log still read.
  minifyWhitespace: true,
  minifySyntax: true,
  external: ['koffi', '@grpc/grpc-js', '@grpc/proto-loader'],
  // import.meta.url has no meaning in CommonJS: give it the bundle's own URL.
  define: { 'import.meta.url': 'import_meta_url' },
  banner: { js: "const import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
});
