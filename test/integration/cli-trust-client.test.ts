// lib/trust-client.ts against a tiny misbehaving HTTP server: every answer becomes either the
// document or a coded error — catalogued server codes kept, everything else an environment
// error (exit 3) — bodies are bounded, redirects are not followed, the token is sent.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TrustServerClient } from '../../lib/trust-client.js';
import { TRUST_SERVER_API_VERSION, TRUST_SERVER_HEADER } from '../../lib/trust-server-id.js';
import { isOcitrustError, type OcitrustError } from '../../lib/errors/index.js';
import { limits } from '../../lib/config.js';
import { PublicKey } from '../../lib/keys/key.js';
import { SeedSigner } from '../../lib/keys/signer.js';
import { randomSecretSeed } from '../../lib/crypto/ed25519.js';

const key = (): unknown => new SeedSigner(randomSecretSeed()).publicKey.toJSON();

describe('TrustServerClient', () => {
  let server: Server;
  let base: string;
  const seen: { url: string; auth?: string; body: string }[] = [];
  let handler: (url: string, res: import('node:http').ServerResponse) => void = () => undefined;
  /** The server plays an ocitrust trust server (its identifying header) unless a test turns it off. */
  let identify = true;

  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        seen.push({ url: req.url ?? '', ...(req.headers.authorization ? { auth: req.headers.authorization } : {}), body });
        if (identify) res.setHeader(TRUST_SERVER_HEADER, TRUST_SERVER_API_VERSION);
        handler(req.url ?? '', res);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const expectCode = async (p: Promise<unknown>, code: string): Promise<OcitrustError> => {
    try {
      await p;
    } catch (e) {
      assert.ok(isOcitrustError(e, code as never), `expected ${code}, got ${String((e as Error).message)} ${(e as OcitrustError).code}`);
      return e as OcitrustError;
    }
    assert.fail(`expected ${code}`);
  };

  it('reads the keys document and sends the bearer token; names are percent-encoded per segment', async () => {
    const snapshot = key();
    const timestamp = key();
    handler = (_u, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ name: 'r.example.com:5000/a', keys: { snapshot, timestamp }, keyids: {}, versions: { root: 0, targets: 0, snapshot: 0, timestamp: 0 } }));
    const c = new TrustServerClient(`${base}/`, { token: 'ocit_secret' });
    const info = await c.collectionInfo('r.example.com:5000/a');
    assert.equal(info.keys.snapshot.keyid, PublicKey.fromJSON(snapshot).keyid);
    assert.deepEqual(info.versions, { root: 0, targets: 0, snapshot: 0, timestamp: 0 });
    assert.equal(seen.at(-1)!.url, '/v1/collections/r.example.com%3A5000/a/keys');
    assert.equal(seen.at(-1)!.auth, 'Bearer ocit_secret');
  });

  it('keeps catalogued server error codes; others are TRUST_SERVER_ERROR (exit 3)', async () => {
    handler = (_u, res) => res.writeHead(409, { 'content-type': 'application/json' }).end('{"code":"PUBLISH_VERSION_CONFLICT","message":"targets version 3 is stale"}');
    const e = await expectCode(new TrustServerClient(base).publish('a/b', { targets: {} }), 'PUBLISH_VERSION_CONFLICT');
    assert.match(e.message, /stale/);
    handler = (_u, res) => res.writeHead(500, { 'content-type': 'application/json' }).end('{"code":"NOT_A_CODE","message":"x"}');
    assert.equal((await expectCode(new TrustServerClient(base).publish('a/b', { targets: {} }), 'TRUST_SERVER_ERROR')).exitCode, 3);
  });

  it('refuses malformed answers: not JSON, wrong shape, bad keys, oversized', async () => {
    handler = (_u, res) => res.writeHead(200).end('<html>');
    await expectCode(new TrustServerClient(base).collectionInfo('a/b'), 'TRUST_SERVER_BAD_RESPONSE');
    handler = (_u, res) => res.writeHead(200).end('{"keys":{"snapshot":1,"timestamp":2},"versions":{"root":0,"targets":0,"snapshot":0,"timestamp":0}}');
    await expectCode(new TrustServerClient(base).collectionInfo('a/b'), 'TRUST_SERVER_BAD_RESPONSE');
    handler = (_u, res) => res.writeHead(200).end('{"collection":"a/b","versions":{"root":-1}}');
    await expectCode(new TrustServerClient(base).publish('a/b', { root: {} }), 'TRUST_SERVER_BAD_RESPONSE');
    handler = (_u, res) => {
      res.writeHead(200);
      res.end(Buffer.alloc(2 * 1024 * 1024, 0x20));
    };
    await expectCode(new TrustServerClient(base).collectionInfo('a/b'), 'TRUST_SERVER_BAD_RESPONSE');
  });

  it('something that is not a trust server (no header, no ocitrust error document) → TRUST_SERVER_NOT_OCITRUST (exit 3)', async () => {
    identify = false;
    try {
      handler = (_u, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>welcome</html>');
      const e = await expectCode(new TrustServerClient(base).collectionInfo('a/b'), 'TRUST_SERVER_NOT_OCITRUST');
      assert.equal(e.exitCode, 3);
      assert.match(e.message, /is not an ocitrust trust server \(GET \/v1\/collections\/a\/b\/keys answered HTTP 200, text\/html: "<html>welcome<\/html>"\)/);
      handler = (_u, res) => res.writeHead(404, { 'content-type': 'text/plain', 'docker-distribution-api-version': 'registry/2.0' }).end('404 page not found');
      await expectCode(new TrustServerClient(base).createCollection('a/b'), 'TRUST_SERVER_NOT_OCITRUST');
      // An older trust server without the header is still recognised by its error document.
      handler = (_u, res) => res.writeHead(404, { 'content-type': 'application/json' }).end('{"code":"COLLECTION_NOT_FOUND","message":"no collection a/b"}');
      await expectCode(new TrustServerClient(base).collectionInfo('a/b'), 'COLLECTION_NOT_FOUND');
    } finally {
      identify = true;
    }
  });

  it('does not follow redirects (the token could leak) and times out on a stalled body', async () => {
    const before = seen.length;
    handler = (_u, res) => res.writeHead(302, { location: `${base}/elsewhere` }).end();
    await expectCode(new TrustServerClient(base, { token: 't' }).collectionInfo('a/b'), 'TRUST_SERVER_ERROR');
    assert.equal(seen.length, before + 1, 'the redirect target was not requested');
    handler = (_u, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"name":');
    };
    const t0 = Date.now();
    await expectCode(new TrustServerClient(base, { limits: limits({ requestTimeoutMs: 300 }) }).collectionInfo('a/b'), 'TRUST_SERVER_TIMEOUT');
    assert.ok(Date.now() - t0 < 5000);
  });

  it('connection refused is TRUST_SERVER_UNREACHABLE', async () => {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    await expectCode(new TrustServerClient(`http://127.0.0.1:${port}`).collectionInfo('a/b'), 'TRUST_SERVER_UNREACHABLE');
  });
});
