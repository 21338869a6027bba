import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { connect } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { canonicalBytes } from '../../lib/crypto/canonical.js';
import { toHex } from '../../lib/crypto/hash.js';
import { CATALOGUE } from '../../lib/errors/index.js';
import { fixedClock } from '../../lib/clock.js';
import type { SeedSigner } from '../../lib/keys/signer.js';
import { Owner, bearer, strangers, testApp, tokenFor, type ServerKeysDoc } from '../helpers/trust-server.js';

/** Signs a hand-made `signed` object (for documents the builders refuse to make). */
function signRaw(signed: Record<string, unknown>, signers: readonly SeedSigner[]): object {
  const bytes = canonicalBytes(signed);
  return { signed, signatures: signers.map((s) => ({ keyid: s.keyid, sig: toHex(s.signSync(bytes)) })) };
}

describe('trust server publish rejections', () => {
  let t: Awaited<ReturnType<typeof testApp>>;
  let app: FastifyInstance;
  let admin: string;
  let n = 0;

  before(async () => {
    t = await testApp();
    app = t.app;
    admin = await tokenFor(app, 'admin', ['**']);
  });
  after(async () => t.close());

  async function create(): Promise<{ name: string; keys: ServerKeysDoc }> {
    const name = `reg.example.com/rej/c${++n}`;
    const r = await app.inject({ method: 'POST', url: '/v1/collections', headers: bearer(admin), payload: { name } });
    assert.equal(r.statusCode, 201, r.body);
    return { name, keys: r.json() };
  }

  const post = (name: string, payload: unknown, headers: Record<string, string> = {}) =>
    app.inject({
      method: 'POST',
      url: `/v1/collections/${name}/metadata`,
      headers: { ...bearer(admin), 'content-type': 'application/json', ...headers },
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    });

  async function expectCode(res: { statusCode: number; json(): any; body: string }, status: number, code: string): Promise<void> {
    assert.equal(res.statusCode, status, res.body);
    assert.equal(res.json().code, code, res.body);
    assert.equal(typeof res.json().message, 'string');
  }

  async function versions(name: string): Promise<unknown> {
    return (await app.inject({ url: `/v1/collections/${name}/keys` })).json().versions;
  }

  /** A collection with root v1 and targets v1 published. */
  async function published(): Promise<{ name: string; owner: Owner }> {
    const { name, keys } = await create();
    const owner = new Owner(name, keys);
    const r = await post(name, await owner.initial());
    assert.equal(r.statusCode, 200, r.body);
    return { name, owner };
  }

  describe('when the collection is new', () => {
    it('PUBLISH_EMPTY for a body with neither root nor targets', async () => {
      const { name } = await create();
      await expectCode(await post(name, {}), 400, 'PUBLISH_EMPTY');
    });

    it('PUBLISH_NEEDS_ROOT for targets alone', async () => {
      const { name, keys } = await create();
      const owner = new Owner(name, keys);
      const { targets } = await owner.initial();
      await expectCode(await post(name, { targets }), 400, 'PUBLISH_NEEDS_ROOT');
    });

    it('PUBLISH_VERSION_GAP for a first root that is not version 1', async () => {
      const { name, keys } = await create();
      const owner = new Owner(name, keys);
      const { targets } = await owner.initial();
      const root = await owner.rotateRoot();
      await expectCode(await post(name, { root, targets }), 400, 'PUBLISH_VERSION_GAP');
    });

    it('PUBLISH_ROOT_SELF_SIGNATURE for root v1 signed by keys it does not list', async () => {
      const { name, keys } = await create();
      const owner = new Owner(name, keys);
      const { root, targets } = await owner.initial();
      const forged = signRaw((root as { signed: Record<string, unknown> }).signed, strangers(1));
      await expectCode(await post(name, { root: forged, targets }), 400, 'PUBLISH_ROOT_SELF_SIGNATURE');
    });

    it('PUBLISH_ROOT_SELF_SIGNATURE when the root threshold is not met', async () => {
      const { name, keys } = await create();
      const owner = new Owner(name, keys, undefined, { rootKeys: 2, rootThreshold: 2 });
      const { root, targets } = await owner.initial();
      const half = signRaw((root as { signed: Record<string, unknown> }).signed, [owner.rootKeys[0]!]);
      await expectCode(await post(name, { root: half, targets }), 400, 'PUBLISH_ROOT_SELF_SIGNATURE');
    });

    it('PUBLISH_SERVER_KEYS_MISSING when root names other snapshot/timestamp keys', async () => {
      const { name } = await create();
      const other = await create();
      const owner = new Owner(name, other.keys);
      await expectCode(await post(name, await owner.initial()), 400, 'PUBLISH_SERVER_KEYS_MISSING');
    });

    it('PUBLISH_EXPIRED for an expired root', async () => {
      const { name, keys } = await create();
      const owner = new Owner(name, keys, fixedClock('2020-01-01T00:00:00Z'));
      await expectCode(await post(name, await owner.initial()), 400, 'PUBLISH_EXPIRED');
    });

    it('PUBLISH_TARGETS_UNTRUSTED for targets v1 signed by a key root does not name', async () => {
      const { name, keys } = await create();
      const owner = new Owner(name, keys);
      const { root, targets } = await owner.initial();
      const forged = signRaw((targets as { signed: Record<string, unknown> }).signed, strangers(1));
      await expectCode(await post(name, { root, targets: forged }), 403, 'PUBLISH_TARGETS_UNTRUSTED');
    });

    it('METADATA_TYPE_MISMATCH for targets sent as root', async () => {
      const { name, keys } = await create();
      const owner = new Owner(name, keys);
      const { targets } = await owner.initial();
      await expectCode(await post(name, { root: targets, targets }), CATALOGUE.METADATA_TYPE_MISMATCH.http, 'METADATA_TYPE_MISMATCH');
    });

    it('publishes nothing after any of these rejections', async () => {
      const { name, keys } = await create();
      const owner = new Owner(name, keys);
      const { root } = await owner.initial();
      await expectCode(await post(name, { root, targets: signRaw({ _type: 'targets' }, owner.targetsKeys) }), 400, 'METADATA_INVALID');
      assert.deepEqual(await versions(name), { root: 0, targets: 0, snapshot: 0, timestamp: 0 });
      await expectCode(await app.inject({ url: `/v1/collections/${name}/1.root.json` }), 404, 'METADATA_NOT_FOUND');
    });
  });

  describe('when root v1 and targets v1 are published', () => {
    it('PUBLISH_VERSION_CONFLICT (409) for targets v1 again, PUBLISH_VERSION_GAP for v3', async () => {
      const { name, owner } = await published();
      await expectCode(await post(name, { targets: owner.targets.toJSON() }), 409, 'PUBLISH_VERSION_CONFLICT');
      await owner.nextTargets();
      const v3 = await owner.nextTargets();
      await expectCode(await post(name, { targets: v3 }), 400, 'PUBLISH_VERSION_GAP');
      assert.deepEqual(await versions(name), { root: 1, targets: 1, snapshot: 1, timestamp: 1 });
    });

    it('PUBLISH_VERSION_CONFLICT for root v1 again', async () => {
      const { name, owner } = await published();
      await expectCode(await post(name, { root: owner.root.toJSON() }), 409, 'PUBLISH_VERSION_CONFLICT');
    });

    it('PUBLISH_ROOT_UNTRUSTED for root v2 signed only by its new keys', async () => {
      const { name, owner } = await published();
      const next = await owner.rotateRoot({ signWith: [] });
      // rotateRoot replaced owner.rootKeys with the new key: sign with it alone.
      const bad = signRaw((next as { signed: Record<string, unknown> }).signed, owner.rootKeys);
      await expectCode(await post(name, { root: bad }), 403, 'PUBLISH_ROOT_UNTRUSTED');
    });

    it('PUBLISH_TARGETS_UNTRUSTED for a root that rotates the targets keys without new targets', async () => {
      const { name, owner } = await published();
      const root = await owner.rotateRoot({ role: 'targets' });
      await expectCode(await post(name, { root }), 403, 'PUBLISH_TARGETS_UNTRUSTED');
      // …and the same root with targets signed by the new key is accepted.
      const targets = await owner.nextTargets();
      const ok = await post(name, { root, targets });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.deepEqual(ok.json().versions, { root: 2, targets: 2, snapshot: 2, timestamp: 2 });
    });

    it('PUBLISH_EXPIRED for expired targets', async () => {
      const { name, owner } = await published();
      const targets = signRaw({ ...owner.targets.signed.toJSON(), version: 2, expires: '2021-01-01T00:00:00Z' }, owner.targetsKeys);
      await expectCode(await post(name, { targets }), 400, 'PUBLISH_EXPIRED');
    });

    it('METADATA_THRESHOLD_INVALID for a delegation with threshold 0 (delegations must be well formed)', async () => {
      const { name, owner } = await published();
      const [k] = strangers(1);
      const signed = {
        ...owner.targets.signed.toJSON(),
        version: 2,
        delegations: { keys: { [k!.keyid]: k!.publicKey.toJSON() }, roles: [{ name: 'alice', keyids: [k!.keyid], threshold: 0, paths: ['*'], terminating: false }] },
      };
      await expectCode(await post(name, { targets: signRaw(signed, owner.targetsKeys) }), 400, 'METADATA_THRESHOLD_INVALID');
    });

    it('CANONICAL_JSON_UNSUPPORTED for a float in signed metadata', async () => {
      const { name, owner } = await published();
      const signed = { ...owner.targets.signed.toJSON(), version: 2, custom: 1.5 };
      await expectCode(await post(name, { targets: { signed, signatures: [] } }), 400, 'CANONICAL_JSON_UNSUPPORTED');
    });

    it('audits every rejection with its code', async () => {
      const { name, owner } = await published();
      await post(name, { targets: owner.targets.toJSON() });
      const r = await app.inject({ url: `/v1/audit?collection=${encodeURIComponent(name)}&outcome=rejected`, headers: bearer(admin) });
      const [entry] = r.json().entries;
      assert.equal(entry.code, 'PUBLISH_VERSION_CONFLICT');
      assert.equal(entry.action, 'publish');
      assert.deepEqual(entry.versions, { targets: 1 });
      assert.equal(entry.source, '127.0.0.1');
    });
  });

  describe('when the request itself is wrong', () => {
    it('COLLECTION_NOT_FOUND for an unknown collection', async () => {
      await expectCode(await post('reg.example.com/nope', { targets: { signed: {}, signatures: [] } }), 404, 'COLLECTION_NOT_FOUND');
      await expectCode(await app.inject({ url: '/v1/collections/reg.example.com/nope/timestamp.json' }), 404, 'COLLECTION_NOT_FOUND');
      await expectCode(await app.inject({ url: '/v1/collections/reg.example.com/nope/3.targets.json' }), 404, 'COLLECTION_NOT_FOUND');
    });

    it('COLLECTION_NAME_INVALID for upper case, empty segments, encoded junk', async () => {
      // (inject() normalizes '.' and '..' segments like any WHATWG URL client; raw traversal is in server-http.test.ts)
      for (const bad of ['Reg.example.com/app', 'reg.example.com//app', 'reg/app%00x', 'reg/app%20x', '-reg/app']) {
        await expectCode(await app.inject({ url: `/v1/collections/${bad}/timestamp.json` }), 400, 'COLLECTION_NAME_INVALID');
      }
      await expectCode(await app.inject({ method: 'POST', url: '/v1/collections', headers: bearer(admin), payload: { name: 'a/../b' } }), 400, 'COLLECTION_NAME_INVALID');
    });

    it('COLLECTION_NAME_INVALID for raw "..", "." and encoded traversal on a real socket (no client normalization)', async () => {
      await app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = app.server.address() as { port: number };
      const raw = (path: string): Promise<string> =>
        new Promise((resolve, reject) => {
          const s = connect({ port, host: '127.0.0.1' }, () => s.end(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
          let out = '';
          s.on('data', (b) => (out += b.toString()));
          s.on('end', () => resolve(out));
          s.on('error', reject);
        });
      for (const p of ['/v1/collections/reg/../etc/timestamp.json', '/v1/collections/reg/./app/1.root.json', '/v1/collections/reg/%2e%2e/app/keys', '/v1/collections/../../x/root.json']) {
        const res = await raw(p);
        assert.match(res, /^HTTP\/1\.1 400 /, `${p}: ${res.slice(0, 80)}`);
        assert.match(res, /"code":"COLLECTION_NAME_INVALID"/, p);
      }
    });

    it('ROUTE_NOT_FOUND for unknown routes and resources', async () => {
      await expectCode(await app.inject({ url: '/nope' }), 404, 'ROUTE_NOT_FOUND');
      await expectCode(await app.inject({ url: '/v1/collections/reg.example.com/app/0.root.json' }), 404, 'ROUTE_NOT_FOUND');
      await expectCode(await app.inject({ url: '/v1/collections/reg.example.com/app/snapshot.json' }), 404, 'ROUTE_NOT_FOUND');
      await expectCode(await app.inject({ method: 'POST', url: '/v1/collections/reg.example.com/app/keys', headers: bearer(admin), payload: {} }), 404, 'ROUTE_NOT_FOUND');
    });

    it('JSON_DUPLICATE_KEY, JSON_MALFORMED, REQUEST_BODY_UNSUPPORTED and REQUEST_INVALID for bad bodies', async () => {
      const { name } = await create();
      await expectCode(await post(name, '{"root": {}, "root": {}}'), 400, 'JSON_DUPLICATE_KEY');
      await expectCode(await post(name, '{"root": '), 400, 'JSON_MALFORMED');
      await expectCode(await post(name, 'x', { 'content-type': 'text/plain' }), 415, 'REQUEST_BODY_UNSUPPORTED');
      await expectCode(await post(name, { extra: 1 }), 400, 'REQUEST_INVALID');
      await expectCode(await post(name, { root: 'not an object' }), 400, 'REQUEST_INVALID');
    });

    it('never answers 500 to arbitrary JSON bodies', async () => {
      const { name } = await create();
      await fc.assert(
        fc.asyncProperty(fc.oneof(fc.json(), fc.record({ root: fc.jsonValue(), targets: fc.jsonValue() }, { requiredKeys: [] }).map((v) => JSON.stringify(v))), async (body) => {
          const r = await post(name, body);
          assert.ok(r.statusCode >= 400 && r.statusCode < 500, `${r.statusCode} ${r.body} for ${body.slice(0, 200)}`);
          assert.equal(typeof r.json().code, 'string');
        }),
        { numRuns: 150 },
      );
    });
  });
});
