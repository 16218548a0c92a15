import { sha256Hex } from './sha256.js';
import path from 'node:path';

/**
 * containerd's shim socket convention (docs/protocol.md §2.6): the directory is fixed whatever
 * containerd's state dir is, and instances are kept apart only by the hash of
 * `<containerd address>/<namespace>/<group>`. `ctr shim` derives the same path.
 */
export const SOCKET_DIR = '/run/containerd/s';

export function socketPath(containerdAddress: string, namespace: string, group: string): string {
  const digest = sha256Hex(path.join(containerdAddress, namespace, group));
  return path.join(SOCKET_DIR, digest);
}

export function socketAddress(containerdAddress: string, namespace: string, group: string): string {
  return `unix://${socketPath(containerdAddress, namespace, group)}`;
}
