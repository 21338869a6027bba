import { OcitrustError } from '../errors/index.js';
import { canonicalBytes } from '../crypto/canonical.js';
import { sha256Hex, fromHex, toHex } from '../crypto/hash.js';
import { isValidPublicKey, verifyEd25519 } from '../crypto/ed25519.js';
import { isJsonObject } from '../json.js';
import { keyFingerprint } from '../crypto/key-fingerprint.js';

/** The TUF key object of an Ed25519 public key, as it appears in metadata. */
export interface TufKeyJSON {
  keytype: 'ed25519';
  scheme: 'ed25519';
  keyval: { public: string; [k: string]: unknown };
  [k: string]: unknown;
}

/**
 * An Ed25519 public key in TUF form. The keyid is the SHA-256 of the canonical form of the key
 * object exactly as given (unknown fields such as legacy `keyid_hash_algorithms` included), so
 * keyids computed here match the ones other TUF implementations compute for the same object.
 * The price is that one key has many keyids: compare keys by {@link PublicKey.fingerprint}.
 */
export class PublicKey {
  readonly keyid: string;
  readonly publicKey: Uint8Array;
  private readonly json: TufKeyJSON;
  #fingerprint: string | undefined;

  private constructor(json: TufKeyJSON, raw: Uint8Array) {
    this.json = json;
    this.publicKey = raw;
    this.keyid = sha256Hex(canonicalBytes(json));
  }

  /** Key from 32 raw bytes. @throws KEY_INVALID */
  static fromRaw(raw: Uint8Array): PublicKey {
    if (!isValidPublicKey(raw)) {
      throw new OcitrustError('KEY_INVALID', 'not a valid Ed25519 public key (wrong length, non-canonical or small-order point)');
    }
    return new PublicKey({ keytype: 'ed25519', scheme: 'ed25519', keyval: { public: toHex(raw) } }, new Uint8Array(raw));
  }

  /**
   * Parses an untrusted TUF key object. Only ed25519/ed25519 with a 64-hex public value is
   * accepted; the point must be canonical and not of small order.
   * @throws KEY_INVALID, KEY_UNSUPPORTED
   */
  static fromJSON(v: unknown): PublicKey {
    if (!isJsonObject(v) || !isJsonObject(v.keyval)) throw new OcitrustError('KEY_INVALID', 'key object must have keytype, scheme and keyval');
    if (v.keytype !== 'ed25519' || v.scheme !== 'ed25519') {
      throw new OcitrustError('KEY_UNSUPPORTED', `unsupported key type ${JSON.stringify(v.keytype)}/${JSON.stringify(v.scheme)}: only ed25519 is accepted`);
    }
    const pub = v.keyval.public;
    if (typeof pub !== 'string' || !/^[0-9a-f]{64}$/.test(pub)) {
      throw new OcitrustError('KEY_INVALID', 'keyval.public must be 64 lowercase hex characters');
    }
    const raw = fromHex(pub)!;
    if (!isValidPublicKey(raw)) throw new OcitrustError('KEY_INVALID', 'keyval.public is not a valid Ed25519 point (non-canonical or small order)');
    return new PublicKey(structuredClone(v) as TufKeyJSON, raw);
  }

  /**
   * The identity of the key material ({@link keyFingerprint}): equal for every spelling of this
   * key's object, unlike {@link keyid}. Thresholds count fingerprints.
   */
  get fingerprint(): string {
    this.#fingerprint ??= keyFingerprint(this);
    return this.#fingerprint;
  }

  /** The key object, unknown fields kept. */
  toJSON(): TufKeyJSON {
    return structuredClone(this.json);
  }

  /** Strict Ed25519 verification with this key; never throws. */
  verify(signature: Uint8Array, message: Uint8Array): boolean {
    return verifyEd25519(signature, message, this.publicKey);
  }
}
