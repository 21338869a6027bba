// What webhook delivery promises, tried with real processes and sockets: an event committed
// before a SIGKILL is delivered after the restart with the same id; a receiver that was down
// gets every event, in commit order per collection; two instances on one PostgreSQL deliver
// each event once between them; Slack and chat bodies; secret rotation with two signatures.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../server/main.js';
import { tokenCommand } from '../../server/token-command.js';
import { freshPostgresDatabase, postgresSkipReason, type TestDatabase } from '../helpers/postgres.js';
import { Owner, TEST_SCRYPT, TEST_SECRET, call, spawnServer, tokenFor, type ServerProcess } from '../helpers/trust-server.js';
import { newSecret, startReceiver, verifyDelivery, type Receiver } from '../helpers/webhook-receiver.js';

const FAST = { pollMs: 50, backoffBaseMs: 50, backoffMaxMs: 300, timeoutMs: 2000 };

function inProcess(dataDir: string, extra: Record<string, unknown> = {}): Promise<RunningServer> {
  return startServer({
    dataDir,
    port: 0,
    secret: TEST_SECRET,
    scrypt: TEST_SCRYPT,
    logger: false,
    handleSignals: false,
    registry: false,
    resignIntervalMs: 0,
    auditPruneIntervalMs: 0,
    cacheTtlMs: 0,
    webhooks: FAST,
    ...extra,
  });
}

async function subscribe(url: string, token: string, body: Record<string, unknown>): Promise<string> {
  const r = await call(`${url}/v1/webhooks`, { token, body });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  return r.json.id as string;
}

describe('webhook delivery survives a SIGKILL between commit and delivery', { timeout: 120_000 }, () => {
  const dirs: string[] = [];
  let server: ServerProcess | undefined;
  let receiver: Receiver | undefined;
  after(async () => {
    await server?.stop('SIGKILL');
    await receiver?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('delivers after the restart, nothing lost, duplicates with the same id', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ocitrust-wh-kill-'));
    dirs.push(dataDir);
    // A request may take 3 s; a claim holds 3.5 s, so a dead instance's rows are retried soon after.
    const env = { OCITRUST_DATA_DIR: dataDir, OCITRUST_WEBHOOK_POLL_MS: '50', OCITRUST_WEBHOOK_BACKOFF_BASE_MS: '50', OCITRUST_WEBHOOK_TIMEOUT_MS: '3000', OCITRUST_WEBHOOK_LEASE_MS: '3500' };
    server = await spawnServer(env);
    receiver = await startReceiver([newSecret()]);
    const created = await tokenCommand({ action: 'create', role: 'admin', collections: '**', dataDir });
    const admin = created.action === 'create' ? created.secret : '';
    await subscribe(server.url, admin, { url: receiver.url, secrets: receiver.secrets, events: ['collection.created'] });

    // The receiver takes the first request and never answers: the server dies mid-delivery.
    receiver.mode = 'hang';
    const names = ['a', 'b', 'c'].map((x) => `reg.example.com/kill/${x}`);
    for (const name of names) assert.equal((await call(`${server.url}/v1/collections`, { token: admin, body: { name } })).status, 201);
    await receiver.until((r) => r.length >= 1, 20_000, 'a delivery in flight');
    await server.stop('SIGKILL');
    const before = receiver.ids();

    receiver.mode = 'ok';
    server = await spawnServer(env);
    await receiver.until(
      (r) => new Set(r.map((x) => x.json.subject)).size === 3 && before.every((id) => r.filter((x) => x.id === id).length >= 2),
      30_000,
      'three collection events, the in-flight one again',
    );
    const subjects = receiver.received.map((x) => x.json.subject as string);
    assert.deepEqual([...new Set(subjects)].sort(), names);
    for (const id of before) assert.ok(receiver.received.filter((x) => x.id === id).length >= 2, `the in-flight event ${id} is delivered again after the restart, with the same id`);
    // Each id names one event: every copy of an id has the same body.
    for (const id of receiver.ids()) assert.equal(new Set(receiver.received.filter((x) => x.id === id).map((x) => x.json.subject)).size, 1);
    assert.ok(receiver.received.every((x) => x.verifiedBy.length === 1));
  });
});

describe('a receiver that is down for a while', { timeout: 120_000 }, () => {
  let dir: string;
  let server: RunningServer;
  let receiver: Receiver;
  after(async () => {
    await server?.close();
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gets every event in commit order per collection once it is back', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ocitrust-wh-down-'));
    server = await inProcess(dir);
    receiver = await startReceiver([newSecret()]);
    const admin = await tokenFor(server.app, 'admin', ['**'], 'ops');
    await subscribe(server.url, admin, { url: receiver.url, secrets: receiver.secrets, events: ['targets.published'] });
    await receiver.down();

    const owners: Owner[] = [];
    for (const n of ['x', 'y']) {
      const name = `reg.example.com/down/${n}`;
      const c = await call(`${server.url}/v1/collections`, { token: admin, body: { name } });
      const o = new Owner(name, c.json);
      assert.equal((await call(`${server.url}/v1/collections/${name}/metadata`, { token: admin, body: await o.initial() })).status, 200);
      owners.push(o);
    }
    // Interleaved publishes while the receiver is unreachable (every attempt is refused).
    for (let v = 2; v <= 6; v++) {
      for (const o of owners) assert.equal((await call(`${server.url}/v1/collections/${o.collection}/metadata`, { token: admin, body: { targets: await o.nextTargets() } })).status, 200);
    }
    const pending = await call(`${server.url}/v1/webhooks/deliveries?status=pending`, { token: admin });
    assert.equal(pending.json.deliveries.length, 12);
    await new Promise((r) => setTimeout(r, 600)); // a few failed attempts with backoff
    const failed = await call(`${server.url}/v1/webhooks/deliveries?status=pending`, { token: admin });
    assert.ok(failed.json.deliveries.some((d: { attempts: number; lastError: string | null }) => d.attempts >= 1 && /WEBHOOK_DELIVERY_FAILED/.test(d.lastError ?? '')));

    await receiver.up();
    await receiver.until((r) => new Set(r.map((x) => x.id)).size === 12, 30_000, '12 publish events');
    for (const o of owners) {
      const versions = receiver.received.filter((x) => x.json.subject === o.collection).map((x) => x.json.data.version as number);
      assert.deepEqual([...new Set(versions)], [1, 2, 3, 4, 5, 6], `${o.collection} in commit order`);
    }
  });
});

describe('slack and chat formats, and secret rotation', { timeout: 60_000 }, () => {
  let dir: string;
  let server: RunningServer;
  let receiver: Receiver;
  after(async () => {
    await server?.close();
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends chat bodies, signed, and two signatures during a rotation', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ocitrust-wh-fmt-'));
    server = await inProcess(dir);
    const oldSecret = newSecret();
    const newer = newSecret();
    receiver = await startReceiver([oldSecret, newer]);
    const admin = await tokenFor(server.app, 'admin', ['**'], 'ops');
    const slack = await subscribe(server.url, admin, { url: receiver.url, secrets: [oldSecret], format: 'slack', events: 'collection.created' });
    await subscribe(server.url, admin, { url: receiver.url, secrets: [oldSecret], format: 'chat', events: ['collection.created'] });
    await call(`${server.url}/v1/collections`, { token: admin, body: { name: 'reg.example.com/fmt/one' } });
    await receiver.until((r) => r.length >= 2, 20_000, 'two chat messages');
    const s = receiver.received.find((x) => Array.isArray(x.json.blocks))!;
    assert.match(s.json.text, /Trust collection reg\.example\.com\/fmt\/one created by ops/);
    assert.equal(s.json.blocks[0].type, 'section');
    const c = receiver.received.find((x) => !Array.isArray(x.json.blocks))!;
    assert.equal(c.json.text, c.json.content);
    assert.equal(c.json.event.type, 'dev.ocitrust.collection.created');
    assert.deepEqual([s.verifiedBy, c.verifiedBy], [[0], [0]]);

    // Rotation: the new secret first, the old one still valid while the receiver switches.
    const rot = await call(`${server.url}/v1/webhooks/${slack}/secrets`, { method: 'PUT', token: admin, body: { secrets: [newer, oldSecret] } });
    assert.equal(rot.status, 200, JSON.stringify(rot.json));
    assert.equal(rot.json.secrets, 2);
    const t = await call(`${server.url}/v1/webhooks/${slack}/test`, { method: 'POST', token: admin, body: {} });
    assert.equal(t.status, 202);
    await receiver.until((r) => r.some((x) => x.id === t.json.eventId), 20_000, 'the test event');
    const rotated = receiver.received.find((x) => x.id === t.json.eventId)!;
    assert.equal(rotated.signature.split(' ').length, 2);
    assert.deepEqual(rotated.verifiedBy, [0, 1], 'receivers on the old and on the new secret both verify');
    assert.ok(verifyDelivery(newer, rotated.id, rotated.timestamp, rotated.signature.split(' ')[0]!, rotated.body), 'the first signature is the new secret\'s');
  });
});

describe('two instances on one PostgreSQL', { skip: postgresSkipReason(), timeout: 120_000 }, () => {
  const dirs: string[] = [];
  const servers: RunningServer[] = [];
  let pg: TestDatabase | undefined;
  let receiver: Receiver | undefined;
  after(async () => {
    for (const s of servers) await s.close();
    await receiver?.close();
    await pg?.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('deliver each event once between them', async () => {
    pg = await freshPostgresDatabase();
    for (let i = 0; i < 2; i++) {
      const d = mkdtempSync(join(tmpdir(), 'ocitrust-wh-pg-'));
      dirs.push(d);
      servers.push(await inProcess(d, { database: pg.url, webhooks: { ...FAST, concurrency: 4 } }));
    }
    receiver = await startReceiver([newSecret()]);
    const admin = await tokenFor(servers[0]!.app, 'admin', ['**'], 'ops');
    await subscribe(servers[0]!.url, admin, { url: receiver.url, secrets: receiver.secrets });
    const n = 40;
    await Promise.all(
      Array.from({ length: n }, (_, i) => call(`${servers[i % 2]!.url}/v1/collections`, { token: admin, body: { name: `reg.example.com/pg/c${i}` } }).then((r) => assert.equal(r.status, 201))),
    );
    await receiver.until((r) => new Set(r.map((x) => x.id)).size === n, 60_000, `${n} events`);
    // Every row recorded as delivered (the receiver answers before the row is marked).
    let delivered = 0;
    for (let i = 0; i < 200 && delivered < n; i++) {
      delivered = (await call(`${servers[1]!.url}/v1/webhooks/deliveries?status=delivered&limit=1000`, { token: admin })).json.deliveries.length;
      if (delivered < n) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(delivered, n);
    assert.equal(receiver.received.length, n, 'each event delivered exactly once');
    assert.equal(new Set(receiver.received.map((x) => x.json.subject)).size, n);
  });
});
