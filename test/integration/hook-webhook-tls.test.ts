/**
 * The admission webhooks over real HTTPS with certificates made by deploy/gen-certs.sh (the
 * openssl steps of docs/admission.md), checked the way the API server checks them: the
 * private CA as the only trust anchor and the Service DNS name as the server name. Decisions
 * here need no registry (deny tags, unmatched images, skip rules); end-to-end verification
 * against a registry is wired by the server.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { parseAllDocuments } from 'yaml';
import { admissionRoutes } from '../../hook/routes.js';
import { parsePolicy } from '../../lib/policy/index.js';
import { podReview } from '../helpers/admission-review.js';

const root = new URL('../../', import.meta.url).pathname;
const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
const hasSed = spawnSync('sed', ['--version']).status === 0;
if (process.env.CI === 'true' && (!hasOpenssl || !hasSed)) throw new Error('openssl and sed are required in CI');
const skip = !hasOpenssl || !hasSed ? 'openssl or sed not installed' : false;

const SERVICE = 'ocitrust-webhook';
const NAMESPACE = 'ocitrust-system';
const DNS = `${SERVICE}.${NAMESPACE}.svc`;

function post(port: number, path: string, body: unknown, ca: Buffer, servername: string): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const data = Buffer.from(JSON.stringify(body));
    const req = request(
      { host: '127.0.0.1', port, path, method: 'POST', ca, servername, headers: { 'content-type': 'application/json', 'content-length': data.length } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

const pod = (ns: string, image: string) => podReview({ namespace: ns, images: [image], uid: `uid-${ns}-${image.length}`, name: 'p', username: 'admin' });

describe('admission webhooks over HTTPS with the documented certificates', { skip }, () => {
  let dir: string;
  let app: FastifyInstance;
  let port: number;
  let ca: Buffer;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ocitrust-webhook-'));
    const gen = spawnSync('bash', [join(root, 'deploy/gen-certs.sh'), dir, SERVICE, NAMESPACE, '2'], { encoding: 'utf8' });
    assert.equal(gen.status, 0, gen.stderr);
    ca = readFileSync(join(dir, 'ca.crt'));
    const policy = parsePolicy(`version: 1
defaults: {denyTags: [latest]}
rules:
  - {name: team, images: ["registry.example.com/team/*"]}
  - {name: system, images: ["**"], namespaces: {names: [kube-system]}, mode: skip}
unmatched: deny
`);
    app = Fastify({ https: { cert: readFileSync(join(dir, 'tls.crt')), key: readFileSync(join(dir, 'tls.key')), minVersion: 'TLSv1.2' } });
    await app.register(admissionRoutes, {
      policy,
      timeoutSeconds: 10,
      verifyImage: async () => {
        throw new Error('these requests are decided without a registry');
      },
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address();
    port = typeof addr === 'object' && addr ? addr.port : 0;
  });

  after(async () => {
    await app?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the server certificate is valid for the Service name under the private CA', async () => {
    const r = await post(port, '/admission/validate', pod('kube-system', 'ghcr.io/x/y:1'), ca, DNS);
    assert.equal(r.status, 200);
    assert.equal(r.json.response.allowed, true);
    assert.equal(r.json.response.uid, pod('kube-system', 'ghcr.io/x/y:1').request.uid);
    const full = await post(port, '/admission/validate', pod('kube-system', 'ghcr.io/x/y:1'), ca, `${DNS}.cluster.local`);
    assert.equal(full.status, 200);
  });

  it('is refused for another name or without the CA (what the API server would see if caBundle or the Service were wrong)', async () => {
    await assert.rejects(post(port, '/admission/validate', pod('prod', 'x'), ca, 'other.ocitrust-system.svc'), /altnames|Hostname/i);
    await assert.rejects(post(port, '/admission/validate', pod('prod', 'x'), Buffer.from(''), DNS), /certificate/i);
  });

  it('denies with the reason over the wire', async () => {
    const r = await post(port, '/admission/mutate', pod('prod', 'registry.example.com/team/app'), ca, DNS);
    assert.equal(r.status, 200);
    assert.equal(r.json.response.allowed, false);
    assert.match(r.json.response.status.message, /POLICY_FILE_TAG_DENIED: tag "latest"/);
    const u = await post(port, '/admission/validate', pod('prod', 'ghcr.io/x/y:1'), ca, DNS);
    assert.match(u.json.response.status.message, /POLICY_FILE_NO_MATCH/);
  });

  it('the documented caBundle step yields webhook configurations that trust exactly this CA', () => {
    const bundle = ca.toString('base64');
    for (const f of ['validating-webhook.yaml', 'mutating-webhook.yaml']) {
      // docs/admission.md: sed "s|clientConfig:|clientConfig:\n    caBundle: ${CA_BUNDLE}|" deploy/<file>
      const r = spawnSync('sed', [`s|clientConfig:|clientConfig:\\n    caBundle: ${bundle}|`, join(root, 'deploy', f)], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const [doc] = parseAllDocuments(r.stdout);
      const cfg = doc?.toJS() as { webhooks: { clientConfig: { caBundle: string; service: unknown } }[] };
      assert.equal(cfg.webhooks[0]?.clientConfig.caBundle, bundle);
      assert.ok(cfg.webhooks[0]?.clientConfig.service);
      assert.equal(Buffer.from(cfg.webhooks[0]?.clientConfig.caBundle as string, 'base64').toString(), ca.toString());
    }
  });
});
