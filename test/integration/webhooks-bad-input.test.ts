// Webhook subscriptions and deliveries under bad input: invalid URLs, private and loopback
// addresses (SSRF), unknown events, bad secrets → coded 4xx errors; unreachable receivers,
// receivers that hang, answer 500 or redirect → bounded retries, then the dead-letter list,
// and `redeliver` — while the API keeps answering.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../server/main.js';
import { CliSession } from '../helpers/cli.js';
import { TEST_SCRYPT, TEST_SECRET, bearer, call, testApp, tokenFor } from '../helpers/trust-server.js';
import { newSecret, startReceiver, type Receiver } from '../helpers/webhook-receiver.js';

// A retry window of 1.5 s: failing deliveries are parked quickly.
const FAST = { pollMs: 50, backoffBaseMs: 50, backoffMaxMs: 200, timeoutMs: 500, maxAgeMs: 1500, leaseMs: 1000, concurrency: 2 };

describe('webhook subscriptions refuse bad input with coded errors', () => {
  let server: RunningServer;
  let dir: string;
  let admin: string;
  let s: CliSession;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ocitrust-wh-bad-'));
    server = await startServer({ dataDir: dir, port: 0, secret: TEST_SECRET, scrypt: TEST_SCRYPT, logger: false, handleSignals: false, registry: false, resignIntervalMs: 0, auditPruneIntervalMs: 0, webhooks: FAST });
    admin = await tokenFor(server.app, 'admin', ['**'], 'ops');
    s = new CliSession({ server: server.url, token: admin });
  });
  after(async () => {
    await server.close();
    s.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const add = (body: Record<string, unknown>, token = admin) => call(`${server.url}/v1/webhooks`, { token, body: { secrets: [newSecret()], ...body } });

  it('answers 400 with a code for invalid URLs, private addresses, unknown events and bad secrets', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ url: 'not a url' }, 'WEBHOOK_URL_INVALID'],
      [{ url: 'ftp://127.0.0.1/x' }, 'WEBHOOK_URL_INVALID'],
      [{ url: 'http://user:pw@127.0.0.1/x' }, 'WEBHOOK_URL_INVALID'],
      [{ url: `http://127.0.0.1/${'a'.repeat(3000)}` }, 'WEBHOOK_URL_INVALID'],
      [{ url: 'http://10.1.2.3/hook' }, 'WEBHOOK_ADDRESS_REFUSED'],
      [{ url: 'http://169.254.169.254/latest/meta-data/' }, 'WEBHOOK_ADDRESS_REFUSED'],
      [{ url: 'http://[fd00::1]/hook' }, 'WEBHOOK_ADDRESS_REFUSED'],
      [{ url: 'http://[::ffff:192.168.1.1]/hook' }, 'WEBHOOK_ADDRESS_REFUSED'],
      [{ url: 'http://0.0.0.0/hook' }, 'WEBHOOK_ADDRESS_REFUSED'],
      [{ url: 'http://127.0.0.1:9/hook', events: ['signer.addd'] }, 'WEBHOOK_EVENTS_INVALID'],
      [{ url: 'http://127.0.0.1:9/hook', events: ['webhook.test'] }, 'WEBHOOK_EVENTS_INVALID'],
      [{ url: 'http://127.0.0.1:9/hook', secrets: ['hunter2'] }, 'WEBHOOK_SECRET_INVALID'],
      [{ url: 'http://127.0.0.1:9/hook', secrets: ['whsec_c2hvcnQ='] }, 'WEBHOOK_SECRET_INVALID'],
      [{ url: 'http://127.0.0.1:9/hook', collections: ['Bad Pattern'] }, 'TOKEN_PATTERN_INVALID'],
      [{ url: 'http://127.0.0.1:9/hook', format: 'teams' }, 'REQUEST_INVALID'],
    ];
    for (const [body, code] of cases) {
      const r = await add(body);
      assert.equal(r.status, 400, `${JSON.stringify(body).slice(0, 80)}: ${JSON.stringify(r.json)}`);
      assert.equal(r.json.code, code, JSON.stringify(body).slice(0, 80));
    }
    assert.equal((await call(`${server.url}/v1/webhooks`, { token: admin })).json.subscriptions.length, 0);
  });

  it('needs an admin token on every collection', async () => {
    const team = await tokenFor(server.app, 'admin', ['reg.example.com/team/*'], 'team-admin');
    const pub = await tokenFor(server.app, 'publisher', ['**'], 'ci');
    assert.equal((await add({ url: 'http://127.0.0.1:9/hook' }, team)).json.code, 'PERMISSION_DENIED');
    assert.equal((await add({ url: 'http://127.0.0.1:9/hook' }, pub)).json.code, 'PERMISSION_DENIED');
    assert.equal((await fetch(`${server.url}/v1/webhooks`)).status, 401);
    assert.equal((await call(`${server.url}/v1/webhooks/whk_0000000000000000`, { method: 'DELETE', token: admin })).json.code, 'WEBHOOK_NOT_FOUND');
  });

  it('exits 2 with the code from the CLI', async () => {
    writeFileSync(join(dir, 'bad.secret'), 'not-a-secret\n');
    const bad = await s.run(['server', 'webhook', 'add', '--url', 'http://127.0.0.1:9/hook', '--secret-file', join(dir, 'bad.secret')]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /WEBHOOK_SECRET_INVALID/);
    writeFileSync(join(dir, 'good.secret'), newSecret() + '\n');
    const priv = await s.run(['server', 'webhook', 'add', '--url', 'http://192.168.0.10/hook', '--secret-file', join(dir, 'good.secret')]);
    assert.equal(priv.code, 2);
    assert.match(priv.stderr, /WEBHOOK_ADDRESS_REFUSED/);
    const usage = await s.run(['server', 'webhook', 'remove', 'nope']);
    assert.equal(usage.code, 2);
    assert.doesNotMatch(bad.stderr + priv.stderr + usage.stderr, /\n\s+at /, 'no stack traces');
  });
});

describe('loopback receivers and --webhook-allow-private', () => {
  it('refuses loopback unless the server listens only on loopback or private addresses are allowed', async () => {
    // Not listening at all (an embedded app): loopback is not known to be private to this host.
    const t = await testApp();
    try {
      const admin = await tokenFor(t.app, 'admin', ['**']);
      const r = await t.app.inject({ method: 'POST', url: '/v1/webhooks', headers: bearer(admin), payload: { url: 'http://127.0.0.1:9/hook', secrets: [newSecret()] } });
      assert.equal(r.statusCode, 400);
      assert.equal(r.json().code, 'WEBHOOK_ADDRESS_REFUSED');
      const name = await t.app.inject({ method: 'POST', url: '/v1/webhooks', headers: bearer(admin), payload: { url: 'http://localhost:9/hook', secrets: [newSecret()] } });
      assert.equal(name.json().code, 'WEBHOOK_ADDRESS_REFUSED', 'names are resolved and checked too');
    } finally {
      await t.close();
    }
    const allowed = await testApp({ webhooks: { allowPrivate: true } });
    try {
      const admin = await tokenFor(allowed.app, 'admin', ['**']);
      const r = await allowed.app.inject({ method: 'POST', url: '/v1/webhooks', headers: bearer(admin), payload: { url: 'http://10.1.2.3/hook', secrets: [newSecret()] } });
      assert.equal(r.statusCode, 201, r.body);
    } finally {
      await allowed.close();
    }
  });
});

describe('failing receivers: bounded retries, dead letters, redeliver, an API that keeps answering', { timeout: 120_000 }, () => {
  let server: RunningServer;
  let dir: string;
  let admin: string;
  let receiver: Receiver;
  let hang: Server;
  let hangUrl: string;
  let open = 0;
  let maxOpen = 0;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ocitrust-wh-fail-'));
    server = await startServer({ dataDir: dir, port: 0, secret: TEST_SECRET, scrypt: TEST_SCRYPT, logger: false, handleSignals: false, registry: false, resignIntervalMs: 0, auditPruneIntervalMs: 0, webhooks: FAST });
    admin = await tokenFor(server.app, 'admin', ['**'], 'ops');
    receiver = await startReceiver([newSecret()]);
    // Accepts connections and never answers; counts how many are open at once.
    hang = createServer(() => undefined);
    hang.on('connection', (sock) => {
      open++;
      maxOpen = Math.max(maxOpen, open);
      sock.on('close', () => open--);
    });
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
    hangUrl = `http://127.0.0.1:${(hang.address() as AddressInfo).port}/hook`;
  });
  after(async () => {
    await server.close();
    await receiver.close();
    hang.closeAllConnections();
    await new Promise<void>((r) => hang.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  const sub = async (url: string, events: string[]): Promise<string> => {
    const r = await call(`${server.url}/v1/webhooks`, { token: admin, body: { url, events, secrets: receiver.secrets } });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    return r.json.id;
  };
  const deliveries = async (id: string, status?: string) =>
    (await call(`${server.url}/v1/webhooks/deliveries?subscription=${id}${status ? `&status=${status}` : ''}`, { token: admin })).json.deliveries as { id: number; eventId: string; status: string; attempts: number; lastStatus: number | null; lastError: string | null }[];
  const waitDead = async (id: string, n: number): Promise<void> => {
    for (let i = 0; i < 400 && (await deliveries(id, 'dead')).length < n; i++) await new Promise((r) => setTimeout(r, 50));
  };

  it('parks deliveries to an unreachable URL after the retry window and resends them with redeliver', async () => {
    await receiver.down();
    const id = await sub(receiver.url, ['collection.created']);
    assert.equal((await call(`${server.url}/v1/collections`, { token: admin, body: { name: 'reg.example.com/fail/unreachable' } })).status, 201);
    await waitDead(id, 1);
    const [d] = await deliveries(id, 'dead');
    assert.ok(d, 'parked');
    assert.ok(d.attempts >= 2, `retried (${d.attempts} attempts)`);
    assert.match(d.lastError ?? '', /^WEBHOOK_DELIVERY_FAILED: /);
    await receiver.up();
    const s = new CliSession({ server: server.url, token: admin });
    try {
      const dead = await s.run(['-o', 'json', 'server', 'webhook', 'deliveries', '--dead', '--subscription', id]);
      assert.equal(dead.code, 0, dead.stderr);
      assert.deepEqual(JSON.parse(dead.stdout).deliveries.map((x: { id: number }) => x.id), [d.id]);
      const re = await s.run(['server', 'webhook', 'redeliver', String(d.id)]);
      assert.equal(re.code, 0, re.stderr);
      await receiver.until((r) => r.some((x) => x.id === d.eventId), 20_000, 'the redelivered event');
      const again = await s.run(['server', 'webhook', 'redeliver', String(d.id)]);
      assert.equal(again.code, 2, 'a delivered row is no longer dead');
      assert.match(again.stderr, /WEBHOOK_NOT_FOUND/);
    } finally {
      s.cleanup();
    }
    assert.equal((await deliveries(id, 'delivered'))[0]?.eventId, d.eventId);
  });

  it('retries a receiver answering 500 and never follows a redirect', async () => {
    receiver.mode = 'error';
    const id500 = await sub(receiver.url, ['collection.created']);
    await call(`${server.url}/v1/collections`, { token: admin, body: { name: 'reg.example.com/fail/five-hundred' } });
    await waitDead(id500, 1);
    const [d500] = await deliveries(id500, 'dead');
    assert.equal(d500?.lastStatus, 500);
    assert.ok(receiver.received.filter((x) => x.id === d500!.eventId).length >= 2, 'the receiver saw the retries, same id');
    await call(`${server.url}/v1/webhooks/${id500}`, { method: 'DELETE', token: admin });

    receiver.mode = 'redirect';
    const idRedirect = await sub(receiver.url, ['collection.created']);
    await call(`${server.url}/v1/collections`, { token: admin, body: { name: 'reg.example.com/fail/redirect' } });
    await waitDead(idRedirect, 1);
    const [dr] = await deliveries(idRedirect, 'dead');
    assert.equal(dr?.lastStatus, 307);
    assert.match(dr?.lastError ?? '', /redirect .* not followed/);
    await call(`${server.url}/v1/webhooks/${idRedirect}`, { method: 'DELETE', token: admin });
    receiver.mode = 'ok';
  });

  it('keeps at most `concurrency` requests open to hanging receivers and the API answering', async () => {
    const id = await sub(hangUrl, ['collection.created']);
    // Ten collections: ten hanging deliveries; two at a time, each cut at the 500 ms timeout.
    for (let i = 0; i < 10; i++) assert.equal((await call(`${server.url}/v1/collections`, { token: admin, body: { name: `reg.example.com/fail/hang${i}` } })).status, 201);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    await waitDead(id, 10);
    const dead = await deliveries(id, 'dead');
    assert.equal(dead.length, 10);
    assert.ok(dead.every((d) => /no answer within 500 ms/.test(d.lastError ?? '')), dead.map((d) => d.lastError).join('; '));
    assert.ok(maxOpen >= 1 && maxOpen <= 2, `at most 2 requests in flight (saw ${maxOpen})`);
  });
});
