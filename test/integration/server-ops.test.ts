// Operations: health, readiness, Prometheus metrics, OpenAPI from the route schemas, structured
// logs with credentials redacted, TLS and mTLS, graceful shutdown that finishes in-flight requests.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { startServer } from '../../server/main.js';
import { Owner, TEST_SCRYPT, TEST_SECRET, bearer, spawnServer, testApp, tokenFor } from '../helpers/trust-server.js';
import { tokenCommand } from '../../server/token-command.js';

const NAME = 'reg.example.com/ops/app';

function opensslMissing(): string | undefined {
  if (spawnSync('openssl', ['version']).status === 0) return undefined;
  if (process.env.CI === 'true') throw new Error('CI=true but openssl is not installed');
  return 'openssl not installed';
}

describe('trust server operations', () => {
  let t: Awaited<ReturnType<typeof testApp>>;
  let app: FastifyInstance;
  const lines: string[] = [];

  before(async () => {
    const stream = new Writable({
      write(chunk, _enc, cb) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        cb();
      },
    });
    t = await testApp({
      logger: { level: 'info', stream, serializers: { req: (r: { method: string; url: string; headers: unknown }) => ({ method: r.method, url: r.url, headers: r.headers }) } },
    });
    app = t.app;
  });
  after(async () => t.close());

  it('answers /healthz and /readyz', async () => {
    assert.deepEqual((await app.inject({ url: '/healthz' })).json(), { status: 'ok' });
    assert.deepEqual((await app.inject({ url: '/readyz' })).json(), { status: 'ready' });
  });

  it('logs structured JSON lines with the Authorization header redacted', async () => {
    const secret = await tokenFor(app, 'admin', ['**']);
    await app.inject({ url: '/v1/audit', headers: bearer(secret) });
    const text = lines.join('\n');
    assert.ok(!text.includes(secret), 'token secret never reaches the log');
    const entries = lines.map((l) => JSON.parse(l) as { msg?: string; req?: { headers?: Record<string, string> }; reqId?: string });
    const incoming = entries.find((e) => e.req?.headers?.authorization !== undefined);
    assert.ok(incoming, 'request line logged with headers');
    assert.equal(incoming.req!.headers!.authorization, '[redacted]');
    assert.ok(entries.every((e) => typeof e.msg === 'string'));
  });

  it('exposes Prometheus metrics by route and status, publishes and audit writes', async () => {
    const admin = await tokenFor(app, 'admin', ['**']);
    const keys = (await app.inject({ method: 'POST', url: '/v1/collections', headers: bearer(admin), payload: { name: NAME } })).json();
    const owner = new Owner(NAME, keys);
    await app.inject({ method: 'POST', url: `/v1/collections/${NAME}/metadata`, headers: bearer(admin), payload: await owner.initial() });
    await app.inject({ method: 'POST', url: `/v1/collections/${NAME}/metadata`, headers: bearer(admin), payload: { targets: owner.targets.toJSON() } });
    for (let i = 0; i < 3; i++) await app.inject({ url: `/v1/collections/${NAME}/timestamp.json` });
    const r = await app.inject({ url: '/metrics' });
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assert.match(r.body, /^ocitrust_http_requests_total\{method="GET",route="\/v1\/collections\/\{name\}\/timestamp\.json",status="200"\} 3$/m);
    assert.match(r.body, /^ocitrust_http_request_duration_seconds_count\{method="GET",route="\/v1\/collections\/\{name\}\/timestamp\.json",status="200"\} 3$/m);
    assert.match(r.body, /^ocitrust_publishes_total\{outcome="ok",code=""\} 1$/m);
    assert.match(r.body, /^ocitrust_publishes_total\{outcome="conflict",code="PUBLISH_VERSION_CONFLICT"\} 1$/m);
    assert.match(r.body, /^ocitrust_audit_entries_total\{outcome="ok"\} \d+$/m);
  });

  it('serves an OpenAPI 3 document generated from every route schema', async () => {
    const doc = (await app.inject({ url: '/openapi.json' })).json();
    assert.match(doc.openapi, /^3\./);
    const paths = [
      '/v1/collections', '/v1/collections/{name}/metadata', '/v1/collections/{name}/timestamp.json', '/v1/collections/{name}/{version}.targets.json',
      '/v1/collections/{name}/{version}.root.json', '/v1/collections/{name}/root.json', '/v1/collections/{name}/{version}.snapshot.json',
      '/v1/collections/{name}/keys', '/v1/tokens', '/v1/tokens/{id}', '/v1/audit', '/healthz', '/readyz', '/metrics',
    ];
    for (const p of paths) {
      assert.ok(doc.paths[p], `documents ${p}: ${Object.keys(doc.paths).join(', ')}`);
      for (const [method, op] of Object.entries(doc.paths[p] as Record<string, { responses?: object }>)) {
        assert.ok(op.responses && Object.keys(op.responses).length > 0, `${method} ${p} documents its responses`);
      }
    }
    assert.ok(doc.paths['/v1/collections/{name}/metadata'].post.requestBody, 'publish body schema');
    assert.ok(!doc.paths['/v1/collections/{*}'], 'the wildcard is expanded into the concrete resources');
    assert.ok(doc.components.schemas.ErrorBody, 'shared error schema');
    assert.ok(!doc.paths['/openapi.json']);
  });

  it('mounts extra plugins with the server context (metrics API for other modules, open routes)', async () => {
    const t2 = await testApp({
      anonymousRead: false,
      allowIps: ['127.0.0.1'],
      plugins: [
        async (a, ctx) => {
          a.post('/admission/validate', { config: { open: true }, schema: { response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } } } } } }, async () => {
            ctx.metrics.verifyOutcome('hook', 'verified');
            return { ok: true };
          });
        },
      ],
    });
    try {
      const r = await t2.app.inject({ method: 'POST', url: '/admission/validate', remoteAddress: '127.0.0.1' });
      assert.equal(r.statusCode, 200, 'open routes skip token authentication');
      const outside = await t2.app.inject({ method: 'POST', url: '/admission/validate', remoteAddress: '10.9.9.9' });
      assert.equal(outside.statusCode, 403, 'but not the allowlist');
      assert.equal(outside.json().code, 'IP_NOT_ALLOWED');
      assert.match((await t2.app.inject({ url: '/metrics' })).body, /^ocitrust_verify_outcomes_total\{source="hook",outcome="verified"\} 1$/m);
    } finally {
      await t2.close();
    }
  });

  it('answers 503 SERVER_NOT_READY from /readyz when the database is gone', async () => {
    const t2 = await testApp();
    try {
      await t2.app.ocitrust.db.close();
      const r = await t2.app.inject({ url: '/readyz' });
      assert.equal(r.statusCode, 503);
      assert.equal(r.json().code, 'SERVER_NOT_READY');
      assert.equal((await t2.app.inject({ url: '/healthz' })).statusCode, 200);
    } finally {
      await t2.close();
    }
  });
});

describe('trust server TLS and mTLS', { skip: opensslMissing() }, () => {
  let dir: string;
  const ssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  /** A certificate signed by the test CA, with the given extensions (modern TLS clients ignore the CN). */
  const issue = (name: string, cn: string, ext: string): void => {
    writeFileSync(join(dir, `${name}.ext`), ext);
    ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
  };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ocitrust-tls-'));
    ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=test-ca');
    issue('server', '127.0.0.1', 'subjectAltName=IP:127.0.0.1\n');
    issue('client', 'ci-robot', 'extendedKeyUsage=clientAuth\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function get(url: string, opts: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {}): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(url, { ...opts }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('serves HTTPS from cert/key files, and with a client CA requires a client certificate', async () => {
    const ca = readFileSync(join(dir, 'ca.pem'));
    const dataDir = join(dir, 'data');

    const tls = await startServer({ dataDir, port: 0, secret: TEST_SECRET, scrypt: TEST_SCRYPT, logger: false, handleSignals: false, registry: false, tlsCert: join(dir, 'server.pem'), tlsKey: join(dir, 'server.key') });
    try {
      assert.match(tls.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      assert.deepEqual(await get(`${tls.url}/healthz`, { ca }), { status: 200, body: '{"status":"ok"}' });
    } finally {
      await tls.close();
    }

    const mtls = await startServer({
      dataDir, port: 0, secret: TEST_SECRET, scrypt: TEST_SCRYPT, logger: false, handleSignals: false, registry: false,
      tlsCert: join(dir, 'server.pem'), tlsKey: join(dir, 'server.key'), clientCa: join(dir, 'ca.pem'),
    });
    try {
      await assert.rejects(get(`${mtls.url}/healthz`, { ca }), 'no client certificate: handshake refused');
      const cert = readFileSync(join(dir, 'client.pem'));
      const key = readFileSync(join(dir, 'client.key'));
      assert.equal((await get(`${mtls.url}/healthz`, { ca, cert, key })).status, 200);
      // A denied write from a certified client records the certificate subject in the audit log.
      const denied = await new Promise<number>((resolve, reject) => {
        const req = httpsRequest(`${mtls.url}/v1/collections`, { method: 'POST', ca, cert, key, headers: { 'content-type': 'application/json' } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end(JSON.stringify({ name: NAME }));
      });
      assert.equal(denied, 401);
      const entries = (await mtls.app.ocitrust.audit.query({ outcome: 'denied' })).entries;
      assert.match(String(entries[0]?.detail), /client certificate CN=ci-robot/);
    } finally {
      await mtls.close();
    }
  });

  it('refuses a client CA without TLS and a key without a certificate (SERVER_CONFIG_INVALID)', async () => {
    await assert.rejects(startServer({ dataDir: join(dir, 'd2'), port: 0, secret: TEST_SECRET, logger: false, handleSignals: false, clientCa: join(dir, 'ca.pem') }), (e: { code?: string }) => e.code === 'SERVER_CONFIG_INVALID');
    await assert.rejects(startServer({ dataDir: join(dir, 'd2'), port: 0, secret: TEST_SECRET, logger: false, handleSignals: false, tlsKey: join(dir, 'server.key') }), (e: { code?: string }) => e.code === 'SERVER_CONFIG_INVALID');
  });
});

describe('trust server graceful shutdown', () => {
  it('finishes an in-flight publish after SIGTERM, then exits 0', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ocitrust-shutdown-'));
    const s = await spawnServer({ OCITRUST_DATA_DIR: dataDir });
    try {
      const created = await tokenCommand({ action: 'create', role: 'admin', collections: '**', dataDir });
      const admin = created.action === 'create' ? created.secret : '';
      const post = (path: string, body: unknown): Promise<{ status: number; json: any }> =>
        fetch(s.url + path, { method: 'POST', headers: { ...bearer(admin), 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, json: await r.json() }));
      const owner = new Owner(NAME, (await post('/v1/collections', { name: NAME })).json);
      const payload = Buffer.from(JSON.stringify(await owner.initial()));

      // Send half the body, stop the server, then send the rest: the request must complete.
      const url = new URL(`${s.url}/v1/collections/${NAME}/metadata`);
      const done = new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest(url, { method: 'POST', headers: { ...bearer(admin), 'content-type': 'application/json', 'content-length': payload.length } }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.write(payload.subarray(0, payload.length >> 1));
        setTimeout(() => {
          s.proc.kill('SIGTERM');
          setTimeout(() => req.end(payload.subarray(payload.length >> 1)), 300);
        }, 200);
      });
      const res = await done;
      assert.equal(res.status, 200, res.body);
      assert.deepEqual(JSON.parse(res.body).versions, { root: 1, targets: 1, snapshot: 1, timestamp: 1 });
      assert.equal(await s.exited(), 0, s.output());
      await assert.rejects(fetch(`${s.url}/healthz`), 'no longer listening');
    } finally {
      await s.stop('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
