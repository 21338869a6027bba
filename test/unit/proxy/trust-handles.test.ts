// TrustHandles (the proxy's and the pull gate's trust data): remote trust data is kept until it
// expires when the server cannot be asked, and reported stale; a rule's pinned root given as
// other bytes shares the same (server, collection) rollback state.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OcitrustError } from '../../../lib/errors/index.js';
import type { Clock } from '../../../lib/clock.js';
import { TrustHandles, type LocalTrustStore } from '../../../server/proxy/trust.js';
import { TrustFreshness } from '../../../server/trust-freshness.js';
import { TEST_TIME, buildCollection, type TestCollection } from '../../helpers/collection.js';

const SERVER = 'http://trust.example:7443';
const noStore: LocalTrustStore = {
  info: async () => null,
  file: async () => {
    throw new OcitrustError('COLLECTION_NOT_FOUND', 'none');
  },
  timestamp: async () => {
    throw new OcitrustError('COLLECTION_NOT_FOUND', 'none');
  },
};

function movable(iso: string): Clock & { set(iso: string): void } {
  let t = Date.parse(iso);
  return { now: () => new Date(t), set: (x) => void (t = Date.parse(x)) };
}

/** A fetch serving the collection's files, or failing like a blocked network. */
function served(c: TestCollection): { fetch: typeof fetch; blocked: boolean } {
  const state = {
    blocked: false,
    fetch: (async (input: string | URL | Request) => {
      if (state.blocked) throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
      const name = String(input).split('/').pop()!;
      const b = c.files.get(name);
      return b ? new Response(Buffer.from(b), { status: 200 }) : new Response('{"code":"METADATA_NOT_FOUND","message":"no"}', { status: 404 });
    }) as typeof fetch,
  };
  return state;
}

describe('TrustHandles (remote trust server)', () => {
  it('a blocked server: the last good data is kept until it expires, and reported stale; then refused', async () => {
    const c = await buildCollection({ collection: 'reg.example/app', signers: [{ name: 'alice' }] });
    const clock = movable(TEST_TIME);
    const freshness = new TrustFreshness(clock);
    const net = served(c);
    const handles = new TrustHandles({ store: noStore, clock, fetch: net.fetch, remoteRefreshMs: 0, freshness });
    const h = handles.get({ collection: c.collection, server: SERVER, root: c.rootBytes(1) });
    assert.equal((await h.refresh()).versions.targets, 1);
    assert.equal(freshness.readiness().status, 'ready');

    net.blocked = true;
    assert.equal((await h.refresh()).versions.targets, 1, 'last good data kept');
    assert.equal(freshness.readiness().status, 'degraded');
    const out: string[] = [];
    freshness.render(out);
    assert.match(out.join('\n'), /ocitrust_trust_data_stale\{face="proxy",server="http:\/\/trust.example:7443",collection="reg.example\/app"\} 1/);

    clock.set('2026-01-16T12:00:01Z'); // past the timestamp's expiry (1 day)
    await assert.rejects(h.refresh(), (e: unknown) => e instanceof OcitrustError && e.code === 'TUF_SOURCE_UNREACHABLE');
    assert.equal(freshness.readiness().status, 'expired');
  });

  it('a rule root re-encoded (policy reload) shares the rollback state of (server, collection)', async () => {
    const c = await buildCollection({ collection: 'reg.example/app', signers: [{ name: 'alice' }] });
    const clock = movable(TEST_TIME);
    const net = served(c);
    const handles = new TrustHandles({ store: noStore, clock, fetch: net.fetch, remoteRefreshMs: 0 });
    const old = new Map(c.files);
    await c.publishTimestamp();
    assert.equal((await handles.get({ collection: c.collection, server: SERVER, root: c.rootBytes(1) }).refresh()).versions.timestamp, 2);
    c.files.clear();
    for (const [k, v] of old) c.files.set(k, v);
    const pretty = new TextEncoder().encode(JSON.stringify(JSON.parse(new TextDecoder().decode(c.rootBytes(1))), null, 1));
    await assert.rejects(handles.get({ collection: c.collection, server: SERVER, root: pretty }).refresh(), (e: unknown) => e instanceof OcitrustError && e.code === 'TUF_ROLLBACK');
  });
});
