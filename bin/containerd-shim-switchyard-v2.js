#!/usr/bin/env node
import { main } from '../dist/src/shim/main.js';

// Explicit exit: `start` leaves the listening socket handle it passed to the daemon open.
process.exit(await main(process.argv.slice(2)));
