import { OcitrustError, assertArg } from '../errors/index.js';
import { canonicalBytes } from '../crypto/canonical.js';
import { fromHex, toHex } from '../crypto/hash.js';
import { findNumberLexeme, parseJson } from '../json.js';
import { DEFAULT_LIMITS, type Limits } from '../config.js';
import type { PublicKey } from '../keys/key.js';
import type { Signer } from '../keys/signer.js';
import { arr, invalid, keyid, obj, rest, str, unfrozen } from './guard.js';
import type { Role } from './role.js';
import { Root } from './root.js';
import { Snapshot } from './snapshot.js';
import { Targets } from './targets.js';
import { Timestamp } from './timestamp.js';
import { Signed, type TopLevelRoleName } from './signed.js';

/** The model class of each top-level role. */
export interface SignedTypes {
  root: Root;
  targets: Targets;
  snapshot: Snapshot;
  timestamp: Timestamp;
}

/** One entry of `signatures`: hex signature (Ed25519, ECDSA DER, …) over the canonical bytes of `signed`. */
export class Signature {
  readonly keyid: string;
  /** Hex, as given. */
  readonly sig: string;
  readonly unrecognized: Readonly<Record<string, unknown>>;

  /** @throws METADATA_INVALID */
  constructor(o: { keyid: string; sig: string; unrecognized?: Readonly<Record<string, unknown>> }, where = 'signatures[]') {
    this.keyid = keyid(o.keyid, `${where}.keyid`);
    if (typeof o.sig !== 'string' || fromHex(o.sig) === null) invalid(`${where}.sig`, 'expected a hex string');
    this.sig = o.sig;
    this.unrecognized = o.unrecognized ?? Object.freeze({});
    Object.freeze(this);
  }

  /** @throws METADATA_INVALID */
  static fromJSON(v: unknown, where: string): Signature {
    const o = obj(v, where);
    return new Signature({ keyid: str(o.keyid, `${where}.keyid`), sig: str(o.sig, `${where}.sig`), unrecognized: rest(o, ['keyid', 'sig']) }, where);
  }

  toJSON(): Record<string, unknown> {
    return { ...unfrozen(this.unrecognized), keyid: this.keyid, sig: this.sig };
  }
}

const PARSERS: { [K in TopLevelRoleName]: (v: unknown, limits: Limits) => SignedTypes[K] } = {
  root: (v) => Root.fromJSON(v),
  targets: (v, l) => Targets.fromJSON(v, l.maxDelegations),
  snapshot: (v) => Snapshot.fromJSON(v),
  timestamp: (v) => Timestamp.fromJSON(v),
};

/**
 * A signed TUF document `{"signed": …, "signatures": [{"keyid","sig"}]}` (DESIGN §3). The
 * signatures cover the JCS bytes of `signed`; unrecognized fields at every level are kept, so
 * those bytes are the ones the signer signed. Immutable: {@link Metadata.sign} returns a copy.
 */
export class Metadata<T extends Signed = Signed> {
  readonly signed: T;
  /** Signatures by keyid; a keyid appears at most once (TUF: "The keyid MUST be unique"). */
  readonly signatures: ReadonlyMap<string, Signature>;
  readonly unrecognized: Readonly<Record<string, unknown>>;
  #signedBytes: Uint8Array | undefined;

  /** @throws METADATA_DUPLICATE_KEYID */
  constructor(signed: T, signatures: readonly Signature[] = [], unrecognized?: Readonly<Record<string, unknown>>) {
    assertArg(signed instanceof Signed, 'signed', 'a Root, Targets, Snapshot or Timestamp', signed);
    assertArg(Array.isArray(signatures) && signatures.every((s) => s instanceof Signature), 'signatures', 'array of Signature', signatures);
    assertArg(unrecognized === undefined || (typeof unrecognized === 'object' && unrecognized !== null), 'unrecognized', 'object', unrecognized);
    const m = new Map<string, Signature>();
    for (const s of signatures) {
      if (m.has(s.keyid)) {
        throw new OcitrustError('METADATA_DUPLICATE_KEYID', `signatures: keyid ${s.keyid.slice(0, 16)}… signs more than once`);
      }
      m.set(s.keyid, s);
    }
    this.signed = signed;
    this.signatures = m;
    this.unrecognized = unrecognized ?? Object.freeze({});
  }

  /**
   * Parses an untrusted metadata document of the given role. Fails on a wrong `_type`, on
   * duplicate signature keyids and on anything that could not be re-canonicalized.
   *
   * @example Metadata.fromJSON('targets', JSON.parse(text))
   * @throws METADATA_INVALID, METADATA_TYPE_MISMATCH, METADATA_DUPLICATE_KEYID, METADATA_DUPLICATE_KEY, METADATA_KEYID_MISMATCH,
   *   METADATA_SPEC_VERSION_UNSUPPORTED, METADATA_UNSUPPORTED, METADATA_THRESHOLD_INVALID, METADATA_ROLE_NAME_INVALID,
   *   KEY_INVALID, KEY_UNSUPPORTED, CANONICAL_JSON_UNSUPPORTED, INPUT_TOO_LARGE
   */
  static fromJSON<K extends TopLevelRoleName>(type: K, v: unknown, limits: Limits = DEFAULT_LIMITS): Metadata<SignedTypes[K]> {
    assertArg(Object.prototype.hasOwnProperty.call(PARSERS, type), 'type', 'root, targets, snapshot or timestamp', type);
    const o = obj(v, 'metadata');
    const signed = PARSERS[type](o.signed, limits) as SignedTypes[K];
    const sigs = arr(o.signatures, 'signatures').map((s, i) => Signature.fromJSON(s, `signatures[${i}]`));
    const md = new Metadata(signed, sigs, rest(o, ['signed', 'signatures']));
    md.signedBytes(); // anything not canonicalizable (floats in unknown fields) fails here, not at verify time
    return md;
  }

  /**
   * Parses metadata bytes: strict JSON (no duplicate keys), bounded by `limits.maxMetadataBytes`.
   * @throws as {@link Metadata.fromJSON}, plus JSON_MALFORMED, JSON_DUPLICATE_KEY, JSON_TOO_DEEP
   */
  static fromBytes<K extends TopLevelRoleName>(type: K, bytes: Uint8Array, limits: Limits = DEFAULT_LIMITS): Metadata<SignedTypes[K]> {
    const doc = parseJson(bytes, { maxBytes: limits.maxMetadataBytes, what: `${type} metadata` });
    // TUF numbers are integers (canonical JSON has no others); `1.0` or `1e3` would read as one
    // here while go-tuf and python-tuf refuse them, so clients would disagree on the same bytes.
    const lexeme = findNumberLexeme(bytes, (l) => !/^(?:0|-?[1-9][0-9]*)$/.test(l));
    if (lexeme !== undefined) invalid(`${type} metadata`, `numbers must be integers written without fraction or exponent, got ${lexeme.slice(0, 40)}`);
    return Metadata.fromJSON(type, doc, limits);
  }

  /** The bytes the signatures cover: JCS of `signed`. */
  signedBytes(): Uint8Array {
    this.#signedBytes ??= canonicalBytes(this.signed.toJSON());
    return this.#signedBytes;
  }

  toJSON(): Record<string, unknown> {
    return { ...unfrozen(this.unrecognized), signed: this.signed.toJSON(), signatures: [...this.signatures.values()].map((s) => s.toJSON()) };
  }

  /** Canonical bytes of the whole document, as ocitrust publishes it. */
  toBytes(): Uint8Array {
    return canonicalBytes(this.toJSON());
  }

  /**
   * A copy with the signer's signature over {@link signedBytes} added, replacing an earlier
   * signature by the same keyid.
   */
  async sign(signer: Signer): Promise<Metadata<T>> {
    const sig = await signer.sign(this.signedBytes());
    assertArg(sig instanceof Uint8Array && sig.length > 0 && sig.length <= 512, 'signer.sign()', 'signature of 1 to 512 bytes', sig);
    const others = [...this.signatures.values()].filter((s) => s.keyid !== signer.keyid);
    const md = new Metadata(this.signed, [...others, new Signature({ keyid: signer.keyid, sig: toHex(sig) })], this.unrecognized);
    md.#signedBytes = this.#signedBytes;
    return md;
  }

  /** A copy with the same signed part and no signatures. */
  unsigned(): Metadata<T> {
    return new Metadata(this.signed, [], this.unrecognized);
  }

  /**
   * The keyids of `role` whose key produced a valid signature over `delegate`, one per distinct
   * key: a key listed under two keyids (a keyid hashes the key object as spelled) counts once,
   * whichever keyids its signatures carry (go-tuf GHSA-4f8r-qqr9-fq8j). Signatures by keys the
   * role does not list never count. The size of the result is what thresholds compare against.
   */
  static validSigners(role: Role, keys: ReadonlyMap<string, PublicKey>, delegate: Metadata): Set<string> {
    const ok = new Set<string>();
    const counted = new Set<string>();
    const bytes = delegate.signedBytes();
    for (const id of new Set(role.keyids)) {
      const key = keys.get(id);
      const s = delegate.signatures.get(id);
      if (!key || !s || counted.has(key.fingerprint)) continue;
      const sig = fromHex(s.sig);
      if (sig && key.verify(sig, bytes)) {
        counted.add(key.fingerprint);
        ok.add(id);
      }
    }
    return ok;
  }

  /**
   * Checks that a threshold of distinct keys of `roleName` (a top-level role when this is root,
   * a delegated role when this is targets) signed `delegate` (tuf-spec 5.3.4, 5.4.2, 5.5.3, 5.6.3).
   *
   * @throws METADATA_ROLE_NOT_FOUND, TUF_THRESHOLD_NOT_MET
   */
  verifyDelegate(roleName: string, delegate: Metadata): void {
    const { role, keys } = this.delegation(roleName);
    const ok = Metadata.validSigners(role, keys, delegate);
    if (ok.size < role.threshold) {
      throw new OcitrustError('TUF_THRESHOLD_NOT_MET', `${roleName} metadata is signed by ${ok.size} of the ${role.threshold} required keys`, {
        details: { role: roleName, valid: ok.size, threshold: role.threshold },
      });
    }
  }

  private delegation(roleName: string): { role: Role; keys: ReadonlyMap<string, PublicKey> } {
    const s: Signed = this.signed;
    if (s instanceof Root) return { role: s.role(roleName), keys: s.keys };
    if (s instanceof Targets) {
      const role = s.delegations?.role(roleName);
      if (!role) throw new OcitrustError('METADATA_ROLE_NOT_FOUND', `targets does not delegate ${JSON.stringify(String(roleName).slice(0, 64))}`);
      return { role, keys: s.delegations!.keys };
    }
    throw new OcitrustError('METADATA_ROLE_NOT_FOUND', `${s.type} metadata delegates no roles`);
  }
}
