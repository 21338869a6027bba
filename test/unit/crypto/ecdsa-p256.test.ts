import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import {
  P256_N,
  ecdsaSignatureValues,
  p256FromKeyObject,
  p256FromPoint,
  p256FromSpki,
  p256PrivateKey,
  p256Scalar,
  signEcdsaP256,
  verifyEcdsaP256,
} from '../../../lib/crypto/ecdsa-p256.js';
import { OcitrustError } from '../../../lib/errors/index.js';

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pub = p256FromKeyObject(privateKey);
const msg = new TextEncoder().encode('DSSEv1 4 test 5 hello');
const code = (c: string) => (e: unknown) => e instanceof OcitrustError && e.code === c;
const big = (n: bigint): Buffer => Buffer.from(n.toString(16).padStart(64, '0'), 'hex');
const raw = (r: bigint, s: bigint): Uint8Array => Uint8Array.from(Buffer.concat([big(r), big(s)]));
const rsOf = (sig: Uint8Array): [bigint, bigint] => ecdsaSignatureValues(sig, 'ieee-p1363')!;

describe('ECDSA P-256 (node:crypto behind strict encoding checks)', () => {
  it('signs and verifies in both encodings; each key format accepts only its own encoding', () => {
    const der = signEcdsaP256(msg, privateKey, 'der');
    const p1363 = signEcdsaP256(msg, privateKey, 'ieee-p1363');
    assert.equal(der[0], 0x30);
    assert.equal(p1363.length, 64);
    assert.equal(verifyEcdsaP256(der, msg, pub, 'der'), true);
    assert.equal(verifyEcdsaP256(p1363, msg, pub, 'ieee-p1363'), true);
    assert.equal(verifyEcdsaP256(der, msg, pub, 'ieee-p1363'), false);
    assert.equal(verifyEcdsaP256(p1363, msg, pub, 'der'), false);
    assert.equal(verifyEcdsaP256(p1363, new TextEncoder().encode('other'), pub, 'ieee-p1363'), false);
  });

  it('agrees with node:crypto signatures (DER by default) made outside this module', () => {
    const sig = new Uint8Array(nodeSign('sha256', msg, privateKey));
    assert.equal(verifyEcdsaP256(sig, msg, pub, 'der'), true);
  });

  it('makes low-S signatures but accepts high S (TUF and Notary do not require low S)', () => {
    for (let i = 0; i < 8; i++) {
      const [r, s] = rsOf(signEcdsaP256(msg, privateKey, 'ieee-p1363'));
      assert.ok(s <= P256_N >> 1n);
      assert.equal(verifyEcdsaP256(raw(r, P256_N - s), msg, pub, 'ieee-p1363'), true, 'the malleated twin verifies too');
    }
  });

  it('rejects r or s out of [1, n-1] and wrong lengths', () => {
    const [r, s] = rsOf(signEcdsaP256(msg, privateKey, 'ieee-p1363'));
    for (const [rr, ss] of [[0n, s], [r, 0n], [P256_N, s], [r, P256_N], [r + P256_N, s], [r, s + P256_N]] as const) {
      if (rr >= 1n << 256n || ss >= 1n << 256n) continue;
      assert.equal(verifyEcdsaP256(raw(rr, ss), msg, pub, 'ieee-p1363'), false);
    }
    const good = raw(r, s);
    for (const bad of [good.subarray(0, 63), Uint8Array.from([...good, 0]), new Uint8Array(0), new Uint8Array(64)]) {
      assert.equal(verifyEcdsaP256(bad, msg, pub, 'ieee-p1363'), false);
    }
  });

  it('rejects non-strict DER: long-form length, padding zero, negative integer, trailing bytes, BER', () => {
    const der = signEcdsaP256(msg, privateKey, 'der');
    assert.equal(verifyEcdsaP256(der, msg, pub, 'der'), true);
    const body = der.subarray(2);
    const longForm = Uint8Array.from([0x30, 0x81, body.length, ...body]);
    const trailing = Uint8Array.from([0x30, body.length + 1, ...body, 0]);
    const trailingOuter = Uint8Array.from([...der, 0]);
    // r with an extra leading zero (non-minimal)
    const rLen = der[3]!;
    const r = der.subarray(4, 4 + rLen);
    const rest = der.subarray(4 + rLen);
    const padded = Uint8Array.from([0x30, der[1]! + 1, 0x02, rLen + 1, 0, ...r, ...rest]);
    const negative = Uint8Array.from(der);
    negative[4] = r[0] === 0 ? 0 : r[0]! | 0x80; // either a non-minimal zero or a negative r
    for (const bad of [longForm, trailing, trailingOuter, padded, new Uint8Array(0), Uint8Array.from([0x30, 0x00])]) {
      assert.equal(verifyEcdsaP256(bad, msg, pub, 'der'), false);
    }
    if (r[0] !== 0) assert.equal(verifyEcdsaP256(negative, msg, pub, 'der'), false);
  });

  it('one key, every point spelling: compressed and uncompressed points and the SPKI are the same key', () => {
    const uncompressed = pub.point;
    const compressed = Uint8Array.from([2 + (uncompressed[64]! & 1), ...uncompressed.subarray(1, 33)]);
    assert.deepEqual(p256FromPoint(compressed).point, uncompressed);
    assert.deepEqual(p256FromSpki(new Uint8Array(pub.key.export({ format: 'der', type: 'spki' }))).point, uncompressed);
  });

  it('refuses points off the curve, bad lengths and other curves with coded errors', () => {
    const off = Uint8Array.from(pub.point);
    off[64]! ^= 1;
    assert.throws(() => p256FromPoint(off), code('KEY_INVALID'));
    assert.throws(() => p256FromPoint(new Uint8Array(64)), code('KEY_INVALID'));
    assert.throws(() => p256FromPoint(Uint8Array.from([0])), code('KEY_INVALID'));
    assert.throws(() => p256FromSpki(Uint8Array.from([0x30, 0x00])), code('KEY_INVALID'));
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey;
    assert.throws(() => p256FromKeyObject(p384), code('KEY_UNSUPPORTED'));
    assert.throws(() => p256FromSpki(new Uint8Array(p384.export({ format: 'der', type: 'spki' }))), code('KEY_UNSUPPORTED'));
    const ed = generateKeyPairSync('ed25519').publicKey;
    assert.throws(() => p256FromKeyObject(ed), code('KEY_UNSUPPORTED'));
  });

  it('private keys round-trip through their 32-byte scalar; 0 and n are refused', () => {
    const d = p256Scalar(privateKey);
    const again = p256PrivateKey(d);
    assert.deepEqual(p256FromKeyObject(again).point, pub.point);
    assert.throws(() => p256PrivateKey(new Uint8Array(32)), code('KEY_INVALID'));
    assert.throws(() => p256PrivateKey(Uint8Array.from(big(P256_N))), code('KEY_INVALID'));
    assert.throws(() => p256PrivateKey(new Uint8Array(31)), code('INVALID_ARGUMENT'));
  });
});
