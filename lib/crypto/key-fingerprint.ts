import { assertArg } from '../errors/index.js';
import { canonicalBytes } from './canonical.js';
import { sha256Hex, toHex } from './hash.js';

/** Lowercase hex SHA-256: the form of a key fingerprint. */
export const KEY_FINGERPRINT_RE = /^[0-9a-f]{64}$/;

/** What identifies public key material: its type and its raw public bytes. */
export interface KeyMaterial {
  /** Default `ed25519`, the only key type ocitrust accepts. */
  readonly keytype?: string;
  /** The raw public key (32 bytes for Ed25519). */
  readonly publicKey: Uint8Array;
}

/**
 * The identity of a key's material, independent of how its TUF key object is spelled:
 * lowercase hex SHA-256 of the JCS form of the minimal key object
 * `{"keytype","scheme","keyval":{"public"}}`, which is the keyid ocitrust gives its own keys.
 *
 * A TUF keyid hashes the key object *as given*, unknown fields (the legacy
 * `keyid_hash_algorithms`) included, so one key has many valid keyids. Anything that counts
 * keys toward a threshold, or asks "is this the same key", must compare fingerprints, never
 * keyids: otherwise one key listed under two keyids counts twice (go-tuf GHSA-4f8r-qqr9-fq8j).
 *
 * @example keyFingerprint(publicKey) === keyFingerprint(PublicKey.fromJSON({ ...publicKey.toJSON(), extra: 1 }))
 * @throws INVALID_ARGUMENT unless `key` is Ed25519 material of 32 bytes.
 */
export function keyFingerprint(key: KeyMaterial): string {
  assertArg(typeof key === 'object' && key !== null, 'key', '{keytype?, publicKey}', key);
  const keytype = key.keytype ?? 'ed25519';
  assertArg(keytype === 'ed25519', 'key.keytype', "'ed25519'", keytype);
  assertArg(key.publicKey instanceof Uint8Array && key.publicKey.length === 32, 'key.publicKey', 'Uint8Array of length 32', key.publicKey);
  return sha256Hex(canonicalBytes({ keytype, scheme: keytype, keyval: { public: toHex(key.publicKey) } }));
}
