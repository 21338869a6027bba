import { assertArg } from '../errors/index.js';
import { canonicalBytes } from './canonical.js';
import { sha256Hex, toHex } from './hash.js';
import { p256FromPoint } from './ecdsa-p256.js';
import { rsaFromSpki } from './rsa-pss.js';

/** Lowercase hex SHA-256: the form of a key fingerprint. */
export const KEY_FINGERPRINT_RE = /^[0-9a-f]{64}$/;

/** The kinds of key material ocitrust knows, independent of how a TUF or Notary key object names them. */
export type KeyAlgorithm = 'ed25519' | 'ecdsa-p256' | 'rsa';

/** What identifies public key material: its algorithm and its public bytes. */
export interface KeyMaterial {
  /** The algorithm ({@link PublicKey} has it). Wins over `keytype`. */
  readonly algorithm?: KeyAlgorithm;
  /** Default `ed25519`; one of the {@link KeyAlgorithm} names. */
  readonly keytype?: string;
  /**
   * The public key: Ed25519 32 raw bytes; ECDSA P-256 the point, compressed (33 bytes) or
   * uncompressed (65 bytes); RSA the DER SubjectPublicKeyInfo.
   */
  readonly publicKey: Uint8Array;
}

/**
 * The identity of a key's material, independent of how its key object is spelled: lowercase
 * hex SHA-256 of the JCS form of a minimal key object over the one normal encoding of the key.
 *
 * - Ed25519: `{"keytype":"ed25519","scheme":"ed25519","keyval":{"public":<hex>}}`, which is the
 *   keyid ocitrust gives its own Ed25519 keys (unchanged since revocations name keys by it).
 * - ECDSA P-256: `{"keytype":"ecdsa","scheme":"ecdsa-sha2-nistp256","keyval":{"public":<hex of
 *   the uncompressed point>}}`: compressed or uncompressed, PEM or hex, TUF `ecdsa` or Notary
 *   `ecdsa`/`ecdsa-x509` (a certificate's key is its SPKI), it is one fingerprint.
 * - RSA: `{"keytype":"rsa","scheme":"rsa","keyval":{"public":<hex of the DER SPKI as OpenSSL
 *   re-exports it>}}`, whether bare (`rsa`) or in a certificate (`rsa-x509`).
 *
 * A keyid hashes the key object *as given*, so one key has many valid keyids. Anything that
 * counts keys toward a threshold, or asks "is this the same key", must compare fingerprints,
 * never keyids: otherwise one key listed under two keyids counts twice (go-tuf GHSA-4f8r-qqr9-fq8j).
 *
 * @example keyFingerprint(publicKey) === keyFingerprint(PublicKey.fromJSON({ ...publicKey.toJSON(), extra: 1 }))
 * @throws INVALID_ARGUMENT unless `key` is material of a known algorithm; KEY_INVALID for an
 *   ECDSA point not on the curve or an unusable RSA key.
 */
export function keyFingerprint(key: KeyMaterial): string {
  assertArg(typeof key === 'object' && key !== null, 'key', '{algorithm?, keytype?, publicKey}', key);
  const alg = key.algorithm ?? key.keytype ?? 'ed25519';
  assertArg(alg === 'ed25519' || alg === 'ecdsa-p256' || alg === 'rsa', 'key.algorithm', "'ed25519', 'ecdsa-p256' or 'rsa'", alg);
  assertArg(key.publicKey instanceof Uint8Array, 'key.publicKey', 'Uint8Array', key.publicKey);
  if (alg === 'ed25519') {
    assertArg(key.publicKey.length === 32, 'key.publicKey', 'Uint8Array of length 32', key.publicKey);
    return sha256Hex(canonicalBytes({ keytype: 'ed25519', scheme: 'ed25519', keyval: { public: toHex(key.publicKey) } }));
  }
  if (alg === 'ecdsa-p256') {
    assertArg(key.publicKey.length === 33 || key.publicKey.length === 65, 'key.publicKey', 'P-256 point of 33 or 65 bytes', key.publicKey);
    const point = p256FromPoint(key.publicKey).point;
    return sha256Hex(canonicalBytes({ keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256', keyval: { public: toHex(point) } }));
  }
  const spki = rsaFromSpki(key.publicKey).spki;
  return sha256Hex(canonicalBytes({ keytype: 'rsa', scheme: 'rsa', keyval: { public: toHex(spki) } }));
}
