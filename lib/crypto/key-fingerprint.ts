import { canonicalBytes } from './canonical.js';
import { sha256Hex, toHex } from './hash.js';

/** Lowercase hex SHA-256: the form of a key fingerprint. */
export const KEY_FINGERPRINT_RE = /^[0-9a-f]{64}$/;

/**
 * The fingerprint of a public key's material: lowercase hex SHA-256 of the JCS form of the
 * bare TUF key object `{"keytype":"ed25519","scheme":"ed25519","keyval":{"public":"<hex>"}}`.
 *
 * A keyid is computed over the key object *as given*, so fields such as
 * `keyid_hash_algorithms` give one key many keyids; the fingerprint ignores everything but the
 * key type, the scheme and the public bytes, so one key has one fingerprint wherever it
 * appears. That is what a decision about "this key" (a revocation naming the key that made
 * a signature) must name. For a key object without extra fields — every key ocitrust writes —
 * the fingerprint equals the keyid, so users see one identifier. Key type and scheme are part
 * of the hashed object, so material of two key types can never share a fingerprint.
 *
 * @example keyFingerprint(PublicKey.fromRaw(raw)) === PublicKey.fromRaw(raw).keyid // true
 */
export function keyFingerprint(key: { readonly publicKey: Uint8Array }): string {
  return sha256Hex(canonicalBytes({ keytype: 'ed25519', scheme: 'ed25519', keyval: { public: toHex(key.publicKey) } }));
}
