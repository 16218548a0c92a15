/**
 * k0s: a file in /etc/k0s/containerd.d/, which k0s (1.27.1 and later) picks up itself: it
 * merges a drop-in that configures the CRI plugin into the containerd config it generates
 * and restarts its containerd. Nothing of k0s's own is edited and nothing is restarted.
 * k0s does this only while it manages /etc/k0s/containerd.toml (the `# k0s_managed=true`
 * line); a config taken over by its owner is refused with the way to install into it.
 */
import { failedPrecondition } from '../errors/index.js';
import { configVersion, dropInFile, parseToml, type ConfigVersion } from './containerd-toml.js';
import type { Host, Plan, PlanOptions } from './plan.js';

export const K0S_CONFIG = '/etc/k0s/containerd.toml';
export const K0S_DROP_IN = '/etc/k0s/containerd.d/switchyard.toml';
export const K0S_SOCKET = '/run/k0s/containerd.sock';

export function planK0s(host: Host, o: PlanOptions): Plan {
  const notes: string[] = [];
  const text = host.read(K0S_CONFIG);
  let version: ConfigVersion = 2;
  if (text !== undefined) {
    if (!/^# k0s_managed=true\s*$/m.test(text)) {
      throw failedPrecondition(
        `${K0S_CONFIG} is managed by its owner, not by k0s (no "# k0s_managed=true" line), so k0s does not read ${K0S_DROP_IN}; ` +
          `install with --flavour containerd --containerd-config ${K0S_CONFIG} --restart-command "systemctl restart k0sworker" instead`,
      );
    }
    version = configVersion(parseToml(text, K0S_CONFIG), K0S_CONFIG);
  }
  notes.push(`k0s: writing ${K0S_DROP_IN} (config version ${version}); k0s merges it into its containerd config and restarts containerd itself`);
  return {
    flavour: 'k0s',
    containerdConfig: K0S_CONFIG,
    socket: K0S_SOCKET,
    files: [...o.handlerConfigs.map((c) => ({ path: c.path, content: c.content, kind: 'own' as const })), { path: K0S_DROP_IN, content: dropInFile(version, o.handlers, false), kind: 'own' }],
    restart: o.restartCommand ? { how: 'command', argv: ['sh', '-c', o.restartCommand] } : { how: 'none', why: 'k0s watches containerd.d and restarts its containerd itself' },
    notes,
  };
}
