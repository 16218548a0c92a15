/**
 * A pod routed to a delegate shim through CRI: the sandbox and its containers are served by
 * one delegate instance (runc-v2 here, standing in for Kata's shim), while containerd only
 * ever talks to Switchyard.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { requireCommands, requireE2E } from '../lib/prereq.js';
import { criContainerd, CRI_NAMESPACE, SWITCHYARD_HANDLER } from '../lib/cri-env.js';
import { findProcessesReferencing } from '../lib/cleanup.js';
import { socketAddress } from '../../../src/shim/address.js';

if (requireE2E(t) && requireCommands(t, ['containerd-shim-runc-v2'])) {
  const env = criContainerd(t, { switchyardToml: ['[runtimes.delegate-runc]', 'type = "shim"', 'binary = "containerd-shim-runc-v2"', ''].join('\n') });

  t.test('an annotated pod runs on the delegate; its containers share one delegate instance', async (t) => {
    const cri = env.cri;
    const pod = await cri.runPod({ name: 'delegated', namespace: 'default', runtimeHandler: SWITCHYARD_HANDLER, annotations: { 'switchyard.dev/runtime': 'delegate-runc' } });
    t.teardown(() => cri.stopAndRemovePod(pod).catch(() => undefined));
    const a = await cri.createAndStart(pod, undefined, { name: 'a', image: env.busybox, command: ['sleep', '1000'] });
    const b = await cri.createAndStart(pod, undefined, { name: 'b', image: env.busybox, command: ['sleep', '1000'] });
    const r = await cri.execSync(a, ['sh', '-c', 'echo from-a; exit 2'], 10);
    t.equal(r.stdout.toString().trim(), 'from-a');
    t.equal(r.exit_code, 2);
    t.equal((await cri.containerStatus(b)).status?.state, 'CONTAINER_RUNNING');

    const shims = findProcessesReferencing(env.c.address).filter((p) => p.cmdline.some((x) => x.includes('containerd-shim-runc-v2')));
    t.equal(shims.length, 1, 'one runc-v2 shim serves the whole pod');
    const ours = socketAddress(env.c.address, CRI_NAMESPACE, 'switchyard:ttrpc');
    for (const id of [pod, a, b]) {
      const addr = fs.readFileSync(path.join(env.c.state, 'io.containerd.runtime.v2.task', CRI_NAMESPACE, id, 'address'), 'utf8').trim();
      t.equal(addr, ours, `containerd talks to Switchyard for ${id.slice(0, 12)}`);
    }
    await cri.stopAndRemovePod(pod);
    const left = findProcessesReferencing(env.c.address).filter((p) => p.cmdline.some((x) => x.includes('containerd-shim-runc-v2')));
    t.equal(left.length, 0, 'the delegate shut down with its pod');
  });
}
