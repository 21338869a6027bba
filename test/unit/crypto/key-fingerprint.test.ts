import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { keyFingerprint } from '../../../lib/crypto/key-fingerprint.js';
import { OcitrustError } from '../../../lib/errors/index.js';
import { PublicKey } from '../../../lib/keys/key.js';
import { SeedSigner } from '../../../lib/keys/signer.js';

const a = new SeedSigner(new Uint8Array(32).fill(1)).publicKey;
const b = new SeedSigner(new Uint8Array(32).fill(2)).publicKey;

describe('keyFingerprint', () => {
  it('is the keyid of the minimal key object, so for ocitrust keys it equals the keyid', () => {
    assert.equal(keyFingerprint(a), a.keyid);
    assert.equal(a.fingerprint, a.keyid);
  });

  it('is the same for every spelling of one key object, unlike the keyid', () => {
    const spellings = [
      { ...a.toJSON(), keyid_hash_algorithms: ['sha256', 'sha512'] },
      { ...a.toJSON(), x: 1 },
      { ...a.toJSON(), keyval: { ...a.toJSON().keyval, private: '' } },
    ];
    for (const json of spellings) {
      const k = PublicKey.fromJSON(json);
      assert.notEqual(k.keyid, a.keyid);
      assert.equal(k.fingerprint, a.fingerprint);
      assert.equal(keyFingerprint(k), keyFingerprint(a));
    }
  });

  it('differs between keys', () => {
    assert.notEqual(keyFingerprint(a), keyFingerprint(b));
  });

  it('refuses material of unknown algorithms or wrong sizes (INVALID_ARGUMENT)', () => {
    for (const bad of [undefined, null, {}, { publicKey: new Uint8Array(31) }, { publicKey: 'ab'.repeat(32) }, { keytype: 'dsa', publicKey: new Uint8Array(32) }, { keytype: 'ecdsa-p256', publicKey: new Uint8Array(64) }]) {
      assert.throws(() => keyFingerprint(bad as never), (e: unknown) => e instanceof OcitrustError && e.code === 'INVALID_ARGUMENT');
    }
  });
});
