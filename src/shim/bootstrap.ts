import type { Config } from '../config/config.js';

/**
 * What `start` prints. A plain unix:// address is the one answer every containerd from 1.6
 * to 2.x accepts (ttrpc, Task v2). gRPC needs the JSON bootstrap, which no containerd 1.6
 * understands; version 3 is what containerd 2.x requires for gRPC (1.7 wanted 2).
 */
export function bootstrapAnswer(cfg: Pick<Config, 'protocol'> & { grpcBootstrapVersion?: number }, socket: string): string {
  if (cfg.protocol === 'grpc') {
    return JSON.stringify({ version: cfg.grpcBootstrapVersion ?? 3, address: socket, protocol: 'grpc' });
  }
  return `unix://${socket}`;
}
