/**
 * The driver on the real runsc as the daemon runs it: child subreaper, runtime calls through
 * posix_spawn, and the reaper's sweep turned off here. runsc's processes are then orphans
 * of ours, and `runsc delete` waits (kill(pid, 0), up to 5 s, then fails) for a container's
 * gofer to be gone, which a zombie is not. The driver must have them reaped as they end:
 * before, each gVisor delete waited for the daemon's next sweeps (1-2 s), and containerd
 * escalated a short StopContainer grace to SIGKILL and failed it with "ttrpc: closed".
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { OciDriver } from '../../../src/backends/oci/driver.js';
import { sandboxProcesses } from '../../../src/backends/oci/runsc-sandbox.js';
import { Reaper } from '../../../src/sys/reaper.js';
import { spawnFast } from '../../../src/sys/spawn.js';
import { readProcStat } from '../../../src/sys/proc.js';
import { requireRoot } from '../../e2e/lib/prereq.js';
import { requireRunsc } from '../../e2e/lib/runsc.js';
import { tempDir } from '../../helpers/tmp.js';
import { busyboxBundle } from './runsc-bundle.js';

const runsc = requireRoot(t) ? requireRunsc(t) : undefined;
if (runsc) {
  const dir = tempDir(t, 'switchyard-runsc-orphans-');
  const root = path.join(dir, 'root');
  const nsRoot = path.join(root, 'ns');
  const reaper = new Reaper({ sweepDelayMs: 0 });
  reaper.start();
  const watched: number[] = [];
  const driver = new OciDriver({
    name: 'runsc',
    binary: runsc,
    root,
    namespace: 'ns',
    timeoutMs: 30_000,
    flavour: 'runsc',
    extraArgs: ['--network=none'],
    children: {
      spawn: (file, args, o) => spawnFast(file, args, o, (pid) => reaper.watch(pid)),
      collect: (pid) => {
        watched.push(pid);
        reaper.collect(pid);
      },
    },
  });
  t.teardown(() => {
    for (const id of ['app', 'pod']) {
      try {
        execFileSync(runsc, [`--root=${nsRoot}`, 'delete', '--force', id], { stdio: 'ignore' });
      } catch {}
      for (const pid of sandboxProcesses(nsRoot, path.join(dir, id))) process.kill(pid, 'SIGKILL');
    }
    reaper.stop();
  });

  const create = async (id: string, args: string[], annotations: Record<string, string>) => {
    const b = busyboxBundle(dir, id, args, annotations);
    const nul = fs.openSync('/dev/null', 'r+');
    try {
      return await driver.create({ id, bundle: b, stdio: [nul, nul, nul], pidFile: path.join(b, 'init.pid'), annotations });
    } finally {
      fs.closeSync(nul);
    }
  };
  const zombies = (pids: number[]) => pids.filter((p) => readProcStat(p)?.state === 'Z');

  t.test('a pod container that exits, then its pod: each delete succeeds and leaves no zombie', async (t) => {
    await create('pod', ['/bin/busybox', 'sleep', '1000'], { 'io.kubernetes.cri.container-type': 'sandbox', 'io.kubernetes.cri.sandbox-id': 'pod' });
    const podExit = driver.wait('pod');
    await driver.start('pod');
    await create('app', ['/bin/busybox', 'sh', '-c', 'trap "exit 3" TERM; sleep 1000 & wait'], { 'io.kubernetes.cri.container-type': 'container', 'io.kubernetes.cri.sandbox-id': 'pod' });
    const appExit = driver.wait('app');
    await driver.start('app');
    const appProcs = sandboxProcesses(nsRoot, path.join(dir, 'app'));
    t.ok(appProcs.length > 0, `the container has its gofer: ${appProcs.join(' ')}`);

    await driver.kill('app', 15, false);
    t.equal(await appExit, 3, 'the container exits on TERM with its own status');
    await driver.delete('app', true);
    t.pass('runsc delete of the exited container succeeded');
    t.same(sandboxProcesses(nsRoot, path.join(dir, 'app')), [], 'its gofer is gone');
    t.same(zombies(appProcs), [], 'and reaped, not left a zombie');
    t.ok(appProcs.every((p) => watched.includes(p)), 'the driver had the daemon collect them');

    const podProcs = sandboxProcesses(nsRoot, path.join(dir, 'pod'));
    await driver.kill('pod', 9, false);
    t.equal(await podExit, 137);
    await driver.delete('pod', true);
    t.same(sandboxProcesses(nsRoot, path.join(dir, 'pod')), [], 'the sandbox and its gofer are gone');
    t.same(zombies(podProcs), [], 'and reaped');
    t.same(fs.readdirSync(nsRoot).filter((f) => f.endsWith('.state')), [], 'no runsc state left');
  });
}
