// The documented Vault Transit plugin (docs/examples/ocitrust-signer-vault) run for real, over
// real HTTP, against a stand-in for the two Vault Transit endpoints it calls (GET
// /v1/<mount>/keys/<name>, POST /v1/<mount>/sign/<name>; shapes from Vault's API docs — Vault
// itself is not installed here). It checks the example does what the docs say: ECDSA P-256 and
// Ed25519 keys, a pinned key version, the token header, Vault's errors passed on as plugin errors.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { delimiter, join } from 'node:path';
import { describePluginKey, openPluginSigner } from '../../lib/keys/plugin.js';
import { isOcitrustError } from '../../lib/errors/index.js';
import { PROJECT_ROOT } from '../helpers/cli.js';

const TOKEN = 'hvs.test-token';

describe('docs/examples/ocitrust-signer-vault against Vault Transit endpoints', () => {
  let server: Server;
  let env: NodeJS.ProcessEnv;
  const keys = new Map<string, { type: 'ecdsa-p256' | 'ed25519'; versions: KeyObject[] }>();
  const msg = new TextEncoder().encode('statement bytes');

  before(async () => {
    keys.set('release', { type: 'ecdsa-p256', versions: [generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey] });
    keys.set('edkey', { type: 'ed25519', versions: [generateKeyPairSync('ed25519').privateKey] });
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const reply = (status: number, doc: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(doc));
        };
        if (req.headers['x-vault-token'] !== TOKEN) return reply(403, { errors: ['permission denied'] });
        const m = /^\/v1\/transit\/(keys|sign)\/([a-z0-9-]+)$/.exec(req.url ?? '');
        const key = m ? keys.get(m[2]!) : undefined;
        if (!m || !key) return reply(404, { errors: [] });
        if (m[1] === 'keys' && req.method === 'GET') {
          const versions: Record<string, { public_key: string }> = {};
          // As Vault answers: ecdsa-p256 an SPKI PEM, ed25519 base64 of the raw 32 bytes.
          key.versions.forEach((k, i) => {
            const pub = createPublicKey(k);
            versions[String(i + 1)] = { public_key: key.type === 'ed25519' ? Buffer.from(pub.export({ format: 'jwk' }).x!, 'base64url').toString('base64') : pub.export({ format: 'pem', type: 'spki' }).toString() };
          });
          return reply(200, { data: { type: key.type, latest_version: key.versions.length, keys: versions } });
        }
        if (m[1] === 'sign' && req.method === 'POST') {
          const b = JSON.parse(body) as { input: string; key_version?: number; hash_algorithm?: string; marshaling_algorithm?: string };
          const k = key.versions[(b.key_version ?? key.versions.length) - 1]!;
          const data = Buffer.from(b.input, 'base64');
          const sig = key.type === 'ed25519' ? sign(null, data, k) : sign(b.hash_algorithm === 'sha2-256' ? 'sha256' : 'sha512', data, { key: k, dsaEncoding: b.marshaling_algorithm === 'asn1' ? 'der' : 'ieee-p1363' });
          return reply(200, { data: { signature: `vault:v${b.key_version ?? key.versions.length}:${sig.toString('base64')}` } });
        }
        return reply(405, { errors: ['unsupported'] });
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    env = { PATH: `${join(PROJECT_ROOT, 'docs', 'examples')}${delimiter}${process.env.PATH ?? ''}`, VAULT_ADDR: `http://127.0.0.1:${port}`, VAULT_TOKEN: TOKEN };
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('describes and signs with an ECDSA P-256 key (latest version, and a pinned one)', async () => {
    const latest = await openPluginSigner('plugin:vault:transit/keys/release', { env });
    assert.equal(latest.algorithm, 'ecdsa-p256');
    assert.ok(latest.publicKey.verify(await latest.sign(msg), msg));
    const v1 = await openPluginSigner('plugin:vault:transit/keys/release@1', { env });
    assert.notEqual(v1.keyid, latest.keyid, 'version 1 is another key');
    assert.ok(v1.publicKey.verify(await v1.sign(msg), msg));
  });

  it('describes and signs with an Ed25519 key', async () => {
    const s = await openPluginSigner('plugin:vault:transit/keys/edkey', { env });
    assert.equal(s.algorithm, 'ed25519');
    assert.ok(s.publicKey.verify(await s.sign(msg), msg));
  });

  it("passes Vault's refusals on as plugin errors", async () => {
    await assert.rejects(describePluginKey('plugin:vault:transit/keys/release', { env: { ...env, VAULT_TOKEN: 'wrong' } }), (e) => isOcitrustError(e, 'PLUGIN_FAILED') && /PERMISSION_DENIED: .*HTTP 403: permission denied/.test(e.message));
    await assert.rejects(describePluginKey('plugin:vault:transit/keys/nokey', { env }), (e) => isOcitrustError(e, 'PLUGIN_FAILED') && /KEY_NOT_FOUND/.test(e.message));
    await assert.rejects(describePluginKey('plugin:vault:not-a-path', { env }), (e) => isOcitrustError(e, 'PLUGIN_FAILED') && /BAD_KEY_REF/.test(e.message));
  });
});
