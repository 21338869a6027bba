// The proxy plugin's HTTP behaviour on its own fastify app, over real sockets, in front of a
// small recording upstream that can misbehave on purpose: what reaches the upstream (no
// hop-by-hop fields, no ocitrust token, canonical manifest paths), what comes back (digest
// recomputed, lying Docker-Content-Digest replaced, HEAD semantics, Locations rewritten),
// ambiguous paths refused, and every way the upstream or the decider can fail ending closed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { digestOf } from '../../lib/crypto/hash.js';
import { proxyPlugin } from '../../server/proxy/plugin.js';
import type { DecideContext, Decision } from '../../server/proxy/options.js';

const MANIFEST = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${'c'.repeat(64)}`, size: 2 }, layers: [] }));
const DIGEST = digestOf(MANIFEST);
const TOKEN = 'ocit_' + 'y'.repeat(43);

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: number;
}

describe('proxy plugin over HTTP', () => {
  let upstream: Server;
  let upstreamUrl: string;
  let app: FastifyInstance;
  let base: string;
  const seen: Seen[] = [];
  const decisions: DecideContext[] = [];
  let verdict: (c: DecideContext) => Promise<Decision> = async () => ({ allow: true });

  before(async () => {
    upstream = createServer((req, res) => {
      let body = 0;
      req.on('data', (c: Buffer) => (body += c.length));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        const u = req.url!;
        if (u === '/v2/team/app/manifests/v1' || u === `/v2/team/app/manifests/${DIGEST}`) {
          // A lying Docker-Content-Digest: the proxy must compute its own.
          res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'docker-content-digest': `sha256:${'0'.repeat(64)}`, etag: '"e1"', 'content-length': MANIFEST.length });
          res.end(req.method === 'HEAD' ? undefined : MANIFEST);
        } else if (u === `/v2/team/app/manifests/sha256:${'d'.repeat(64)}`) {
          res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end(MANIFEST);
        } else if (u === '/v2/team/app/manifests/huge') {
          res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
          res.end(Buffer.alloc(5 * 1024 * 1024, 0x20));
        } else if (u.startsWith('/v2/team/app/blobs/uploads/')) {
          res.writeHead(202, { location: `${upstreamUrl}/v2/team/app/blobs/uploads/abc?_state=s1`, 'docker-upload-uuid': 'abc', connection: 'close', 'x-hop': 'v' }).end();
        } else if (u === `/v2/team/app/blobs/sha256:${'e'.repeat(64)}`) {
          // Breaks off mid-body: 64 KiB of a declared 1 MiB, then the connection dies.
          res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 1024 * 1024 });
          res.write(Buffer.alloc(64 * 1024, 1), () => res.socket!.destroy());
        } else if (u === '/v2/team/app/manifests/sig') {
          res.writeHead(201, { location: `/v2/team/app/manifests/${DIGEST}` }).end();
        } else {
          res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}');
        }
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    app = Fastify({ logger: false });
    await app.register(proxyPlugin, {
      upstream: upstreamUrl,
      registryName: 'registry.example.com',
      decide: (c) => {
        decisions.push(c);
        return verdict(c);
      },
      canBypass: async (request) => request.headers['x-ocitrust-token'] === TOKEN,
      maxManifestBytes: 1024 * 1024,
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await app.close();
    upstream.closeAllConnections();
    await new Promise<void>((r) => upstream.close(() => r()));
  });

  /** A raw request (fetch would normalise the path). */
  function raw(method: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
    return new Promise((resolve, reject) => {
      const u = new URL(base);
      // Options, not a URL string: a URL would resolve dot segments before sending.
      const r = httpRequest({ host: u.hostname, port: u.port, path, method, headers }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      });
      r.on('error', reject);
      r.end();
    });
  }

  it('serves an allowed manifest with the digest it computed, and asks decide by tag and by digest', async () => {
    verdict = async () => ({ allow: true });
    const r = await fetch(`${base}/v2/team/app/manifests/v1`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json', 'if-none-match': '"e1"' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('docker-content-digest'), DIGEST);
    assert.equal(r.headers.get('etag'), '"e1"');
    assert.deepEqual(new Uint8Array(await r.arrayBuffer()), MANIFEST);
    const d = decisions.at(-1)!;
    assert.deepEqual([d.repository, d.path, d.reference, d.digest, d.mediaType], ['registry.example.com/team/app', 'team/app', 'v1', DIGEST, 'application/vnd.oci.image.manifest.v1+json']);
    assert.equal(seen.at(-1)!.headers['if-none-match'], undefined, 'the proxy needs the bytes: no conditional fetch');
    await fetch(`${base}/v2/team/app/manifests/${DIGEST}`);
    assert.equal(decisions.at(-1)!.reference, DIGEST);
  });

  it('answers HEAD like GET, without a body', async () => {
    const r = await raw('HEAD', '/v2/team/app/manifests/v1');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-length'], String(MANIFEST.length));
    assert.equal(r.headers['docker-content-digest'], DIGEST);
    assert.equal(r.body, '');
    assert.equal(seen.at(-1)!.method, 'GET', 'a HEAD is answered from a GET upstream (the digest needs the bytes)');
  });

  it('refuses with 403 DENIED naming the check; a decider that throws refuses too', async () => {
    verdict = async () => ({ allow: false, code: 'NO_SIGNATURES', reason: 'NO_SIGNATURES: none found' });
    const r = await fetch(`${base}/v2/team/app/manifests/v1`);
    assert.equal(r.status, 403);
    assert.deepEqual(await r.json(), {
      errors: [{ code: 'DENIED', message: `pull of registry.example.com/team/app@${DIGEST} denied: NO_SIGNATURES: none found`, detail: { repository: 'registry.example.com/team/app', digest: DIGEST, code: 'NO_SIGNATURES' } }],
    });
    const head = await raw('HEAD', '/v2/team/app/manifests/v1');
    assert.deepEqual([head.status, head.body], [403, '']);
    verdict = async () => {
      throw new Error('boom');
    };
    const t = await fetch(`${base}/v2/team/app/manifests/v1`);
    assert.equal(t.status, 403);
    assert.match(((await t.json()) as { errors: { message: string }[] }).errors[0]!.message, /could not verify \(internal error\); refusing/);
  });

  it('lets canBypass through without asking decide', async () => {
    verdict = async () => ({ allow: false, reason: 'no' });
    const n = decisions.length;
    const r = await fetch(`${base}/v2/team/app/manifests/v1`, { headers: { 'x-ocitrust-token': TOKEN } });
    assert.equal(r.status, 200);
    assert.equal(decisions.length, n);
    assert.equal(seen.at(-1)!.headers['x-ocitrust-token'], undefined, 'the token never goes upstream');
  });

  it('fails closed when the upstream lies about a digest or sends an oversized manifest', async () => {
    verdict = async () => ({ allow: true });
    const wrong = await fetch(`${base}/v2/team/app/manifests/sha256:${'d'.repeat(64)}`);
    assert.equal(wrong.status, 502);
    assert.match(((await wrong.json()) as { errors: { message: string }[] }).errors[0]!.message, /bytes whose digest is sha256:/);
    const huge = await fetch(`${base}/v2/team/app/manifests/huge`);
    assert.equal(huge.status, 502);
  });

  it('relays upstream errors as they are', async () => {
    const r = await fetch(`${base}/v2/team/app/manifests/missing`);
    assert.equal(r.status, 404);
    assert.equal(((await r.json()) as { errors: { code: string }[] }).errors[0]!.code, 'MANIFEST_UNKNOWN');
  });

  it('refuses paths the upstream could read differently', async () => {
    for (const p of ['/v2/team/../app/manifests/v1', '/v2/team//app/manifests/v1', '/v2/team/app/manifests/v1/../x', '/v2/TEAM/app/manifests/v1', '/v2/team/app/manifests/%ZZ', '/v2/team/app/manifests/v1%00']) {
      const r = await raw('GET', p);
      assert.equal(r.status, 400, p);
      // fastify's router itself refuses a broken percent-encoding (with its own 400 body).
      if (!p.includes('%ZZ')) assert.equal(JSON.parse(r.body).errors[0].code, 'NAME_INVALID', p);
    }
    const n = decisions.length;
    // Percent-encoded separators are decoded before routing: still a manifest read, decided.
    const enc = await raw('GET', '/v2/team%2Fapp/manifests%2Fv1');
    assert.equal(enc.status, 200);
    assert.equal(decisions.length, n + 1);
    assert.equal(seen.at(-1)!.url, '/v2/team/app/manifests/v1', 'the canonical path goes upstream');
  });

  it('streams other requests with hop-by-hop fields dropped both ways and Locations made relative', async () => {
    const r = await raw('POST', '/v2/team/app/blobs/uploads/', { connection: 'keep-alive, x-hop-req', 'x-hop-req': '1', 'proxy-authorization': 'Basic eDp5', authorization: 'Bearer upstream-jwt', 'x-ocitrust-token': TOKEN });
    assert.equal(r.status, 202);
    assert.equal(r.headers.location, '/v2/team/app/blobs/uploads/abc?_state=s1');
    assert.equal(r.headers['docker-upload-uuid'], 'abc');
    const got = seen.at(-1)!;
    assert.equal(got.headers.authorization, 'Bearer upstream-jwt', 'the client\'s upstream credential goes upstream');
    for (const h of ['x-hop-req', 'proxy-authorization', 'x-ocitrust-token']) assert.equal(got.headers[h], undefined, h);
    assert.equal(got.headers.host, new URL(upstreamUrl).host);
  });

  it('drops an Authorization that carried an ocitrust token', async () => {
    await raw('GET', '/v2/team/app/tags/list', { authorization: `Bearer ${TOKEN}` });
    assert.equal(seen.at(-1)!.headers.authorization, undefined);
  });

  it('pipes request bodies upstream', async () => {
    const body = Buffer.alloc(300_000, 7);
    const r = await fetch(`${base}/v2/team/app/blobs/uploads/abc?_state=s1`, { method: 'PATCH', body, headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(r.status, 202);
    assert.equal(seen.at(-1)!.body, body.length);
  });

  it('cuts the client connection when the upstream breaks off a blob, and keeps serving', async () => {
    const got = await new Promise<{ status: number; received: number; error: string | undefined }>((resolve) => {
      const u = new URL(base);
      const r = httpRequest({ host: u.hostname, port: u.port, path: `/v2/team/app/blobs/sha256:${'e'.repeat(64)}` }, (res) => {
        let received = 0;
        res.on('data', (c: Buffer) => (received += c.length));
        res.on('end', () => resolve({ status: res.statusCode!, received, error: undefined }));
        res.on('error', (e) => resolve({ status: res.statusCode!, received, error: e.message }));
      });
      r.on('error', (e) => resolve({ status: 0, received: 0, error: e.message }));
      r.end();
    });
    assert.equal(got.status, 200, 'the status line had gone out');
    assert.ok(got.received < 1024 * 1024, 'a truncated body never looks complete');
    assert.notEqual(got.error, undefined, 'the client sees the connection cut');
    const next = await fetch(`${base}/v2/team/app/manifests/v1`);
    assert.equal(next.status, 200);
  });

  it('answers 502 when the upstream cannot be reached', async () => {
    const dead = Fastify({ logger: false });
    await dead.register(proxyPlugin, { upstream: 'http://127.0.0.1:1', decide: async () => ({ allow: true }) });
    const r = await dead.inject({ url: '/v2/' });
    assert.equal(r.statusCode, 502);
    assert.match(r.json().errors[0].message, /upstream http:\/\/127\.0\.0\.1:1: GET failed/);
    await dead.close();
  });
});
