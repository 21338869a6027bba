// The gate's trust pool (lib/gate/trust-pool.ts) for a remote trust server with a pinned root:
// the last good data is kept while the server cannot be asked, until it expires, and reported
// stale; a pinned root given as other bytes (a policy reload) shares the (server, collection)
// rollback state; a publish to a local collection (invalidate) is read at once. Formerly the
// proxy's own TrustHandles; the proxy is on the gate now.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OcitrustError } from '../../../lib/errors/index.js';
import type { Clock } from '../../../lib/clock.js';
import type { ImageRuleOptions } from '../../../lib/policy/types.js';
import { TrustPool, type LocalTrustStore } from '../../../lib/gate/index.js';
import { TrustFreshness } from '../../../server/trust-freshness.js';
import { TEST_TIME, buildCollection, type TestCollection } from '../../helpers/collection.js';

const SERVER = 'http://trust.example:7443';

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

function local(c: TestCollection): LocalTrustStore {
  const get = (name: string) => {
    const b = c.files.get(name);
    if (!b) throw new OcitrustError('METADATA_NOT_FOUND', `no ${name}`);
    return { body: b };
  };
  return { timestamp: async () => get('timestamp.json'), file: async (_n, role, version) => get(version === null ? `${role}.json` : `${version}.${role}.json`) };
}

const remoteRule = (c: TestCollection, root: Uint8Array): ImageRuleOptions => ({
  rule: 'r',
  policyRevision: 'p',
  collection: c.collection,
  server: SERVER,
  root: { kind: 'inline', metadata: JSON.parse(new TextDecoder().decode(root)) },
  verify: {},
});

describe('TrustPool', () => {
  it('a blocked remote server: the last good data is kept until it expires, and reported stale; then refused', async () => {
    const c = await buildCollection({ collection: 'reg.example/app', signers: [{ name: 'alice' }] });
    const clock = movable(TEST_TIME);
    const freshness = new TrustFreshness(clock);
    const net = served(c);
    const pool = new TrustPool({ clock, fetch: net.fetch, refreshSeconds: 0, freshness, face: 'proxy' });
    const rule = remoteRule(c, c.rootBytes(1));
    assert.equal((await pool.get(rule)).result.versions.targets, 1);
    assert.equal(freshness.readiness().status, 'ready');

    net.blocked = true;
    assert.equal((await pool.get(rule)).result.versions.targets, 1, 'last good data kept');
    assert.equal(freshness.readiness().status, 'degraded');
    const out: string[] = [];
    freshness.render(out);
    assert.match(out.join('\n'), /ocitrust_trust_data_stale\{face="proxy",server="http:\/\/trust.example:7443",collection="reg.example\/app"\} 1/);

    clock.set('2026-01-16T12:00:01Z'); // past the timestamp's expiry (1 day)
    await assert.rejects(pool.get(rule), (e: unknown) => e instanceof OcitrustError && e.code === 'TUF_SOURCE_UNREACHABLE');
    assert.equal(freshness.readiness().status, 'expired');
  });

  it('a pinned root re-encoded (policy reload) shares the rollback state of (server, collection)', async () => {
    const c = await buildCollection({ collection: 'reg.example/app', signers: [{ name: 'alice' }] });
    const clock = movable(TEST_TIME);
    const net = served(c);
    const pool = new TrustPool({ clock, fetch: net.fetch, refreshSeconds: 0 });
    const old = new Map(c.files);
    await c.publishTimestamp();
    assert.equal((await pool.get(remoteRule(c, c.rootBytes(1)))).result.versions.timestamp, 2);
    c.files.clear();
    for (const [k, v] of old) c.files.set(k, v);
    const pretty = new TextEncoder().encode(JSON.stringify(JSON.parse(new TextDecoder().decode(c.rootBytes(1))), null, 1));
    await assert.rejects(pool.get(remoteRule(c, pretty)), (e: unknown) => e instanceof OcitrustError && e.code === 'TUF_ROLLBACK');
  });

  it('a local collection is anchored at its first root; a publish (invalidate) is read at once, not after the refresh interval', async () => {
    const c = await buildCollection({ collection: 'reg.example/app', signers: [{ name: 'alice' }, { name: 'bob' }] });
    const clock = movable(TEST_TIME);
    const pool = new TrustPool({ clock, localTrust: local(c), refreshSeconds: 3600 });
    const rule: ImageRuleOptions = { rule: 'r', policyRevision: 'p', collection: c.collection, verify: {} };
    const first = await pool.get(rule);
    await c.removeSigner('bob');
    assert.equal((await pool.get(rule)).version, first.version, 'within the refresh interval');
    pool.invalidate(c.collection);
    const after = await pool.get(rule);
    assert.notEqual(after.version, first.version);
    assert.ok(after.result.versions.targets > first.result.versions.targets);
  });
});
