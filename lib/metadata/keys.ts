import { OcitrustError } from '../errors/index.js';
import { PublicKey } from '../keys/key.js';
import { keyid, obj } from './guard.js';

/**
 * Parses a TUF `keys` dictionary (keyid → key object). Each keyid is recomputed from its key
 * object exactly as given and must equal the dictionary key: tuf-spec "Clients MUST calculate
 * each KEYID to verify this is correct for the associated key".
 *
 * @throws METADATA_INVALID, METADATA_KEYID_MISMATCH, KEY_INVALID, KEY_UNSUPPORTED
 */
export function keysFromJSON(v: unknown, where: string): ReadonlyMap<string, PublicKey> {
  const o = obj(v, where);
  const out = new Map<string, PublicKey>();
  for (const [id, k] of Object.entries(o)) {
    keyid(id, `${where} key name`);
    const key = PublicKey.fromJSON(k);
    if (key.keyid !== id) {
      throw new OcitrustError('METADATA_KEYID_MISMATCH', `${where}: keyid ${id.slice(0, 16)}… does not match its key (recomputed ${key.keyid.slice(0, 16)}…)`);
    }
    out.set(id, key);
  }
  return out;
}

/** The `keys` dictionary JSON. */
export function keysToJSON(keys: ReadonlyMap<string, PublicKey>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [id, k] of keys) out[id] = k.toJSON();
  return out;
}

/**
 * The keyids of `keys`, checked to be unique, both as keyids and as key material (one key
 * spelled two ways has two keyids). @throws METADATA_DUPLICATE_KEYID, METADATA_DUPLICATE_KEY
 */
export function keyMap(keys: readonly PublicKey[], where: string): Map<string, PublicKey> {
  const m = new Map<string, PublicKey>();
  for (const k of keys) {
    if (m.has(k.keyid)) throw new OcitrustError('METADATA_DUPLICATE_KEYID', `${where}: key ${k.keyid.slice(0, 16)}… given twice`);
    m.set(k.keyid, k);
  }
  checkDistinctKeys([...m.keys()], m, where);
  return m;
}

/**
 * Checks that the keyids of one role name distinct key material. A keyid hashes the key object
 * as spelled, so the same public key can be listed under two keyids; a threshold counting
 * keyids would then count one key twice (go-tuf GHSA-4f8r-qqr9-fq8j). Thresholds count key
 * material everywhere anyway; such metadata is also refused outright, because no honest
 * tool writes it and accepting it would hide a role that is weaker than it reads. Keyids
 * missing from `keys` are left to the caller's own check.
 *
 * @throws METADATA_DUPLICATE_KEY
 */
export function checkDistinctKeys(keyids: readonly string[], keys: ReadonlyMap<string, PublicKey>, where: string): void {
  const seen = new Map<string, string>();
  for (const id of keyids) {
    const k = keys.get(id);
    if (!k) continue;
    const other = seen.get(k.fingerprint);
    if (other !== undefined && other !== id) {
      throw new OcitrustError(
        'METADATA_DUPLICATE_KEY',
        `${where}: keyids ${other.slice(0, 16)}… and ${id.slice(0, 16)}… are the same public key (key ${k.fingerprint.slice(0, 16)}…); a key may be listed once per role`,
        { details: { keyids: [other, id], fingerprint: k.fingerprint } },
      );
    }
    seen.set(k.fingerprint, id);
  }
}
