// Container stdio through a real containerd and runc: the log URIs and NullIO ctr offers.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { requireE2E } from './lib/prereq.js';
import { RUNTIME, switchyardContainerd } from './lib/switchyard.js';

if (requireE2E(t)) {
  const env = switchyardContainerd(t);

  const run = (id: string, flags: string[], args: string[]) =>
    env.c.ctr(['run', '--rm', ...flags, '--runtime', RUNTIME, env.ref, id, ...args], { reject: false, timeoutMs: 60_000 });

  t.test('--log-uri file://: both streams appended to the file', async (t) => {
    const log = path.join(env.c.dir, 'logs', 'nested', 'f.log');
    const r = await run('flog', ['--log-uri', `file://${log}`], ['sh', '-c', 'echo to-out; echo to-err >&2; echo dev >> /dev/stdout']);
    t.equal(r.exitCode, 0, r.stderr);
    t.equal(fs.readFileSync(log, 'utf8'), 'to-out\nto-err\ndev\n');
  });

  t.test('--log-uri binary://: the logging binary gets both streams and its arguments', async (t) => {
    const dir = fs.mkdtempSync(path.join(env.c.dir, 'logger-'));
    const bin = path.join(dir, 'logger.sh');
    fs.writeFileSync(
      bin,
      `#!/bin/sh
/usr/bin/printf '%s\\n' "$@" "$CONTAINER_ID" "$CONTAINER_NAMESPACE" > ${dir}/args
/bin/cat <&3 > ${dir}/out 4<&- 5>&- &
/bin/cat <&4 > ${dir}/err 3<&- 5>&- &
exec 3<&- 4<&- 5>&-
wait
`,
      { mode: 0o755 },
    );
    const r = await run('blog', ['--log-uri', `binary://${bin}?--tag=web`], ['sh', '-c', 'echo to-out; echo to-err >&2; readlink /proc/self/fd/1']);
    t.equal(r.exitCode, 0, r.stderr);
    t.match(fs.readFileSync(path.join(dir, 'out'), 'utf8'), /^to-out\npipe:\[\d+\]\n$/, 'stdout, through a real pipe');
    t.equal(fs.readFileSync(path.join(dir, 'err'), 'utf8'), 'to-err\n');
    t.equal(fs.readFileSync(path.join(dir, 'args'), 'utf8'), `--tag\nweb\nblog\n${env.c.namespace}\n`);
  });

  t.test('NullIO (ctr run -d --null-io)', async (t) => {
    const r = await env.c.ctr(['run', '-d', '--null-io', '--runtime', RUNTIME, env.ref, 'nullio', 'sh', '-c', 'echo nowhere; sleep 600'], { reject: false });
    t.equal(r.exitCode, 0, r.stderr);
    await env.c.ctr(['tasks', 'kill', '--signal', 'SIGKILL', 'nullio'], { reject: false });
    const end = Date.now() + 10_000;
    while (Date.now() < end && !/STOPPED/.test((await env.c.ctr(['tasks', 'ls'])).stdout)) await new Promise((res) => setTimeout(res, 50));
    const del = await env.c.ctr(['tasks', 'delete', 'nullio'], { reject: false });
    t.equal(del.exitCode, 0, 'ctr tasks delete');
    await env.c.ctr(['containers', 'delete', 'nullio'], { reject: false });
  });
}
