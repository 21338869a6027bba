import { describe, it, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { fixedClock, type Clock } from '../../../lib/clock.js';
import { limits } from '../../../lib/config.js';
import { OcitrustError } from '../../../lib/errors/index.js';
import { MetaFile } from '../../../lib/metadata/meta-file.js';
import { bumpVersion } from '../../../lib/metadata/builders.js';
import { REFRESH_RECORD_INTERVAL_SECONDS, Updater, type UpdaterOptions } from '../../../lib/tuf/updater.js';
import { MemoryTrustCache } from '../../../lib/tuf/store.js';
import { metadataFileName, type MetadataFile, type MetadataSource } from '../../../lib/tuf/source.js';
import { TEST_TIME, buildCollection, freshSigners, signMetadata, toBytes, type TestCollection } from '../../helpers/collection.js';

const clock = fixedClock(TEST_TIME);
const at = (iso: string): Clock => fixedClock(iso);

async function rejectsCode(p: Promise<unknown>, code: string): Promise<OcitrustError> {
  let err: OcitrustError | undefined;
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof OcitrustError, `expected OcitrustError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    err = e;
    return true;
  });
  return err!;
}

/** Wraps a source: records requests, and can be switched to fail like an unreachable server. */
class ProbeSource implements MetadataSource {
  readonly description = 'probe';
  requests: string[] = [];
  down = false;
  constructor(private readonly inner: MetadataSource) {}
  async fetch(file: MetadataFile, maxBytes: number): Promise<Uint8Array | null> {
    this.requests.push(metadataFileName(file));
    if (this.down) throw new OcitrustError('TUF_SOURCE_UNREACHABLE', 'connect ECONNREFUSED 127.0.0.1:1');
    return this.inner.fetch(file, maxBytes);
  }
}

let c: TestCollection;
let cache: MemoryTrustCache;
let source: ProbeSource;
const updater = (o: Partial<UpdaterOptions> = {}): Updater =>
  new Updater({ collection: c.collection, trustedRoot: c.rootBytes(1), source, cache, clock, ...o });

beforeEach(async () => {
  c = await buildCollection({ collection: 'reg.example/app', signers: [{ name: 'alice' }, { name: 'bob', keys: 2, threshold: 2 }] });
  cache = new MemoryTrustCache();
  source = new ProbeSource(c.source());
});

describe('Updater#refresh', () => {
  describe('when the source is consistent', () => {
    it('returns the trusted view and versions, and persists the trusted metadata', async () => {
      const r = await updater().refresh();
      assert.deepEqual(r.versions, { root: 1, timestamp: 1, snapshot: 1, targets: 1 });
      assert.equal(r.fromCache, false);
      assert.deepEqual(r.trusted.roles.map((x) => x.name), ['alice', 'bob']);
      assert.equal(r.trusted.collection, 'reg.example/app');
      assert.deepEqual(source.requests, ['2.root.json', 'timestamp.json', '1.snapshot.json', '1.targets.json']);
      const saved = await cache.read({ server: 'probe', collection: c.collection });
      assert.deepEqual(saved!.targets, c.file('1.targets.json'));
      assert.equal(saved!.refreshedAt, TEST_TIME);
    });

    it('reuses cached snapshot and targets while the timestamp names them', async () => {
      await updater().refresh();
      source.requests = [];
      await c.publishTimestamp();
      const r = await updater().refresh();
      assert.equal(r.versions.timestamp, 2);
      assert.deepEqual(source.requests, ['2.root.json', 'timestamp.json']);
    });

    it('an unchanged state refreshed again within REFRESH_RECORD_INTERVAL_SECONDS is not written again; later, or changed, it is', async () => {
      const writes: string[] = [];
      const counting = new (class extends MemoryTrustCache {
        override async write(key: Parameters<MemoryTrustCache['write']>[0], trust: Parameters<MemoryTrustCache['write']>[1]): Promise<void> {
          writes.push(trust.refreshedAt);
          return super.write(key, trust);
        }
      })();
      const run = (iso: string) => updater({ cache: counting, clock: at(iso) }).refresh();
      await run('2026-01-15T12:00:00Z');
      const again = await run('2026-01-15T12:00:59Z');
      // The refresh itself happened (the source was asked) and says when; only the write is saved.
      assert.equal(again.fromCache, false);
      assert.equal(again.refreshedAt.toISOString(), '2026-01-15T12:00:59.000Z');
      assert.deepEqual(writes, ['2026-01-15T12:00:00Z']);
      await run('2026-01-15T12:01:00Z');
      assert.deepEqual(writes, ['2026-01-15T12:00:00Z', '2026-01-15T12:01:00Z'], 'REFRESH_RECORD_INTERVAL_SECONDS later the refresh time is recorded');
      await c.publishTimestamp();
      await run('2026-01-15T12:01:01Z');
      assert.equal(writes.length, 3, 'a new timestamp is written at once');
      assert.equal((await counting.read({ server: 'probe', collection: c.collection }))!.refreshedAt, '2026-01-15T12:01:01Z');
      // A clock that went backwards never counts as recent.
      await run('2026-01-15T12:00:30Z');
      assert.equal(writes.length, 4);
      assert.equal(REFRESH_RECORD_INTERVAL_SECONDS, 60);
    });

    it('a removed signer disappears from the trust view', async () => {
      assert.ok((await updater().refresh()).trusted.roles.some((r) => r.name === 'bob'));
      const bobKeys = c.signers.get('bob')!.map((s) => s.keyid);
      await c.removeSigner('bob');
      const r = await updater().refresh();
      assert.deepEqual(r.trusted.roles.map((x) => x.name), ['alice']);
      for (const k of bobKeys) assert.ok(!r.trusted.keys.has(k));
      assert.equal(r.trusted.version, 2);
    });

    it('revocations appear in the trust view', async () => {
      await c.revoke({ digest: `sha256:${'b'.repeat(64)}`, reason: 'compromised build' });
      const r = await updater().refresh();
      assert.deepEqual(r.trusted.revocations.map((x) => x.digest), [`sha256:${'b'.repeat(64)}`]);
    });
  });

  describe('root rotation (5.3)', () => {
    it('walks the chain from the pinned root and starts from the cached root next time', async () => {
      await c.rotateRoot();
      await c.rotateRoot({ newKeys: 2, threshold: 2 });
      source.requests = [];
      const r = await updater().refresh();
      assert.equal(r.versions.root, 3);
      // The timestamp asked for alongside the first probe is not used once the root changed:
      // 5.4 reads it again after the walk, under the final root.
      assert.deepEqual(source.requests.slice(0, 5), ['2.root.json', 'timestamp.json', '3.root.json', '4.root.json', 'timestamp.json']);
      source.requests = [];
      await updater().refresh();
      assert.equal(source.requests[0], '4.root.json', 'the cached root v3 is the starting point');
    });

    it('rotation without the old threshold → TUF_ROOT_ROTATION_INVALID', async () => {
      const [n] = freshSigners(1);
      await c.rotateRoot({ newKeys: [n!], signWith: [n!] }); // the old root key did not sign
      await rejectsCode(updater().refresh(), 'TUF_ROOT_ROTATION_INVALID');
    });

    it('more rotations than limits.maxRootRotations → TUF_ROOT_CHAIN_TOO_LONG', async () => {
      await c.rotateRoot();
      await c.rotateRoot();
      await rejectsCode(updater({ limits: limits({ maxRootRotations: 1 }) }).refresh(), 'TUF_ROOT_CHAIN_TOO_LONG');
      const r = await updater({ limits: limits({ maxRootRotations: 2 }) }).refresh();
      assert.equal(r.versions.root, 3);
    });

    it('after the snapshot key is rotated, a fast-forwarded cached timestamp is dropped (5.3.11)', async () => {
      // An attacker holding the snapshot key published snapshot v1000, and the client trusted it.
      const ff = await signMetadata(c.snapshot.signed.withVersion(1000, c.snapshot.signed.expires), c.keys.snapshot);
      c.put('1000.snapshot.json', ff.toBytes());
      const ts = await signMetadata(bumpVersion(c.timestamp.signed.withSnapshotMeta(MetaFile.forBytes(1000, ff.toBytes())), { clock }), c.keys.timestamp);
      c.put('timestamp.json', ts.toBytes());
      assert.equal((await updater().refresh()).versions.snapshot, 1000);
      // Recovery: new snapshot key in root, fresh snapshot v2 and timestamp.
      await c.rotateRoot({ role: 'snapshot' });
      await c.publishSnapshot();
      const r = await updater().refresh();
      assert.equal(r.versions.snapshot, 2);
      assert.equal(r.versions.root, 2);
    });
  });

  describe('rollback protection across runs (persisted state)', () => {
    it('timestamp rolled back to an older version → TUF_ROLLBACK', async () => {
      const old = new Map(c.files);
      await c.publishTargets();
      await updater().refresh();
      c.files.clear();
      for (const [k, v] of old) c.files.set(k, v);
      await rejectsCode(updater().refresh(), 'TUF_ROLLBACK');
    });

    it('snapshot rolled back behind a replayed-but-newer timestamp → TUF_ROLLBACK', async () => {
      await c.publishTargets(); // targets v2 in snapshot v2
      await updater().refresh();
      // timestamp v3 (validly signed) naming a new snapshot v3 that lists targets v1 again
      const snap = await signMetadata(bumpVersion(c.snapshot.signed.withTargetsMeta(MetaFile.forBytes(1, c.file('1.targets.json'))), { clock }), c.keys.snapshot);
      c.put('3.snapshot.json', snap.toBytes());
      const ts = await signMetadata(bumpVersion(c.timestamp.signed.withSnapshotMeta(MetaFile.forBytes(3, snap.toBytes())), { clock }), c.keys.timestamp);
      c.put('timestamp.json', ts.toBytes());
      await rejectsCode(updater().refresh(), 'TUF_ROLLBACK');
    });

    it('a refresh that fails half-way leaves the cached state as it was', async () => {
      await updater().refresh();
      const before = await cache.read({ server: 'probe', collection: c.collection });
      await c.rotateRoot();
      await c.publishTargets();
      c.files.delete('2.targets.json');
      await rejectsCode(updater().refresh(), 'TUF_METADATA_MISSING');
      assert.deepEqual(await cache.read({ server: 'probe', collection: c.collection }), before);
    });

    it('a pin with other keys than the trusted chain → TRUST_PIN_MISMATCH naming both fingerprints; the state is kept, never reset', async () => {
      const other = await buildCollection({ collection: c.collection });
      await updater().refresh();
      const before = await cache.read({ server: 'probe', collection: c.collection });
      const e = await rejectsCode(updater({ trustedRoot: other.rootBytes() }).refresh(), 'TRUST_PIN_MISMATCH');
      assert.equal(e.exitCode, 2);
      assert.match(e.message, /keys sha256:[0-9a-f]{64}\b.*keys sha256:[0-9a-f]{64}\b/);
      assert.notEqual(e.details?.pinned, e.details?.trusted);
      assert.deepEqual(await cache.read({ server: 'probe', collection: c.collection }), before);
    });

    it('the same root as other bytes (pretty-printed) finds the same state: a rolled-back timestamp is still refused', async () => {
      const old = new Map(c.files);
      await c.publishTimestamp();
      assert.equal((await updater().refresh()).versions.timestamp, 2);
      c.files.clear();
      for (const [k, v] of old) c.files.set(k, v);
      const pretty = new TextEncoder().encode(JSON.stringify(JSON.parse(new TextDecoder().decode(c.rootBytes(1))), null, 2));
      await rejectsCode(updater({ trustedRoot: pretty }).refresh(), 'TUF_ROLLBACK');
      await rejectsCode(updater().refresh(), 'TUF_ROLLBACK');
      assert.equal(((await cache.read({ server: 'probe', collection: c.collection }))!.chain).length, 1);
    });

    it('state is per (server, collection): another server name starts its own state', async () => {
      await updater().refresh();
      await updater({ server: 'http://other.example:7443/' }).refresh();
      assert.ok(await cache.read({ server: 'http://OTHER.example:7443', collection: c.collection }), 'URL normalized');
      assert.ok(await cache.read({ server: 'probe', collection: c.collection }));
    });

    it('an older pin that the chain descends from, and a newer pin the walk reaches, are both fine', async () => {
      await c.rotateRoot();
      await c.publishTargets();
      // State starts from the v2 pin; the v1 pin is checked by walking v1 → v2.
      assert.equal((await updater({ trustedRoot: c.rootBytes(2) }).refresh()).versions.root, 2);
      assert.equal((await updater({ trustedRoot: c.rootBytes(1) }).refresh()).versions.root, 2);
      await c.rotateRoot();
      await c.publishTargets();
      assert.equal((await updater({ trustedRoot: c.rootBytes(3) }).refresh()).versions.root, 3);
      const chain = (await cache.read({ server: 'probe', collection: c.collection }))!.chain;
      assert.deepEqual(chain.map((l) => l.version), [2, 3]);
    });

    it('a pin claiming a version the trusted chain never reaches → TRUST_PIN_MISMATCH', async () => {
      await updater().refresh();
      const other = await buildCollection({ collection: c.collection });
      await other.rotateRoot();
      await rejectsCode(updater({ trustedRoot: other.rootBytes(2) }).refresh(), 'TRUST_PIN_MISMATCH');
    });
  });

  describe('freeze (expired metadata)', () => {
    it('expired timestamp → TUF_EXPIRED', async () => {
      await rejectsCode(updater({ clock: at('2026-01-16T12:00:01Z') }).refresh(), 'TUF_EXPIRED');
    });
    it('expired targets → TUF_EXPIRED', async () => {
      await c.publishTargets((t) => t, { expiresInSeconds: 3600 });
      await rejectsCode(updater({ clock: at('2026-01-15T14:00:00Z') }).refresh(), 'TUF_EXPIRED');
    });
  });

  describe('when the source cannot be reached', () => {
    it('uses a fresh, unexpired cache and says so', async () => {
      await updater().refresh();
      source.down = true;
      const r = await updater({ clock: at('2026-01-15T18:00:00Z') }).refresh();
      assert.equal(r.fromCache, true);
      assert.equal(r.sourceError?.code, 'TUF_SOURCE_UNREACHABLE');
      assert.deepEqual(r.trusted.roles.map((x) => x.name), ['alice', 'bob']);
    });

    it('cache older than maxCacheAgeSeconds → TUF_CACHE_STALE', async () => {
      await updater().refresh();
      source.down = true;
      const e = await rejectsCode(updater({ clock: at('2026-01-15T14:00:00Z'), maxCacheAgeSeconds: 3600 }).refresh(), 'TUF_CACHE_STALE');
      assert.equal(e.exitCode, 3);
    });

    it('expired cached metadata → TUF_CACHE_STALE, whatever the maximum age', async () => {
      await updater().refresh();
      source.down = true;
      await rejectsCode(updater({ clock: at('2026-01-17T00:00:00Z'), maxCacheAgeSeconds: 30 * 86400 }).refresh(), 'TUF_CACHE_STALE');
    });

    it('maxCacheAgeSeconds 0 disables the fallback: the source\'s own error (exit 3), the cache unused', async () => {
      await updater().refresh();
      source.down = true;
      const e = await rejectsCode(updater({ maxCacheAgeSeconds: 0 }).refresh(), 'TUF_SOURCE_UNREACHABLE');
      assert.equal(e.exitCode, 3);
      await rejectsCode(updater({ maxCacheAgeSeconds: 0, offline: true }).refresh(), 'TUF_CACHE_STALE');
    });

    it('an authentication failure never falls back to the cache', async () => {
      await updater().refresh();
      const refusing: MetadataSource = { description: 'probe', fetch: async () => { throw new OcitrustError('AUTH_TOKEN_INVALID', 'HTTP 401'); } };
      const e = await rejectsCode(updater({ source: refusing }).refresh(), 'AUTH_TOKEN_INVALID');
      assert.equal(e.exitCode, 2);
    });

    it('without a cache the environment error is reported as is (exit 3)', async () => {
      source.down = true;
      const e = await rejectsCode(updater().refresh(), 'TUF_SOURCE_UNREACHABLE');
      assert.equal(e.exitCode, 3);
    });

    it('offline: true never asks the source', async () => {
      await updater().refresh();
      source.requests = [];
      const r = await updater({ offline: true }).refresh();
      assert.equal(r.fromCache, true);
      assert.deepEqual(source.requests, []);
      await rejectsCode(updater({ offline: true, cache: new MemoryTrustCache() }).refresh(), 'TUF_CACHE_STALE');
    });

    it('a security failure never falls back to the cache', async () => {
      await updater().refresh();
      const doc = c.json('timestamp.json');
      doc.signed.version = 7;
      c.put('timestamp.json', toBytes(doc)); // signature no longer valid
      await rejectsCode(updater().refresh(), 'TUF_THRESHOLD_NOT_MET');
    });
  });

  describe('when the source lacks files', () => {
    it('no timestamp → TUF_METADATA_MISSING', async () => {
      c.files.delete('timestamp.json');
      await rejectsCode(updater().refresh(), 'TUF_METADATA_MISSING');
    });
    it('no targets version named by snapshot → TUF_METADATA_MISSING', async () => {
      c.files.delete('1.targets.json');
      await rejectsCode(updater().refresh(), 'TUF_METADATA_MISSING');
    });
    it('targets larger than the length snapshot records are not read past it', async () => {
      c.put('1.targets.json', Buffer.concat([Buffer.from(c.file('1.targets.json')), Buffer.from(' ')]));
      await rejectsCode(updater().refresh(), 'TUF_SOURCE_BAD_RESPONSE');
    });
  });

  describe('early requests (issue 20: asked before the trusted state is verified)', () => {
    it('a warm refresh asks for the root probe and the timestamp before anything else, and uses them', async () => {
      await updater().refresh();
      source.requests = [];
      const r = await updater().refresh();
      assert.deepEqual(source.requests, ['2.root.json', 'timestamp.json']);
      assert.equal(r.versions.timestamp, 1);
    });

    it('a state whose chain names another version than its root: the early probe is not used, the right one is asked', async () => {
      await updater().refresh();
      const key = { server: 'probe', collection: c.collection };
      const saved = (await cache.read(key))!;
      // A chain whose last link claims v5 while the state's root is v1 (corrupt or hand-edited):
      // 6.root.json is asked early, but the walk starts from the verified root and asks for v2.
      await cache.write(key, { ...saved, chain: [...saved.chain, { ...saved.chain[saved.chain.length - 1]!, version: 5 }] });
      source.requests = [];
      const r = await updater().refresh();
      assert.deepEqual(source.requests, ['6.root.json', 'timestamp.json', '2.root.json']);
      assert.equal(r.versions.root, 1);
    });

    it('a malformed pin fails with its own error; the early requests are observed (no unhandled rejection)', async () => {
      await updater().refresh();
      let unhandled = 0;
      const onRejection = (): void => void unhandled++;
      process.on('unhandledRejection', onRejection);
      try {
        source.down = true;
        await assert.rejects(updater({ trustedRoot: new TextEncoder().encode('{"signed":') }).refresh(), (e: unknown) => e instanceof OcitrustError && e.code !== 'TUF_SOURCE_UNREACHABLE');
        await new Promise((res) => setTimeout(res, 20));
        assert.equal(unhandled, 0);
      } finally {
        process.off('unhandledRejection', onRejection);
      }
    });

    it('offline asks nothing, early or late', async () => {
      await updater().refresh();
      source.requests = [];
      await updater({ offline: true, maxCacheAgeSeconds: 86400 }).refresh();
      assert.deepEqual(source.requests, []);
    });

    it('an unreachable source with a usable cache still falls back exactly as before', async () => {
      await updater().refresh();
      source.down = true;
      const r = await updater({ maxCacheAgeSeconds: 86400 }).refresh();
      assert.equal(r.fromCache, true);
      assert.equal(r.sourceError?.code, 'TUF_SOURCE_UNREACHABLE');
      await rejectsCode(updater({ maxCacheAgeSeconds: 0 }).refresh(), 'TUF_SOURCE_UNREACHABLE');
    });
  });
});
