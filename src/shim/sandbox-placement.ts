/**
 * Where a pod created through the Sandbox API runs: routed by the same BackendChoice as a
 * pause container would be (the pod's annotations and Kubernetes namespace, the node's
 * policy, the decision record), then made by the PodSandbox of its runtime's kind. The
 * pod's containers later inherit the recorded decision by their sandbox id, as always.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { failedPrecondition } from '../errors/index.js';
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
      choice.forget(s.id);
      // A delegate (Kata's shim) would have to be launched for the pod and speak the
      // Sandbox API itself; the delegates Switchyard knows serve the Task API only.
      throw failedPrecondition(
        `runtime "${c.decision.runtime}" chosen for sandbox ${s.id} is a delegate shim (${c.command.binary}), which does not serve containerd's Sandbox API: ` +
          'run this pod through a podsandbox handler (a pause container) instead',
      );
    }
    const rt = cfg.runtimes[c.decision.runtime];
    const plog = log.child({ sandbox: s.id, runtime: c.decision.runtime });
    if (rt?.type === 'oci' && rt.flavour === 'runsc') {
      return new RunscPodSandbox(c.driver, s, { namespace, watch: (pid) => reaper.watch(pid).then((e) => ({ status: e.status, at: e.exitedAt })) });
    }
    return new HolderSandbox(c.decision.runtime, s, plog, namespace);
  };
}
