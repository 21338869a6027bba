import * as ed from '@noble/ed25519';
import { sha512 as nobleSha512 } from '@noble/hashes/sha2.js';
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { assertArg } from '../errors/index.js';

// noble's synchronous API needs a SHA-512; wired once, here.
ed.hashes.sha512 = nobleSha512;

/**
 * Strict RFC 8032 verification. noble defaults to ZIP-215 (`zip215: true`), which accepts
 * non-canonical encodings and small-order keys; DESIGN §2 requires the strict branch so that
 * the CLI, the server and the hook can never disagree on one signature.
 */
const STRICT = { zip215: false } as const;

/*
 * Native fast path (DESIGN §2: "native accepts → accepted; otherwise ask noble").
 *
 * OpenSSL (behind node:crypto) checks the cofactorless equation encode([S]B - [k]A) == R bytes,
 * with k = SHA-512(R bytes || A bytes || M). noble strict checks the cofactored equation
 * [8]([S]B - [k]A - R) == 0 with the same k, after decoding R and A strictly. Whenever the
 * cofactorless equation holds, the cofactored one holds too, and R's bytes are then the canonical
 * encoding of a point, so noble decodes R to the same point and hashes the same bytes. The only
 * inputs OpenSSL can accept that noble strict rejects are therefore the ones where noble refuses
 * an encoding or a key before the equation. Two cheap pre-checks close exactly those:
 *
 *  1. The public key must pass isValidPublicKey (canonical y < p, no "x = 0 with sign bit",
 *     not of small order). OpenSSL accepts small-order keys (CCTV `low_order_A`: with A of
 *     order ≤ 8 a signature for every message is trivial) and does not reduce-check y, which
 *     noble strict refuses. Done once per key: only keys that pass get a cached KeyObject; any
 *     other key goes straight to noble.
 *  2. S must be canonical (S < L). OpenSSL 3 checks this itself; checking it here too keeps the
 *     equivalence independent of the OpenSSL build (1.1.0 and older accepted S ≥ L, the
 *     Wycheproof SignatureMalleability cases).
 *
 * Small-order or low-order-component R needs no pre-check: when OpenSSL accepts such an R the
 * cofactored equation holds as well, and noble strict accepts it too (the CCTV file pins this).
 * The converse does not hold (noble's cofactored check accepts some `low_order_residue`
 * signatures OpenSSL rejects), which is why a native "no" always falls through to noble.
 * test/unit/crypto/fast-path.test.ts proves equality on every Wycheproof, RFC 8032 and CCTV case.
 */
let fastPath = true;

/** DER SubjectPublicKeyInfo header for an Ed25519 key (RFC 8410): SEQ{SEQ{OID 1.3.101.112}, BIT STRING}. */
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const KEY_CACHE_MAX = 256;
/** raw key hex → KeyObject, or null for keys that failed isValidPublicKey (noble only). Insertion-ordered LRU. */
const keyCache = new Map<string, KeyObject | null>();

/** L, the order of the prime-order subgroup, little-endian (RFC 8032 §5.1). */
const L_LE = Uint8Array.from(Buffer.from('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010', 'hex'));

/**
 * Turns the node:crypto fast path on or off for the whole process (benchmarks and tests compare
 * both; answers are the same either way, only the speed differs). Returns the previous setting.
 */
export function setNativeFastPath(enabled: boolean): boolean {
  assertArg(typeof enabled === 'boolean', 'enabled', 'boolean', enabled);
  const before = fastPath;
  fastPath = enabled;
  return before;
}

/** True while the node:crypto fast path is on (the default). */
export function nativeFastPathEnabled(): boolean {
  return fastPath;
}

/** Size and bound of the per-key KeyObject cache of the fast path (for tests and diagnostics). */
export function nativeKeyCacheStats(): { size: number; max: number } {
  return { size: keyCache.size, max: KEY_CACHE_MAX };
}

/**
 * Front cache by array identity, so that the common case (the same PublicKey's bytes verified
 * again and again) costs neither hex encoding nor an LRU update. A Uint8Array can be changed
 * in place, so a hit counts only when the bytes still equal the copy taken when the entry was
 * made; otherwise the hex-keyed cache decides as if there were no front cache.
 */
const byArray = new WeakMap<Uint8Array, { readonly bytes: Uint8Array; readonly key: KeyObject | null }>();

function nativeKey(publicKey: Uint8Array): KeyObject | null {
  const front = byArray.get(publicKey);
  if (front !== undefined && sameKeyBytes(front.bytes, publicKey)) return front.key;
  const key = nativeKeyByHex(publicKey);
  byArray.set(publicKey, { bytes: publicKey.slice(), key });
  return key;
}

function sameKeyBytes(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 32; i++) if (a[i] !== b[i]) return false;
  return true;
}

function nativeKeyByHex(publicKey: Uint8Array): KeyObject | null {
  const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, 32).toString('hex');
  const hit = keyCache.get(id);
  if (hit !== undefined) {
    // Refresh recency so that the keys of a busy verifier stay cached.
    keyCache.delete(id);
    keyCache.set(id, hit);
    return hit;
  }
  let key: KeyObject | null = null;
  if (isValidPublicKey(publicKey)) {
    try {
      key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]), format: 'der', type: 'spki' });
    } catch {
      key = null;
    }
  }
  if (keyCache.size >= KEY_CACHE_MAX) {
    const oldest = keyCache.keys().next();
    if (!oldest.done) keyCache.delete(oldest.value);
  }
  keyCache.set(id, key);
  return key;
}

/** True when the S half of a 64-byte signature is < L (compared little-endian, from the top byte). */
function hasCanonicalS(signature: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    const s = signature[32 + i]!;
    const l = L_LE[i]!;
    if (s !== l) return s < l;
  }
  return false; // S == L
}

/**
 * noble alone, strict RFC 8032 (`zip215: false`): the reference answer the fast path must equal.
 * Malformed input returns false; never throws.
 */
export function verifyEd25519Noble(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (!(signature instanceof Uint8Array) || signature.length !== 64) return false;
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return false;
  if (!(message instanceof Uint8Array)) return false;
  try {
    return ed.verify(signature, message, publicKey, STRICT);
  } catch {
    return false;
  }
}

/**
 * Verifies an Ed25519 signature (strict RFC 8032, answers identical to noble with
 * `zip215: false`). Uses node:crypto first when the fast path is on and accepts only what it
 * accepts after the pre-checks above; everything else is decided by noble. Malformed input
 * (wrong lengths, undecodable points) returns false; it never throws.
 *
 * @example verifyEd25519(sig, new TextEncoder().encode('hello'), publicKey) // → boolean
 */
export function verifyEd25519(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (!(signature instanceof Uint8Array) || signature.length !== 64) return false;
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return false;
  if (!(message instanceof Uint8Array)) return false;
  if (fastPath && hasCanonicalS(signature)) {
    const key = nativeKey(publicKey);
    if (key !== null) {
      try {
        if (nodeVerify(null, message, key, signature)) return true;
      } catch {
        // fall through to noble, which decides
      }
    }
  }
  return verifyEd25519Noble(signature, message, publicKey);
}

/** DER PKCS #8 header of an Ed25519 private key (RFC 8410): the 32-byte seed follows. */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * The seed as a node:crypto private key. Signing and deriving the public key are deterministic
 * functions of the seed (RFC 8032 §5.1.5, §5.1.6), so OpenSSL and noble give the same bytes
 * (test/unit/crypto/ed25519-vectors.test.ts checks both on RFC 8032 and random seeds); native,
 * they cost microseconds instead of the milliseconds noble's pure-JS scalar multiplication
 * needs in a process that just started (its tables are built on first use) — which was most of
 * a `trust sign` after the key decryption.
 */
function nativePrivateKey(seed: Uint8Array): KeyObject {
  const der = Buffer.concat([PKCS8_ED25519_PREFIX, seed]);
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0);
  }
}

/**
 * Signs `message` with a 32-byte Ed25519 secret seed (RFC 8032 pure Ed25519, deterministic):
 * node:crypto while the native fast path is on, else noble (the same bytes either way).
 * @throws OcitrustError INVALID_ARGUMENT when the seed is not 32 bytes or message not bytes
 */
export function signEd25519(message: Uint8Array, secretSeed: Uint8Array): Uint8Array {
  assertArg(message instanceof Uint8Array, 'message', 'Uint8Array', message);
  assertArg(secretSeed instanceof Uint8Array && secretSeed.length === 32, 'secretSeed', 'Uint8Array of length 32', secretSeed);
  if (!fastPath) return ed.sign(message, secretSeed);
  return new Uint8Array(nodeSign(null, message, nativePrivateKey(secretSeed)));
}

/**
 * Public key (32 bytes) of a 32-byte secret seed: node:crypto while the native fast path is on,
 * else noble (the same bytes either way).
 * @throws OcitrustError INVALID_ARGUMENT when the seed is not 32 bytes
 */
export function publicKeyOf(secretSeed: Uint8Array): Uint8Array {
  assertArg(secretSeed instanceof Uint8Array && secretSeed.length === 32, 'secretSeed', 'Uint8Array of length 32', secretSeed);
  if (!fastPath) return ed.getPublicKey(secretSeed);
  const spki = createPublicKey(nativePrivateKey(secretSeed)).export({ format: 'der', type: 'spki' });
  // SubjectPublicKeyInfo of Ed25519: the 12-byte header, then the 32-byte key.
  if (spki.length !== 44 || !spki.subarray(0, 12).equals(SPKI_ED25519_PREFIX)) return ed.getPublicKey(secretSeed);
  return new Uint8Array(spki.subarray(12));
}

/** A fresh random 32-byte secret seed (CSPRNG). */
export function randomSecretSeed(): Uint8Array {
  return ed.utils.randomSecretKey();
}

/**
 * True when `publicKey` is an acceptable verification key: 32 bytes, a canonical encoding
 * of a point on the curve, and not of small order (such keys make forgeries trivial).
 */
export function isValidPublicKey(publicKey: Uint8Array): boolean {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return false;
  // The answer depends on the 32 bytes alone, and one verify meets the same keys several
  // times (the pinned and the cached root, a role's keys when parsed and when used): each
  // distinct key is decoded once per process (a point decoding is a modular square root in
  // JavaScript, ≈0.3 ms in a fresh process). Keyed by the bytes, so a changed array is a new key.
  const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, 32).toString('hex');
  const known = validityMemo.get(id);
  if (known !== undefined) return known;
  const valid = decodesToValidKey(publicKey);
  if (validityMemo.size >= VALIDITY_MEMO_MAX) validityMemo.delete(validityMemo.keys().next().value!);
  validityMemo.set(id, valid);
  return valid;
}

const VALIDITY_MEMO_MAX = 1024;
/** raw key hex → isValidPublicKey's answer (oldest dropped first). */
const validityMemo = new Map<string, boolean>();

function decodesToValidKey(publicKey: Uint8Array): boolean {
  try {
    const p = ed.Point.fromBytes(publicKey, false);
    if (p.isSmallOrder()) return false;
    // fromBytes(zip215=false) rejects non-canonical y; re-encode to be sure.
    const re = p.toBytes();
    for (let i = 0; i < 32; i++) if (re[i] !== publicKey[i]) return false;
    return true;
  } catch {
    return false;
  }
}
