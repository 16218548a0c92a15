// The node label through the Kubernetes API, against a local HTTPS server playing the API
// server (a throwaway self-signed certificate, as the service account's ca.crt).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import t from 'tap';
import { tempDir } from '../helpers/tmp.js';
import { inCluster, labelNode, READY_LABEL } from '../../src/install/kube.js';

t.test('PATCHes only its own node with a merge patch of the one label, bearer token, verified TLS', async (t) => {
  const dir = tempDir(t);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'ca.crt')], { stdio: 'ignore' });
  fs.writeFileSync(path.join(dir, 'token'), 'tok-123\n');
  const seen: { method?: string; url?: string; headers: Record<string, unknown>; body: string }[] = [];
  const server = https.createServer({ key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(path.join(dir, 'ca.crt')) }, (req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      res.writeHead(req.url === '/api/v1/nodes/gone' ? 404 : 200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = String((server.address() as { port: number }).port);

  t.equal(inCluster({}, dir), undefined, 'outside a cluster: nothing to label');
  const k = inCluster({ KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: port }, dir)!;
  await labelNode(k, 'node-1', 'true');
  await labelNode(k, 'node-1', null);
  t.same(seen.map((s) => [s.method, s.url, s.headers['content-type'], s.headers.authorization]), [
    ['PATCH', '/api/v1/nodes/node-1', 'application/merge-patch+json', 'Bearer tok-123'],
    ['PATCH', '/api/v1/nodes/node-1', 'application/merge-patch+json', 'Bearer tok-123'],
  ]);
  t.same(JSON.parse(seen[0]!.body), { metadata: { labels: { [READY_LABEL]: 'true' } } });
  t.same(JSON.parse(seen[1]!.body), { metadata: { labels: { [READY_LABEL]: null } } }, 'null removes the label');
  await t.rejects(labelNode(k, 'gone', 'true'), /HTTP 404/);
  await t.rejects(labelNode({ ...k, ca: Buffer.from('') }, 'node-1', 'true'), /labelling node node-1/, 'an unverified server is refused');
});
