/**
 * Where a pod created through the Sandbox API runs: routed by the same BackendChoice as a
 * pause container would be (the pod's annotations and Kubernetes namespace, the node's
 * policy, the decision record), then made by the PodSandbox of its runtime's kind (a
 * holder for runc/crun, a gVisor sandbox for runsc, a forward to a delegate shim). The
 * pod's containers later inherit the recorded decision by their sandbox id, as always.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { sandboxService } from '../api/sandbox.js';
import { deleteDelegate, startDelegate } from '../backends/shim/launch.js';
import { TtrpcClient } from '../transport/ttrpc/client.js';
import { DelegatedSandbox } from '../sandbox/delegated-sandbox.js';
import type { Reaper } from '../sys/reaper.js';
import { HolderSandbox } from '../sandbox/holder-sandbox.js';
import { routingAnnotations } from '../sandbox/pod-config.js';
import { RunscPodSandbox } from '../sandbox/runsc-pod.js';
import type { NewSandbox, PodSandbox } from '../sandbox/types.js';
import type { BackendChoice } from './backend-choice.js';

export function sandboxPlacer(choice: BackendChoice, cfg: Config, namespace: string, reaper: Pick<Reaper, 'watch'>, log: Logger): (s: NewSandbox) => PodSandbox {
  return (s) => {
    const c = choice.choose({ id: s.id, bundle: s.bundle, annotations: routingAnnotations(s.id, s.pod) });
    if (c.kind === 'shim') {
      const cmd = { ...c.command, workDir: s.bundle };
      return new DelegatedSandbox(c.decision.runtime, s, {
        binary: cmd.binary,
        start: async () => (await startDelegate(cmd)).address,
        connect: async (address) => {
          const client = await TtrpcClient.connect(address);
          return { sandbox: client.service(sandboxService), close: () => client.close() };
        },
        remove: async () => void (await deleteDelegate(cmd)),
      });
    }
    const rt = cfg.runtimes[c.decision.runtime];
    const plog = log.child({ sandbox: s.id, runtime: c.decision.runtime });
    if (rt?.type === 'oci' && rt.flavour === 'runsc') {
      return new RunscPodSandbox(c.driver, s, { namespace, watch: (pid) => reaper.watch(pid).then((e) => ({ status: e.status, at: e.exitedAt })) });
    }
    return new HolderSandbox(c.decision.runtime, s, plog, namespace);
  };
}
