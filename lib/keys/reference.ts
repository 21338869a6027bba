import { readFile } from 'node:fs/promises';
import { OcitrustError } from '../errors/index.js';
import { isJsonObject, parseJson } from '../json.js';
import { canonicalBytes } from '../crypto/canonical.js';
import { formatTime, parseTime, type Clock, systemClock } from '../clock.js';
import { PublicKey } from './key.js';
import { isExternalKeyRef } from './external.js';
import { writeFileAtomic } from './atomic-write.js';

/*
 * A key reference file `<name>.ref` in the key store: a key whose private half lives in a
 * PKCS#11 token or behind a signer plugin, recorded with its public key so that the key store
 * lists it, finds it by keyid (signing picks keys by the keyids the metadata delegates) and
 * checks that the token or plugin still holds that very key. It holds no secret.
 *
 * {"type":"ocitrust-key-reference","version":1,"keyid":"<64 hex>","key":{TUF key},
 *  "created":"2026-01-01T00:00:00Z","uri":"pkcs11:token=ci;object=release?module-path=…"}
 */

export const KEYREF_TYPE = 'ocitrust-key-reference';
const FIELDS = new Set(['type', 'version', 'keyid', 'key', 'created', 'uri']);
const MAX_BYTES = 16 * 1024;

/** One key reference. */
export class KeyReference {
  readonly uri: string;
  readonly publicKey: PublicKey;
  readonly created: string;

  constructor(uri: string, publicKey: PublicKey, created: string) {
    this.uri = uri;
    this.publicKey = publicKey;
    this.created = created;
  }

  get keyid(): string {
    return this.publicKey.keyid;
  }

  static create(uri: string, publicKey: PublicKey, clock: Clock = systemClock): KeyReference {
    return new KeyReference(uri, publicKey, formatTime(clock.now()));
  }

  /** @throws KEY_REFERENCE_INVALID, KEY_INVALID, KEY_UNSUPPORTED */
  static parse(bytes: Uint8Array): KeyReference {
    if (bytes.length > MAX_BYTES) throw new OcitrustError('KEY_REFERENCE_INVALID', `key reference file: expected at most ${MAX_BYTES} bytes, got ${bytes.length}`);
    let v: unknown;
    try {
      v = parseJson(bytes, { maxBytes: MAX_BYTES, maxDepth: 8, what: 'key reference file' });
    } catch (e) {
      throw new OcitrustError('KEY_REFERENCE_INVALID', `key reference file: not JSON (${(e as Error).message})`, { cause: e });
    }
    if (!isJsonObject(v) || v.type !== KEYREF_TYPE || v.version !== 1) throw new OcitrustError('KEY_REFERENCE_INVALID', `key reference file: expected type ${KEYREF_TYPE} version 1`);
    for (const k of Object.keys(v)) if (!FIELDS.has(k)) throw new OcitrustError('KEY_REFERENCE_INVALID', `key reference file: unknown field ${JSON.stringify(k.slice(0, 40))}`);
    if (typeof v.uri !== 'string' || !isExternalKeyRef(v.uri) || v.uri.length > 4096) throw new OcitrustError('KEY_REFERENCE_INVALID', 'key reference file: uri must be a pkcs11: or plugin: reference');
    if (typeof v.created !== 'string' || parseTime(v.created) === null) throw new OcitrustError('KEY_REFERENCE_INVALID', 'key reference file: created must be YYYY-MM-DDTHH:MM:SSZ');
    const key = PublicKey.fromJSON(v.key);
    if (v.keyid !== key.keyid) throw new OcitrustError('KEYFILE_KEY_MISMATCH', `key reference file: keyid ${String(v.keyid).slice(0, 64)} does not match its public key (${key.keyid})`);
    return new KeyReference(v.uri, key, v.created);
  }

  toBytes(): Uint8Array {
    return canonicalBytes({ type: KEYREF_TYPE, version: 1, keyid: this.keyid, key: this.publicKey.toJSON(), created: this.created, uri: this.uri });
  }
}

/** Reads a reference file. @throws KEYFILE_IO, KEY_REFERENCE_INVALID */
export async function readKeyReference(path: string): Promise<KeyReference> {
  let b: Buffer;
  try {
    b = await readFile(path);
  } catch (e) {
    throw new OcitrustError('KEYFILE_IO', `cannot read key reference ${path}: ${(e as Error).message}`, { cause: e });
  }
  return KeyReference.parse(new Uint8Array(b));
}

/** Writes a reference file (never replacing one). @throws KEY_EXISTS, KEYFILE_IO */
export async function writeKeyReference(path: string, ref: KeyReference): Promise<void> {
  await writeFileAtomic(path, ref.toBytes(), { mode: 0o600 });
}
