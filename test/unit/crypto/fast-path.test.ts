// The node:crypto fast path must give exactly noble strict's answers (DESIGN §2, issue 2):
// "native accepts → accepted; otherwise ask noble", with pre-checks closing every case where
// native alone would accept what noble strict rejects. lib/crypto/ed25519.ts documents the checks.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import fc from 'fast-check';
import {
  verifyEd25519,
  verifyEd25519Noble,
  signEd25519,
  publicKeyOf,
  isValidPublicKey,
  setNativeFastPath,
  nativeFastPathEnabled,
  nativeKeyCacheStats,
} from '../../../lib/crypto/ed25519.js';
import { isOcitrustError } from '../../../lib/errors/index.js';
import { allVerifyCases } from './vectors.js';

const SPKI = Buffer.from('302a300506032b6570032100', 'hex');

/** node:crypto alone, no pre-checks: what the fast path would answer without them. */
function rawNative(sig: Uint8Array, msg: Uint8Array, pk: Uint8Array): boolean {
  try {
    return nodeVerify(null, msg, createPublicKey({ key: Buffer.concat([SPKI, pk]), format: 'der', type: 'spki' }), sig);
  } catch {
    return false;
  }
}

describe('native fast path ≡ noble strict', () => {
  const cases = allVerifyCases();

  it('the fast path is on by default', () => assert.equal(nativeFastPathEnabled(), true));

  it(`verifyEd25519 (fast path on) equals noble strict on all ${cases.length} Wycheproof, RFC 8032 and CCTV cases`, () => {
    assert.ok(cases.length === 151 + 5 + 914);
    const before = setNativeFastPath(true);
    try {
      const diff = cases.filter((c) => verifyEd25519(c.signature, c.message, c.publicKey) !== verifyEd25519Noble(c.signature, c.message, c.publicKey));
      assert.deepEqual(diff.map((c) => c.label), []);
    } finally {
      setNativeFastPath(before);
    }
  });

  it('raw node:crypto alone would differ, and the public-key pre-check closes every "native yes, noble no" case', () => {
    const nativeOnly = cases.filter((c) => rawNative(c.signature, c.message, c.publicKey) && !verifyEd25519Noble(c.signature, c.message, c.publicKey));
    // OpenSSL accepts signatures under small-order keys (CCTV low_order_A): without pre-check 1
    // the fast path would accept them.
    assert.ok(nativeOnly.length > 0, 'expected OpenSSL to accept some low-order-key signatures');
    assert.deepEqual(nativeOnly.filter((c) => isValidPublicKey(c.publicKey)).map((c) => c.label), []);
    assert.ok(nativeOnly.every((c) => c.flags.includes('low_order_A')));
  });

  it('noble strict accepts some signatures OpenSSL rejects (cofactored equation), so a native "no" must fall through', () => {
    const nobleOnly = cases.filter((c) => !rawNative(c.signature, c.message, c.publicKey) && verifyEd25519Noble(c.signature, c.message, c.publicKey));
    assert.ok(nobleOnly.length > 0);
    assert.ok(nobleOnly.every((c) => c.flags.includes('low_order_residue')), nobleOnly.map((c) => c.label).join('\n'));
    // ...and verifyEd25519 accepts them, as noble does.
    assert.ok(nobleOnly.every((c) => verifyEd25519(c.signature, c.message, c.publicKey)));
  });

  it('property: on random keys and signatures with random byte changes, fast path = noble strict', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 200 }),
        fc.array(fc.tuple(fc.nat(63), fc.integer({ min: 1, max: 255 })), { maxLength: 3 }),
        fc.boolean(),
        (seed, msg, edits, mutateKey) => {
          const pk = publicKeyOf(seed);
          const sig = signEd25519(msg, seed);
          for (const [i, x] of edits) {
            if (mutateKey && i < 32) pk[i]! ^= x;
            else sig[i]! ^= x;
          }
          const fast = verifyEd25519(sig, msg, pk);
          assert.equal(fast, verifyEd25519Noble(sig, msg, pk));
          if (edits.length === 0) assert.equal(fast, true);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('the per-key cache is bounded and stays correct after eviction', () => {
    const { max } = nativeKeyCacheStats();
    const msg = new TextEncoder().encode('cache');
    const keys = Array.from({ length: max + 20 }, (_, i) => {
      const seed = new Uint8Array(32).fill(i % 256);
      seed[1] = i >> 8;
      return { pk: publicKeyOf(seed), sig: signEd25519(msg, seed) };
    });
    for (const k of keys) assert.equal(verifyEd25519(k.sig, msg, k.pk), true);
    assert.ok(nativeKeyCacheStats().size <= max);
    // The first keys were evicted; they still verify, and a wrong key still fails.
    assert.equal(verifyEd25519(keys[0]!.sig, msg, keys[0]!.pk), true);
    assert.equal(verifyEd25519(keys[0]!.sig, msg, keys[1]!.pk), false);
  });

  it('setNativeFastPath returns the previous setting and refuses non-booleans with INVALID_ARGUMENT', () => {
    const before = setNativeFastPath(false);
    try {
      assert.equal(nativeFastPathEnabled(), false);
      assert.equal(setNativeFastPath(true), false);
      assert.throws(() => setNativeFastPath('yes' as unknown as boolean), (e) => isOcitrustError(e, 'INVALID_ARGUMENT'));
    } finally {
      setNativeFastPath(before);
    }
  });
});
