/**
 * More than one RuntimeClass handler on one node: the harness registers handlers the
 * caller asks for. Here a second Switchyard handler whose own config (given to the shim
 * as containerd runtime options, ConfigPath) says `grouping = "pod"`, next to the default
 * `switchyard` handler (one daemon for the whole k8s.io namespace).
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { requireE2E } from '../lib/prereq.js';
import { criContainerd, CRI_NAMESPACE, environOf, SWITCHYARD_HANDLER } from '../lib/cri-env.js';
import { daemonPids, RUNTIME } from '../lib/switchyard.js';
import { socketAddress } from '../../../src/shim/address.js';
import { configGroup } from '../../../src/shim/paths.js';

const POD_HANDLER = 'switchyard-pod';

if (requireE2E(t)) {
  const env = criContainerd(t, {
    handlers: { [POD_HANDLER]: { runtimeType: RUNTIME, podAnnotations: ['switchyard.dev/*'], switchyardConfig: { grouping: 'pod' } } },
  });

  const served = (id: string) => fs.readFileSync(path.join(env.c.state, 'io.containerd.runtime.v2.task', CRI_NAMESPACE, id, 'address'), 'utf8').trim();

  t.test('two Switchyard handlers: one shared daemon, and one daemon per pod', async (t) => {
    const cri = env.cri;
    const pods: Record<string, string> = {};
    const containers: Record<string, string> = {};
    for (const [name, handler] of [
      ['shared', SWITCHYARD_HANDLER],
      ['own-a', POD_HANDLER],
      ['own-b', POD_HANDLER],
    ] as const) {
      // A handler with an options table makes containerd send runtimeoptions.v1.Options
      // (TypeUrl, ConfigPath, ConfigBody) to the shim, at start and again in Create.
      const pod = await cri.runPod({ name, namespace: 'default', runtimeHandler: handler }).catch((e: Error) => e);
      if (pod instanceof Error) {
        t.fail(`RunPodSandbox through ${handler} (runtime options with ConfigPath): ${pod.message}`);
        return;
      }
      pods[name] = pod;
      containers[name] = await cri.createAndStart(pod, undefined, { name: 'main', image: env.busybox, command: ['sleep', '1000'] });
      t.equal((await cri.podSandboxStatus(pod)).status?.runtime_handler, handler, `pod ${name} runs with handler ${handler}`);
    }

    const nsSocket = socketAddress(env.c.address, CRI_NAMESPACE, 'switchyard:ttrpc');
    t.equal(served(pods.shared!), nsSocket, 'switchyard: the sandbox is served by the namespace daemon');
    t.equal(served(containers.shared!), nsSocket, 'switchyard: its container too');
    for (const name of ['own-a', 'own-b']) {
      const own = socketAddress(env.c.address, CRI_NAMESPACE, `switchyard:ttrpc${configGroup(path.join(path.dirname(env.switchyardConfigPath), `handler-${POD_HANDLER}.toml`))}:pod:${pods[name]}`);
      t.equal(served(pods[name]!), own, `${POD_HANDLER}: pod ${name}'s sandbox has its own daemon`);
      t.equal(served(containers[name]!), own, `${POD_HANDLER}: pod ${name}'s container shares it`);
    }

    const daemons = daemonPids(env.c);
    t.equal(daemons.length, 3, 'three daemons: the namespace one and one per grouped pod');
    const configs = daemons.map((pid) => path.basename(environOf(pid).SWITCHYARD_CONFIG ?? '')).sort();
    t.same(configs, ['config.toml', `handler-${POD_HANDLER}.toml`, `handler-${POD_HANDLER}.toml`], 'each daemon runs with its handler\'s config');

    for (const name of Object.keys(pods)) {
      const r = await cri.execSync(containers[name]!, ['echo', name], 10);
      t.equal(r.stdout.toString(), `${name}\n`, `ExecSync in pod ${name}`);
    }
    for (const name of Object.keys(pods)) await cri.stopAndRemovePod(pods[name]!, 0);
    t.same(await cri.listPodSandbox(), [], 'all pods removed');
    t.same(await cri.listContainers(), [], 'all containers removed');
  });
}
