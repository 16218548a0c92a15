/**
 * A small Kubernetes API client for one call: set or remove this node's label, with the
 * pod's service account (token and CA mounted by kubelet) and the node name from the
 * downward API. RBAC lets the account patch nodes; the name comes from the pod spec.
 */
import fs from 'node:fs';
import https from 'node:https';
import { unavailable } from '../errors/index.js';

export const READY_LABEL = 'switchyard.dev/runtime-ready';
export const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KubeTarget {
  host: string;
  port: string;
  token: string;
  ca: Buffer;
}

/** The in-cluster API server, or undefined outside a cluster. */
export function inCluster(env: NodeJS.ProcessEnv = process.env, saDir = SA_DIR): KubeTarget | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  if (!host || !fs.existsSync(`${saDir}/token`)) return undefined;
  return { host, port: env.KUBERNETES_SERVICE_PORT ?? '443', token: fs.readFileSync(`${saDir}/token`, 'utf8').trim(), ca: fs.readFileSync(`${saDir}/ca.crt`) };
}

/** PATCH the node's labels (value null removes the label). */
export function labelNode(k: KubeTarget, node: string, value: string | null): Promise<void> {
  const body = JSON.stringify({ metadata: { labels: { [READY_LABEL]: value } } });
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: k.host,
        port: k.port,
        method: 'PATCH',
        path: `/api/v1/nodes/${encodeURIComponent(node)}`,
        ca: k.ca,
        servername: k.host.includes(':') || /^\d+\.\d+\.\d+\.\d+$/.test(k.host) ? undefined : k.host,
        headers: { authorization: `Bearer ${k.token}`, 'content-type': 'application/merge-patch+json', accept: 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: 30_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          if (res.statusCode && res.statusCode >= 200 && res.statusCode < 300) resolve();
          else reject(unavailable(`labelling node ${node}: HTTP ${res.statusCode}: ${text.slice(0, 300)}`));
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => reject(unavailable(`labelling node ${node}: ${err.message}`, err)));
    req.end(body);
  });
}
