/**
 * What a root *means*, independent of how its bytes are written (DESIGN §3 Rollback): the
 * public key material and threshold of each top-level role. Two roots with the same meaning
 * are interchangeable as a trust anchor, whatever their whitespace, key order, keyids (one key
 * may appear under several keyids), version or expiry; two with different meanings are not.
 */
import { canonicalBytes } from '../crypto/canonical.js';
import { sha256Hex, toHex } from '../crypto/hash.js';
import type { Root } from '../metadata/root.js';

/**
 * A fingerprint of a root's meaning: SHA-256 hex over the canonical JSON of
 * `{role: {threshold, keys: [sorted hex public keys]}}` for every top-level role.
 *
 * @example rootMeaningFingerprint(Metadata.fromBytes('root', bytes).signed)
 */
export function rootMeaningFingerprint(root: Root): string {
  const roles: Record<string, { threshold: number; keys: string[] }> = {};
  for (const [name, role] of [...root.roles].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    // Key material, not keyids: the same key listed under two keyids is one key.
    const keys = [...new Set(role.keyids.map((id) => root.keys.get(id)).filter((k) => k !== undefined).map((k) => `${k.toJSON().keytype}:${toHex(k.publicKey)}`))].sort();
    roles[name] = { threshold: role.threshold, keys };
  }
  return sha256Hex(canonicalBytes({ roles }));
}

/** One version of a trusted root chain, as persisted with the trusted state. */
export interface ChainLink {
  readonly version: number;
  /** {@link rootMeaningFingerprint} of that version. */
  readonly fingerprint: string;
}
