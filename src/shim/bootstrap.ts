import type { Config, BootstrapSetting } from '../config/config.js';
import { failedPrecondition } from '../errors/index.js';
import type { ContainerdVersion } from './containerd-version.js';

/**
 * The bootstrap version `start` answers with. Version 3 is what lets containerd 2.x reuse a
 * pod's shim connection for each of its containers without running this binary again;
 * containerd 1.7 refuses it, and 1.6 takes any output as an address. So `auto` answers 3
 * only to a containerd known to be 2.x (from `-publish-binary`, containerd-version.ts), and
 * the config key `bootstrap_version` overrides that for a node whose containerd cannot be
 * told (a wrapper script as publish binary, say).
 */
export function chooseBootstrapVersion(setting: BootstrapSetting, containerd: ContainerdVersion | undefined, protocol: Config['protocol']): 2 | 3 {
  if (setting !== 'auto') return setting;
  if (containerd) return containerd.major >= 2 ? 3 : 2;
  // Unknown: a plain address works on every containerd; gRPC has no such answer, and
  // version 3 is the one current containerd takes.
  return protocol === 'grpc' ? 3 : 2;
}

/**
 * What `start` prints.
 * - ttrpc, version 2: a plain unix:// address, the one answer every containerd accepts
 *   (Task v2).
 * - ttrpc, version 3: JSON naming the same address; containerd 2.x then speaks Task v3.
 * - gRPC: JSON with a bare socket path (containerd adds unix:// itself); version 2 for 1.7,
 *   version 3 for 2.x. containerd 1.6 cannot use a gRPC shim at all.
 */
export function bootstrapAnswer(protocol: Config['protocol'], version: 2 | 3, socket: string, containerd?: ContainerdVersion, explicit = false): string {
  if (protocol === 'grpc') {
    if (containerd && containerd.major === 1 && containerd.minor < 7) {
      throw failedPrecondition(`containerd ${containerd.text} cannot use a gRPC shim (1.7 or later can): set protocol = "ttrpc"`);
    }
    // containerd 2.x (2.0 to 2.4.0-beta.0 read) watches a gRPC shim connection from
    // grpc.NewClient, which starts IDLE, and takes IDLE for a closed connection
    // (core/runtime/v2/shim.go grpcDialContext): it runs `delete` at once and forgets the
    // task, so every task dies as it starts. Refused unless the operator sets
    // bootstrap_version = 3 for a containerd that is fixed.
    if (containerd && containerd.major >= 2 && !explicit) {
      throw failedPrecondition(
        `containerd ${containerd.text} drops gRPC shim connections as soon as it makes them (its watcher takes the new channel's IDLE state for a close), ` +
          'and would clean up every task at once: set protocol = "ttrpc", or bootstrap_version = 3 for a containerd without that fault',
      );
    }
    return JSON.stringify({ version, address: socket, protocol: 'grpc' });
  }
  if (version === 3) return JSON.stringify({ version: 3, address: `unix://${socket}`, protocol: 'ttrpc' });
  return `unix://${socket}`;
}

/**
 * What `<bundle>/address` holds: the version-2 answer, which containerd 1.6 and 1.7 read
 * back after a restart (2.x reads its own bootstrap.json and this file only to migrate an
 * old bundle). A node taken back from 2.x to 1.7 thus still finds every task.
 */
export function addressFileAnswer(protocol: Config['protocol'], socket: string): string {
  return protocol === 'grpc' ? JSON.stringify({ version: 2, address: socket, protocol: 'grpc' }) : `unix://${socket}`;
}
