// runRuntime finds a runtime named without a path once, spawns it by its absolute path
// (no failed execve per PATH entry), and looks it up again when the file it found is gone.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { runRuntime } from '../../../src/backends/oci/runner.js';
import { ErrorKind } from '../../../src/errors/index.js';
import { tempDir } from '../../helpers/tmp.js';

// Prints the file execve ran (a script's $0) and which copy of it that was.
const script = (which: string) => `#!/bin/sh\nprintf '%s %s' "$0" ${which}\n`;

t.test('a runtime named without a path: run from the file found, found again after it moved, the call not lost', async (t) => {
  const dir = tempDir(t, 'switchyard-runner-');
  const [first, second, empty] = ['a', 'b', 'c'].map((d) => path.join(dir, d));
  for (const d of [first, second, empty]) fs.mkdirSync(d!);
  const name = `fake-rt-${process.pid}`;
  fs.writeFileSync(path.join(first!, name), script('first'), { mode: 0o755 });
  const savedPath = process.env.PATH;
  t.teardown(() => {
    process.env.PATH = savedPath;
  });
  // The empty folder first: a spawn by name would try it before finding the runtime.
  process.env.PATH = `${empty}:${first}:${second}:${savedPath}`;
  const call = () => runRuntime(name, [], { timeoutMs: 5000, command: 'state' });
  t.equal(await call(), `${path.join(first!, name)} first`, 'run from the absolute path it was found at');

  // Moved to a later PATH entry: the call finds it again (nothing ran from the old file).
  fs.writeFileSync(path.join(second!, name), script('second'), { mode: 0o755 });
  fs.rmSync(path.join(first!, name));
  t.equal(await call(), `${path.join(second!, name)} second`, 'looked up again, in the same call');
});

t.test('a runtime that is nowhere: FailedPrecondition naming it', async (t) => {
  const err = await runRuntime(`no-such-runtime-${process.pid}`, ['state'], { timeoutMs: 5000, command: 'state' }).catch((e: unknown) => e as { kind?: ErrorKind; message: string });
  t.equal((err as { kind?: ErrorKind }).kind, ErrorKind.FailedPrecondition);
  t.match((err as Error).message, /no-such-runtime-\d+ state/);
});
