import t, { type Test } from 'tap';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { openProcessIO, type OpenProcessIOOptions } from '../../src/io/process-io.js';
import { parseStdio } from '../../src/io/uri.js';
import { tempDir } from '../helpers/tmp.js';
import { fdTarget, isAlive, openFdCount, runContainer, sha256 } from './client.js';

const ctx = { containerId: 'ctr-1', namespace: 'ns-1' };

/** A logging binary in a temp dir: `body` runs after it recorded its argv, env and pid. */
function logger(t: Test, body: string): { bin: string; dir: string; read: (name: string) => string } {
  const dir = tempDir(t);
  const bin = path.join(dir, 'logger.sh');
  // No PATH in its environment, on purpose: every command is absolute.
  fs.writeFileSync(
    bin,
    `#!/bin/sh
d=${dir}
echo $$ > "$d/pid"
/usr/bin/printf '%s\\n' "$@" > "$d/args"
/bin/cat /proc/$$/environ > "$d/env"
/usr/bin/readlink /proc/$$/fd/3 /proc/$$/fd/4 /proc/$$/fd/5 > "$d/fds"
${body}
`,
    { mode: 0o755 },
  );
  return { bin, dir, read: (name) => fs.readFileSync(path.join(dir, name), 'utf8') };
}

// Copies fd 3 and 4 to files until EOF; fd 5 closed to say ready.
const COPY = `
/bin/cat <&3 > "$d/out" 4<&- 5>&- &
/bin/cat <&4 > "$d/err" 3<&- 5>&- &
exec 3<&- 4<&- 5>&-
wait`;

async function openBinary(uri: string, opts: Partial<OpenProcessIOOptions> = {}) {
  return openProcessIO(parseStdio({ stdin: '', stdout: uri, stderr: uri, terminal: false }), { ...ctx, ...opts });
}

t.test('the logging binary gets both streams, its argv, and only CONTAINER_ID/CONTAINER_NAMESPACE', async (t) => {
  const l = logger(t, COPY);
  const io = await openBinary(`binary://${l.bin}?--log-driver=x&flag&--log-driver=ignored&k=v%20w`);
  t.equal(fdTarget(io.stdio[0]), '/dev/null');
  t.match(fdTarget(io.stdio[1]), /^pipe:\[\d+\]$/, 'the container gets a real pipe');
  t.match(fdTarget(io.stdio[2]), /^pipe:\[\d+\]$/);
  const { exited } = runContainer('readlink /proc/self/fd/1; echo to-err >&2; echo to-dev-stdout > /dev/stdout', io.stdio);
  io.afterStart();
  t.equal(await exited, 0);
  await io.close();
  t.match(l.read('out'), /^pipe:\[\d+\]\nto-dev-stdout\n$/);
  t.equal(l.read('err'), 'to-err\n');
  t.equal(l.read('args'), '--log-driver\nx\nflag\n\nk\nv w\n', 'each key then its first value');
  // tap's process tracking injects NODE_OPTIONS and _TAPJS_* into every spawn it sees.
  const env = l.read('env').split('\0').filter((kv) => kv && !/^(NODE_OPTIONS|_TAPJS_\w+)=/.test(kv));
  t.same(env.sort(), ['CONTAINER_ID=ctr-1', 'CONTAINER_NAMESPACE=ns-1'], 'no PATH, nothing else of ours');
  t.match(l.read('fds'), /^pipe:\[\d+\]\npipe:\[\d+\]\npipe:\[\d+\]\n$/, 'fds 3, 4, 5 are pipes');
  t.notOk(isAlive(Number(l.read('pid'))), 'the logger has exited');
});

t.test('ready by one byte on fd 5 (fd kept open)', async (t) => {
  const l = logger(t, `/usr/bin/printf r >&5\n${COPY}`);
  const io = await openBinary(`binary://${l.bin}`);
  const { exited } = runContainer('echo hi', io.stdio);
  io.afterStart();
  await exited;
  await io.close();
  t.equal(l.read('out'), 'hi\n');
});

t.test('the container writes 1 MiB and exits: the logger drains it before it is stopped', async (t) => {
  // A slow logger: starts reading only after half a second.
  const l = logger(t, `exec 5>&-\n/bin/sleep 0.5\n/bin/cat <&3 > "$d/out"`);
  const data = crypto.randomBytes(1024 * 1024);
  const payload = path.join(l.dir, 'payload');
  fs.writeFileSync(payload, data);
  const io = await openBinary(`binary://${l.bin}`);
  const { exited } = runContainer(`cat ${payload}`, io.stdio);
  io.afterStart();
  await exited;
  await io.close();
  t.equal(sha256(fs.readFileSync(path.join(l.dir, 'out'))), sha256(data), 'every byte');
});

t.test('a logger that ignores EOF and SIGTERM: SIGTERM once, then SIGKILL', async (t) => {
  // It notes each SIGTERM it gets and carries on.
  const l = logger(t, `trap '/bin/echo TERM >> "$d/signals"' TERM\nexec 3<&- 4<&- 5>&-\nwhile :; do /bin/sleep 0.05; done`);
  const lines: Array<{ msg: string; status?: string; pid?: number }> = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  const io = await openBinary(`binary://${l.bin}`, { logger: log, loggerDrainMs: 100, loggerTermTimeoutMs: 1000 });
  const pid = Number(l.read('pid'));
  io.afterStart();
  await io.close();
  t.equal(l.read('signals'), 'TERM\n', 'it was sent SIGTERM once, and outlived it');
  t.same(
    lines.filter((x) => x.pid === pid).map((x) => x.msg),
    ['logging binary ready', 'logging binary ignored SIGTERM: killing it', 'logging binary stopped'],
    'ready, then the kill, then stopped',
  );
  t.equal(lines.at(-1)?.status, 'signal SIGKILL', 'it ended by SIGKILL');
  t.notOk(isAlive(pid), 'gone');
});

t.test('a logger that never says ready: DeadlineExceeded naming it, and it is killed', async (t) => {
  const l = logger(t, 'exec /bin/sleep 30');
  const before = openFdCount();
  await t.rejects(openBinary(`binary://${l.bin}`, { loggerReadyTimeoutMs: 300 }), {
    kind: 'deadline-exceeded',
    message: new RegExp(`logging binary ${l.bin} did not signal ready`),
  });
  await sleep(20);
  t.notOk(isAlive(Number(l.read('pid'))), 'killed');
  t.equal(openFdCount(), before, 'no fds left behind');
});

t.test('a logger that dies before ready: FailedPrecondition with its exit code and stderr', async (t) => {
  const l = logger(t, 'echo "no such log driver" >&2; exit 3');
  await t.rejects(openBinary(`binary://${l.bin}`), {
    kind: 'failed-precondition',
    message: /exited before the container started \(exit code 3: no such log driver\)/,
  });
});

t.test('a missing logging binary: FailedPrecondition naming it', async (t) => {
  const before = openFdCount();
  await t.rejects(openBinary('binary:///nonexistent/logger'), { kind: 'failed-precondition', message: /\/nonexistent\/logger.*ENOENT/ });
  await sleep(20);
  t.equal(openFdCount(), before, 'no fds left behind');
});

t.test('no fd leaks over full cycles', async (t) => {
  const l = logger(t, COPY);
  const cycle = async () => {
    const io = await openBinary(`binary://${l.bin}`);
    const { exited } = runContainer('echo x; echo y >&2', io.stdio);
    io.afterStart();
    await exited;
    await io.close();
  };
  await cycle();
  await sleep(50);
  const before = openFdCount();
  for (let i = 0; i < 3; i++) await cycle();
  await sleep(50);
  t.equal(openFdCount(), before);
});
