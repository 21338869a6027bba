import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
// The gate's verdict cache (lib/gate/verdict-cache.ts): TTLs, negative TTL, LRU bound,
// single-flight, and its keys. How the gate keys real checks is in gate.test.ts.
import { VerificationCache, verificationCacheKey } from '../../../lib/gate/verdict-cache.js';
import type { VerifyResultLike } from '../../../hook/admission.js';
import { isOcitrustError } from '../../../lib/errors/index.js';
import type { Clock } from '../../../lib/clock.js';

/** A clock the test moves by hand. */
function manualClock(start = 1_700_000_000_000): Clock & { advance(ms: number): void } {
  let t = start;
  return { now: () => new Date(t), advance: (ms) => void (t += ms) };
}

const ok = (digest: string): VerifyResultLike => ({ verified: true, digest, failures: [] });
const bad: VerifyResultLike = { verified: false, failures: [{ code: 'NO_SIGNATURES', message: 'none' }] };
const D = (c: string) => 'sha256:' + c.repeat(64);

describe('VerificationCache', () => {
  it('keeps positive results for ttlMs and negative ones for negativeTtlMs', async () => {
    const clock = manualClock();
    const cache = new VerificationCache<VerifyResultLike>({ ttlMs: 60_000, negativeTtlMs: 5_000, clock });
    let n = 0;
    const run = (k: string, v: VerifyResultLike) => cache.run(k, async () => (n++, v), (x) => x.verified);
    await run('good', ok(D('a')));
    await run('bad', bad);
    assert.equal(n, 2);
    clock.advance(4_999);
    await run('good', ok(D('a')));
    await run('bad', bad);
    assert.equal(n, 2, 'both cached');
    clock.advance(2);
    await run('bad', bad);
    assert.equal(n, 3, 'negative entry expired after 5 s');
    await run('good', ok(D('a')));
    assert.equal(n, 3);
    clock.advance(60_000);
    await run('good', ok(D('a')));
    assert.equal(n, 4, 'positive entry expired after 60 s');
    assert.equal(cache.stats.hits, 3);
  });

  it('is bounded: the least recently used entry goes first', async () => {
    const cache = new VerificationCache<VerifyResultLike>({ maxEntries: 2 });
    const put = (k: string) => cache.run(k, async () => ok(D('a')), () => true);
    await put('a');
    await put('b');
    assert.ok(cache.get('a')); // a is now more recent than b
    await put('c');
    assert.equal(cache.size, 2);
    assert.ok(cache.get('a'));
    assert.equal(cache.get('b'), undefined);
    assert.ok(cache.get('c'));
    assert.equal(cache.stats.evictions, 1);
  });

  it('runs one verification per key at a time (single-flight across requests)', async () => {
    const cache = new VerificationCache<VerifyResultLike>();
    let calls = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const compute = async () => {
      calls++;
      await gate;
      return ok(D('a'));
    };
    const all = Array.from({ length: 20 }, () => cache.run('k', compute, () => true));
    assert.equal(cache.inflight, 1);
    release();
    const results = await Promise.all(all);
    assert.equal(calls, 1);
    assert.equal(cache.stats.joined, 19);
    assert.ok(results.every((r) => r === results[0]));
    assert.equal(cache.inflight, 0);
  });

  it('does not cache errors; every joined caller sees the error and the next call retries', async () => {
    const cache = new VerificationCache<VerifyResultLike>();
    let calls = 0;
    const failing = async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 5));
      throw new Error('registry unreachable');
    };
    const a = cache.run('k', failing, () => true);
    const b = cache.run('k', failing, () => true);
    await assert.rejects(a, /unreachable/);
    await assert.rejects(b, /unreachable/);
    assert.equal(calls, 1);
    await assert.rejects(cache.run('k', failing, () => true));
    assert.equal(calls, 2);
    assert.equal(cache.size, 0);
  });

  it('validates its options', () => {
    assert.throws(() => new VerificationCache({ maxEntries: 0 }), (e) => isOcitrustError(e, 'INVALID_ARGUMENT'));
    assert.throws(() => new VerificationCache({ ttlMs: -1 }), (e) => isOcitrustError(e, 'INVALID_ARGUMENT'));
  });
});

describe('verificationCacheKey', () => {
  const base = { repository: 'registry.example.com/a', digest: D('a'), rule: 'r', policyRevision: D('f'), trustVersion: 7 };
  it('differs whenever a part differs, and is stable otherwise', () => {
    const k = verificationCacheKey(base);
    assert.equal(verificationCacheKey({ ...base }), k);
    assert.match(k, /^[0-9a-f]{64}$/);
    for (const change of [{ repository: 'registry.example.com/b' }, { digest: D('b') }, { tag: 'v1' }, { rule: 's' }, { policyRevision: D('e') }, { trustVersion: 8 }]) {
      assert.notEqual(verificationCacheKey({ ...base, ...change }), k, JSON.stringify(change));
    }
    assert.equal(verificationCacheKey({ ...base, trustVersion: '7' }), k);
  });
});
