/**
 * The OCI driver on the real runsc (no containerd): runsc refuses `kill` on a created or
 * paused container, and the driver must still end it, and leave no runsc state and no
 * gVisor process behind. Before the driver handled it, kill rejected with runsc's
 * "cannot signal container ... in state created" and the container stayed.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { OciDriver } from '../../../src/backends/oci/driver.js';
import { sandboxProcesses } from '../../../src/backends/oci/runsc-sandbox.js';
import { ErrorKind } from '../../../src/errors/index.js';
import { requireRoot } from '../../e2e/lib/prereq.js';
import { requireRunsc } from '../../e2e/lib/runsc.js';
import { tempDir } from '../../helpers/tmp.js';
import { busyboxBundle } from './runsc-bundle.js';

const runsc = requireRoot(t) ? requireRunsc(t) : undefined;
if (runsc) {
  const dir = tempDir(t, 'switchyard-runsc-');
  const root = path.join(dir, 'root');
  // The driver appends the namespace to its root.
  const nsRoot = path.join(root, 'ns');
  const driver = new OciDriver({ name: 'runsc', binary: runsc, root, namespace: 'ns', timeoutMs: 30_000, flavour: 'runsc', extraArgs: ['--network=none'] });
  t.teardown(() => {
    // Whatever a failed assertion left: runsc's own force delete, then its processes.
    for (const id of ['created', 'paused', 'harmless', 'outlives']) {
      try {
        execFileSync(runsc, [`--root=${nsRoot}`, 'delete', '--force', id], { stdio: 'ignore' });
      } catch {}
      for (const pid of sandboxProcesses(nsRoot, path.join(dir, id))) process.kill(pid, 'SIGKILL');
    }
  });

  const create = async (id: string, args?: string[], d = driver) => {
    const b = busyboxBundle(dir, id, args);
    const nul = fs.openSync('/dev/null', 'r+');
    try {
      return await d.create({ id, bundle: b, stdio: [nul, nul, nul], pidFile: path.join(b, 'init.pid'), annotations: {} });
    } finally {
      fs.closeSync(nul);
    }
  };
  const stateOf = (id: string) => fs.readdirSync(nsRoot).filter((f) => f.startsWith(`${id}_`));

  t.test('kill of a created container: destroyed, exit 137, nothing left', async (t) => {
    await create('created');
    const exit = driver.wait('created');
    t.ok(sandboxProcesses(nsRoot, path.join(dir, 'created')).length > 0, 'runsc made the sandbox');
    await driver.kill('created', 9, false);
    t.equal(await exit, 137, 'the exit of a SIGKILL');
    t.same(sandboxProcesses(nsRoot, path.join(dir, 'created')), [], 'no runsc-sandbox or runsc-gofer');
    t.same(stateOf('created'), [], 'no runsc state');
    await driver.delete('created', true);
    t.pass('a later delete --force is harmless');
  });

  t.test('a signal that would not end a created container is refused, naming why', async (t) => {
    await create('harmless');
    await t.rejects(driver.kill('harmless', 28, false), { kind: ErrorKind.FailedPrecondition, message: /cannot deliver signal 28 to a created container/ });
    await driver.delete('harmless', true);
    t.same(stateOf('harmless'), []);
  });

  t.test('kill of a paused container', async (t) => {
    await create('paused');
    const exit = driver.wait('paused');
    await driver.start('paused');
    await driver.pause('paused');
    await driver.kill('paused', 9, false);
    t.equal(await exit, 137);
    t.same(sandboxProcesses(nsRoot, path.join(dir, 'paused')), []);
    await driver.delete('paused', true);
    t.same(stateOf('paused'), []);
  });

  t.test('a container that outlives the runtime call timeout still reports its own exit', async (t) => {
    // Before, `runsc wait` ran under the call timeout: killed at 1.5 s, it fell back to the
    // sandbox's pid, and a pod container's exit waited for the whole pod (CRI StopContainer hung).
    const short = new OciDriver({ name: 'runsc', binary: runsc, root, namespace: 'ns', timeoutMs: 1500, flavour: 'runsc', extraArgs: ['--network=none'] });
    await create('outlives', ['/bin/busybox', 'sh', '-c', 'sleep 3; exit 7'], short);
    const exit = short.wait('outlives');
    await short.start('outlives');
    t.equal(await exit, 7, 'the exit status runsc wait gave after 3 s');
    await short.delete('outlives', true);
    t.same(stateOf('outlives'), []);
  });
}
