// The fast path's per-array key cache (lib/crypto/ed25519.ts) must follow the bytes, not the
// array: a key array changed in place after it was cached verifies as the key it now holds.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { verifyEd25519, verifyEd25519Noble, signEd25519, publicKeyOf, nativeFastPathEnabled, isValidPublicKey } from '../../../lib/crypto/ed25519.js';

describe('fast-path key cache', () => {
  it('isValidPublicKey remembers answers by the bytes: an array changed in place is judged again', () => {
    const pk = publicKeyOf(new Uint8Array(32).fill(43)).slice();
    assert.equal(isValidPublicKey(pk), true);
    assert.equal(isValidPublicKey(pk), true, 'asked again');
    pk.fill(0);
    pk[0] = 1; // the identity point
    assert.equal(isValidPublicKey(pk), false);
    pk.fill(0xff); // y ≥ p: not canonical
    assert.equal(isValidPublicKey(pk), false);
    pk.set(publicKeyOf(new Uint8Array(32).fill(43)));
    assert.equal(isValidPublicKey(pk), true);
    // Many distinct keys: the memo stays bounded and answers stay right.
    for (let i = 0; i < 1100; i++) {
      const seed = new Uint8Array(32);
      seed[0] = i & 0xff;
      seed[1] = i >> 8;
      assert.equal(isValidPublicKey(publicKeyOf(seed)), true);
    }
    assert.equal(isValidPublicKey(new Uint8Array(32)), false, 'order-4 point (y = 0)');
  });

  it('a key array changed in place verifies as its new bytes', () => {
    assert.equal(nativeFastPathEnabled(), true);
    const msg = new TextEncoder().encode('in place');
    const seedA = new Uint8Array(32).fill(41);
    const seedB = new Uint8Array(32).fill(42);
    const a = publicKeyOf(seedA);
    const b = publicKeyOf(seedB);
    const sigA = signEd25519(msg, seedA);
    const sigB = signEd25519(msg, seedB);
    const pk = a.slice();
    assert.equal(verifyEd25519(sigA, msg, pk), true); // cached for this array now
    pk.set(b);
    assert.equal(verifyEd25519(sigA, msg, pk), false);
    assert.equal(verifyEd25519(sigB, msg, pk), true);
    pk.set(a);
    assert.equal(verifyEd25519(sigA, msg, pk), true);
    assert.equal(verifyEd25519(sigB, msg, pk), false);
    // An invalid key (small order) written over a cached valid one goes to noble and fails.
    pk.fill(0);
    pk[0] = 1; // the identity point, order 1
    assert.equal(verifyEd25519(sigA, msg, pk), verifyEd25519Noble(sigA, msg, pk));
    assert.equal(verifyEd25519(sigA, msg, pk), false);
  });

  it('a view into a larger buffer is cached by its own bytes', () => {
    const msg = new TextEncoder().encode('views');
    const seeds = [7, 8].map((n) => new Uint8Array(32).fill(n));
    const keys = seeds.map(publicKeyOf);
    const backing = new Uint8Array(64);
    backing.set(keys[0]!, 0);
    backing.set(keys[1]!, 32);
    const v0 = backing.subarray(0, 32);
    const v1 = backing.subarray(32, 64);
    assert.equal(verifyEd25519(signEd25519(msg, seeds[0]!), msg, v0), true);
    assert.equal(verifyEd25519(signEd25519(msg, seeds[1]!), msg, v1), true);
    assert.equal(verifyEd25519(signEd25519(msg, seeds[1]!), msg, v0), false);
  });
});
