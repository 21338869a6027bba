import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { Metadata } from '../../lib/metadata/metadata.js';
import { MetaFile } from '../../lib/metadata/meta-file.js';
import { PublicKey } from '../../lib/keys/key.js';
import { Owner, bearer, strangers, testApp, tokenFor, type ServerKeysDoc } from '../helpers/trust-server.js';

const NAME = 'reg.example.com/team/app';
const base = `/v1/collections/${NAME}`;

async function keysOf(app: FastifyInstance, name = NAME): Promise<ServerKeysDoc> {
  const r = await app.inject({ url: `/v1/collections/${name}/keys` });
  assert.equal(r.statusCode, 200, r.body);
  return r.json();
}

describe('trust server publish', () => {
  let t: Awaited<ReturnType<typeof testApp>>;
  let app: FastifyInstance;
  let admin: string;
  let publisher: string;

  before(async () => {
    t = await testApp();
    app = t.app;
    admin = await tokenFor(app, 'admin', ['reg.example.com/**'], 'alice-admin');
    publisher = await tokenFor(app, 'publisher', ['reg.example.com/team/*'], 'ci-publisher');
  });
  after(async () => t.close());

  const publish = (body: object, token = admin, name = NAME) =>
    app.inject({ method: 'POST', url: `/v1/collections/${name}/metadata`, headers: bearer(token), payload: body });

  describe('when the collection is created and root v1 + targets v1 are published', () => {
    let owner: Owner;

    it('creates the collection with server keys', async () => {
      const r = await app.inject({ method: 'POST', url: '/v1/collections', headers: bearer(admin), payload: { name: NAME } });
      assert.equal(r.statusCode, 201, r.body);
      const body = r.json();
      assert.equal(body.name, NAME);
      assert.deepEqual(body.versions, { root: 0, targets: 0, snapshot: 0, timestamp: 0 });
      assert.equal(PublicKey.fromJSON(body.keys.snapshot).keyid, body.keyids.snapshot);
      assert.notEqual(body.keyids.snapshot, body.keyids.timestamp);
      const again = await app.inject({ method: 'POST', url: '/v1/collections', headers: bearer(admin), payload: { name: NAME } });
      assert.equal(again.statusCode, 409);
      assert.equal(again.json().code, 'COLLECTION_EXISTS');
      const [entry] = (await app.ocitrust.audit.query({ collection: NAME, outcome: 'rejected' })).entries;
      assert.equal(entry?.action, 'collection.create');
      assert.equal(entry?.code, 'COLLECTION_EXISTS');
    });

    it('serves 404 METADATA_NOT_FOUND before the first publish', async () => {
      const r = await app.inject({ url: `${base}/timestamp.json` });
      assert.equal(r.statusCode, 404);
      assert.equal(r.json().code, 'METADATA_NOT_FOUND');
    });

    it('publishes root v1 and targets v1 and signs snapshot 1 and timestamp 1', async () => {
      owner = new Owner(NAME, await keysOf(app));
      const r = await publish(await owner.initial());
      assert.equal(r.statusCode, 200, r.body);
      assert.deepEqual(r.json(), { collection: NAME, versions: { root: 1, targets: 1, snapshot: 1, timestamp: 1 } });
    });

    it('serves a timestamp signed by the server key that names the served snapshot, which names the served targets', async () => {
      const keys = await keysOf(app);
      const root = Metadata.fromBytes('root', (await app.inject({ url: `${base}/1.root.json` })).rawPayload);
      const tsRes = await app.inject({ url: `${base}/timestamp.json` });
      assert.equal(tsRes.statusCode, 200);
      assert.match(String(tsRes.headers['cache-control']), /max-age=\d+/);
      const ts = Metadata.fromBytes('timestamp', tsRes.rawPayload);
      root.verifyDelegate('timestamp', ts);
      assert.ok(ts.signatures.has(keys.keyids.timestamp));
      const snapRes = await app.inject({ url: `${base}/${ts.signed.snapshotMeta.version}.snapshot.json` });
      assert.equal(snapRes.headers['cache-control'], 'public, max-age=31536000, immutable');
      ts.signed.snapshotMeta.verify(snapRes.rawPayload, 'snapshot');
      const snap = Metadata.fromBytes('snapshot', snapRes.rawPayload);
      root.verifyDelegate('snapshot', snap);
      const targetsRes = await app.inject({ url: `${base}/1.targets.json` });
      (snap.signed.targetsMeta as MetaFile).verify(targetsRes.rawPayload, 'targets');
      root.verifyDelegate('targets', Metadata.fromBytes('targets', targetsRes.rawPayload));
    });

    it('answers 304 to If-None-Match with the ETag', async () => {
      const first = await app.inject({ url: `${base}/1.targets.json` });
      const etag = String(first.headers.etag);
      assert.match(etag, /^"[0-9a-f]{32}"$/);
      const second = await app.inject({ url: `${base}/1.targets.json`, headers: { 'if-none-match': etag } });
      assert.equal(second.statusCode, 304);
      assert.equal(second.body, '');
      const root = await app.inject({ url: `${base}/root.json` });
      assert.equal(root.statusCode, 200);
      assert.equal(root.headers['cache-control'], 'no-cache');
      assert.deepEqual(root.rawPayload, (await app.inject({ url: `${base}/1.root.json` })).rawPayload);
    });

    it('publishes targets v2 with a publisher token and bumps snapshot and timestamp', async () => {
      const [alice] = strangers(1);
      const r = await publish(
        { targets: await owner.nextTargets((t) => t.withDelegation({ name: 'alice', keys: [alice!.publicKey], paths: [`${NAME}*`] })) },
        publisher,
      );
      assert.equal(r.statusCode, 200, r.body);
      assert.deepEqual(r.json().versions, { root: 1, targets: 2, snapshot: 2, timestamp: 2 });
      const targets = Metadata.fromBytes('targets', (await app.inject({ url: `${base}/2.targets.json` })).rawPayload);
      assert.deepEqual(targets.signed.delegations?.roles.map((x) => x.name), ['alice']);
    });

    it('rotates root (v2 signed by old and new keys) with an admin token', async () => {
      const r = await publish({ root: await owner.rotateRoot() });
      assert.equal(r.statusCode, 200, r.body);
      assert.deepEqual(r.json().versions, { root: 2, targets: 2, snapshot: 3, timestamp: 3 });
      const latest = Metadata.fromBytes('root', (await app.inject({ url: `${base}/root.json` })).rawPayload);
      assert.equal(latest.signed.version, 2);
    });

    it('records every publish in the audit log with versions', async () => {
      const r = await app.inject({ url: `/v1/audit?collection=${encodeURIComponent(NAME)}&outcome=ok`, headers: bearer(admin) });
      assert.equal(r.statusCode, 200, r.body);
      const entries = r.json().entries as { action: string; versions: Record<string, number> | null; actor: string }[];
      const publishes = entries.filter((e) => e.action === 'publish');
      assert.equal(publishes.length, 3);
      assert.deepEqual(publishes[0]!.versions, { root: 2, targets: 2, snapshot: 3, timestamp: 3 });
      assert.equal(publishes[1]!.actor, 'ci-publisher');
      assert.ok(entries.some((e) => e.action === 'collection.create'));
    });
  });
});
