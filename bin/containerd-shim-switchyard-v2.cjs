#!/usr/bin/env node
'use strict';
// containerd runs this binary twice per container (start, delete): a small CommonJS bundle
// of those paths starts ~10 ms sooner than the ES module graph. The daemon (serve) is its
// own bundle, required rather than imported: import() of CommonJS would first scan all of
// its 2 MB for export names.
// Explicit exit: `start` leaves the listening socket handle it passed to the daemon open.
require('../dist/src/shim/main.cjs')
  .main(process.argv.slice(2), { serve: async () => require('../dist/src/shim/serve.cjs') })
  .then((code) => process.exit(code));
