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

/** The keyids of `keys`, checked to be unique. @throws METADATA_DUPLICATE_KEYID */
export function keyMap(keys: readonly PublicKey[], where: string): Map<string, PublicKey> {
  const m = new Map<string, PublicKey>();
  for (const k of keys) {
    if (m.has(k.keyid)) throw new OcitrustError('METADATA_DUPLICATE_KEYID', `${where}: key ${k.keyid.slice(0, 16)}… given twice`);
    m.set(k.keyid, k);
  }
  return m;
}
