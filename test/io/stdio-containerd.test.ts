// Container stdio through a real containerd and runc: the log URIs and NullIO ctr offers.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { startContainerd, type ContainerdHandle } from '../e2e/lib/containerd.js';
import { importBusybox } from '../e2e/lib/image.js';
import { requireE2E } from '../e2e/lib/prereq.js';
import { RUNC_ROOT, RUNTIME, shimPathOptions } from '../e2e/lib/switchyard.js';

if (requireE2E(t)) {
  let c: ContainerdHandle;
  let ref = '';
  t.before(async () => {
    c = await startContainerd({ ...shimPathOptions() });
    c.addRuntimeRoot(path.join(RUNC_ROOT, c.namespace));
    ref = await importBusybox(c);
  });
  t.teardown(() => c?.stop());

  const run = (id: string, flags: string[], args: string[]) =>
    c.ctr(['run', '--rm', ...flags, '--runtime', RUNTIME, ref, id, ...args], { reject: false, timeoutMs: 60_000 });

  t.test('--log-uri file://: both streams appended to the file', async (t) => {
    const log = path.join(c.dir, 'logs', 'nested', 'f.log');
    const r = await run('flog', ['--log-uri', `file://${log}`], ['sh', '-c', 'echo to-out; echo to-err >&2; echo dev >> /dev/stdout']);
    t.equal(r.exitCode, 0, r.stderr);
    t.equal(fs.readFileSync(log, 'utf8'), 'to-out\nto-err\ndev\n');
  });

  t.test('--log-uri binary://: the logging binary gets both streams and its arguments', async (t) => {
    const dir = fs.mkdtempSync(path.join(c.dir, 'logger-'));
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
    t.equal(fs.readFileSync(path.join(dir, 'args'), 'utf8'), `--tag\nweb\nblog\n${c.namespace}\n`);
  });

  t.test('NullIO (ctr run -d --null-io)', async (t) => {
    const r = await c.ctr(['run', '-d', '--null-io', '--runtime', RUNTIME, ref, 'nullio', 'sh', '-c', 'echo nowhere; sleep 600'], { reject: false });
    t.equal(r.exitCode, 0, r.stderr);
    await c.ctr(['tasks', 'kill', '--signal', 'SIGKILL', 'nullio'], { reject: false });
    const end = Date.now() + 10_000;
    while (Date.now() < end && !/STOPPED/.test((await c.ctr(['tasks', 'ls'])).stdout)) await new Promise((res) => setTimeout(res, 50));
    const del = await c.ctr(['tasks', 'delete', 'nullio'], { reject: false });
    t.equal(del.exitCode, 0, 'ctr tasks delete');
    await c.ctr(['containers', 'delete', 'nullio'], { reject: false });
  });
}
