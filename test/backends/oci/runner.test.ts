// runRuntime finds a runtime named without a path once, spawns it by its absolute path
// (no failed execve per PATH entry), and looks it up again when the file it found is gone.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { runRuntime, type FastSpawn } from '../../../src/backends/oci/runner.js';
import { Reaper } from '../../../src/sys/reaper.js';
import { spawnFast } from '../../../src/sys/spawn.js';
import { ErrorKind } from '../../../src/errors/index.js';
import { tempDir } from '../../helpers/tmp.js';

// Prints the file execve ran (a script's $0) and which copy of it that was.
const script = (which: string) => `#!/bin/sh\nprintf '%s %s' "$0" ${which}\n`;

// Every call twice: through child_process, and through the daemon's fork-free spawner.
const reaper = new Reaper({ sweepDelayMs: 0 });
reaper.start();
t.teardown(() => reaper.stop());
const spawners: [string, FastSpawn | undefined][] = [
  ['child_process', undefined],
  ['posix_spawn', (file, args, o) => spawnFast(file, args, o, (pid) => reaper.watch(pid))],
];

for (const [how, spawn] of spawners) {
t.test(`${how}: a runtime named without a path: run from the file found, found again after it moved, the call not lost`, async (t) => {
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
  const call = () => runRuntime(name, [], { timeoutMs: 5000, command: 'state', spawn });
  t.equal(await call(), `${path.join(first!, name)} first`, 'run from the absolute path it was found at');

  // Moved to a later PATH entry: the call finds it again (nothing ran from the old file).
  fs.writeFileSync(path.join(second!, name), script('second'), { mode: 0o755 });
  fs.rmSync(path.join(first!, name));
  t.equal(await call(), `${path.join(second!, name)} second`, 'looked up again, in the same call');
});

t.test(`${how}: a runtime that is nowhere: FailedPrecondition naming it`, async (t) => {
  const err = await runRuntime(`no-such-runtime-${process.pid}`, ['state'], { timeoutMs: 5000, command: 'state', spawn }).catch((e: unknown) => e as { kind?: ErrorKind; message: string });
  t.equal((err as { kind?: ErrorKind }).kind, ErrorKind.FailedPrecondition);
  t.match((err as Error).message, /no-such-runtime-\d+ state/);
});

t.test(`${how}: a failure names the call, the exit status and the runtime's words`, async (t) => {
  const err = (await runRuntime('/bin/sh', ['-c', 'echo "container x does not exist" >&2; exit 1'], { timeoutMs: 5000, command: 'kill', spawn }).catch((e: unknown) => e)) as {
    kind?: ErrorKind;
    message: string;
    exitCode?: number;
  };
  t.equal(err.kind, ErrorKind.NotFound);
  t.equal(err.message, '/bin/sh kill: container x does not exist');
  t.equal(err.exitCode, 1);
});

t.test(`${how}: a call past its time is killed: DeadlineExceeded`, async (t) => {
  const err = (await runRuntime('/bin/sh', ['-c', 'exec sleep 30'], { timeoutMs: 300, command: 'start', spawn }).catch((e: unknown) => e)) as { kind?: ErrorKind; message: string };
  t.equal(err.kind, ErrorKind.DeadlineExceeded);
  t.match(err.message, /timed out after 300 ms/);
});

t.test(`${how}: a runtime that exited but left a process holding its output: its own result, at the timeout`, async (t) => {
  // The runtime's 'exit' came before the timeout; the leftover keeps the pipes open. Before,
  // the timer waited for a second 'exit' that never comes, and the call hung for good.
  const started = Date.now();
  t.equal(await runRuntime('/bin/sh', ['-c', 'echo done; sleep 3 & exit 0'], { timeoutMs: 300, command: 'create', spawn }), 'done');
  t.ok(Date.now() - started < 2500, 'not held until the leftover exits');
});

t.test(`${how}: stdout is the answer, without its last newline`, async (t) => {
  t.equal(await runRuntime('/bin/sh', ['-c', 'echo "[1,2]"'], { timeoutMs: 5000, command: 'ps', spawn }), '[1,2]');
});
}
