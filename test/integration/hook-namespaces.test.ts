// Namespace labels from the Kubernetes API (server/k8s-namespaces.ts) against a stand-in API
// server on 127.0.0.1:0 speaking the namespaces endpoint: bearer token re-read per miss, labels
// cached, unknown namespaces, RBAC refusals and garbage answers failing closed, and in-cluster
// detection from KUBERNETES_SERVICE_HOST and the service account files.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isOcitrustError } from '../../lib/errors/index.js';
import { kubernetesNamespaceLabels, inClusterNamespaceLabels } from '../../server/k8s-namespaces.js';

describe('kubernetesNamespaceLabels', () => {
  let server: Server;
  let url: string;
  const seen: { path: string; auth: string | undefined }[] = [];
  before(async () => {
    server = createServer((req, res) => {
      seen.push({ path: req.url ?? '', auth: req.headers.authorization });
      const ns = decodeURIComponent((req.url ?? '').replace('/api/v1/namespaces/', ''));
      if (req.headers.authorization !== 'Bearer good-token' && req.headers.authorization !== 'Bearer rotated-token') {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"kind":"Status","code":401}');
      } else if (ns === 'prod') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Namespace', apiVersion: 'v1', metadata: { name: 'prod', labels: { 'kubernetes.io/metadata.name': 'prod', team: 'a' } } }));
      } else if (ns === 'forbidden') {
        res.writeHead(403, { 'content-type': 'application/json' }).end('{"kind":"Status","code":403}');
      } else if (ns === 'garbage') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"metadata": {"labels": {"a": "1", "a": "2"}}}');
      } else {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"kind":"Status","code":404}');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('reads labels with the bearer token, caches them, and re-reads the token on a miss', async () => {
    let now = 0;
    let token = 'good-token';
    const labels = kubernetesNamespaceLabels({ apiUrl: url, token: () => token, ttlMs: 1000, clock: { now: () => new Date(now) } });
    seen.length = 0;
    assert.deepEqual(await labels('prod'), { 'kubernetes.io/metadata.name': 'prod', team: 'a' });
    assert.deepEqual(await labels('prod'), { 'kubernetes.io/metadata.name': 'prod', team: 'a' });
    assert.deepEqual(seen, [{ path: '/api/v1/namespaces/prod', auth: 'Bearer good-token' }]);
    token = 'rotated-token';
    now += 2000;
    await labels('prod');
    assert.equal(seen.at(-1)?.auth, 'Bearer rotated-token');
    assert.equal(await labels('nowhere'), undefined, 'an unknown namespace has no labels');
  });

  it('fails closed with HOOK_NAMESPACE_LABELS_UNAVAILABLE on refusals, bad answers and an unreachable API', async () => {
    const labels = kubernetesNamespaceLabels({ apiUrl: url, token: () => 'good-token' });
    await assert.rejects(Promise.resolve(labels('forbidden')), (e: unknown) => isOcitrustError(e, 'HOOK_NAMESPACE_LABELS_UNAVAILABLE') && /403.*rbac/i.test(e.message));
    await assert.rejects(Promise.resolve(labels('garbage')), (e: unknown) => isOcitrustError(e, 'HOOK_NAMESPACE_LABELS_UNAVAILABLE'));
    const wrong = kubernetesNamespaceLabels({ apiUrl: url, token: () => 'stolen' });
    await assert.rejects(Promise.resolve(wrong('prod')), (e: unknown) => isOcitrustError(e, 'HOOK_NAMESPACE_LABELS_UNAVAILABLE') && /401/.test(e.message));
    const down = kubernetesNamespaceLabels({ apiUrl: 'http://127.0.0.1:1', token: () => 't', timeoutMs: 500 });
    await assert.rejects(Promise.resolve(down('prod')), (e: unknown) => isOcitrustError(e, 'HOOK_NAMESPACE_LABELS_UNAVAILABLE'));
  });

  it('is found in a cluster (service host and account files), and not elsewhere', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ocitrust-sa-'));
    try {
      assert.equal(await inClusterNamespaceLabels({}, dir), undefined);
      assert.equal(await inClusterNamespaceLabels({ KUBERNETES_SERVICE_HOST: '10.96.0.1' }, dir), undefined, 'no service account files');
      writeFileSync(join(dir, 'ca.crt'), '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');
      writeFileSync(join(dir, 'token'), 'tok\n');
      assert.equal(typeof (await inClusterNamespaceLabels({ KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }, dir)), 'function');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
