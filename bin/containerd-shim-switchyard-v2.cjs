#!/usr/bin/env node
'use strict';
// containerd runs this binary twice per container (start, delete). A CommonJS bundle of
// those paths starts ~10 ms sooner than the ES module graph; the daemon (serve) is still
// loaded from the ES modules, on demand.
// Explicit exit: `start` leaves the listening socket handle it passed to the daemon open.
require('../dist/src/shim/main.cjs')
  .main(process.argv.slice(2))
  .then((code) => process.exit(code));
