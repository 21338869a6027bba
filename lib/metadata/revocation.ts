import { isDigest } from '../crypto/hash.js';
import { KEY_FINGERPRINT_RE } from '../crypto/key-fingerprint.js';
import type { Revocation as RevocationView, RevokedSignature as RevokedSignatureView } from '../verify/trust.js';
import { invalid, obj, rest, str, time, unfrozen } from './guard.js';
import { checkRoleName } from './role.js';

/** The most characters a revocation reason may have. */
export const MAX_REASON_LENGTH = 1024;

/** Options of a {@link RevokedSignature} (the shape of `revocations[].signature`). */
export interface RevokedSignatureOptions {
  /** Fingerprint of the key that made the signature (lib/crypto/key-fingerprint.ts): 64 lowercase hex. */
  readonly key: string;
  /** Digest of the DSSE PAE(payloadType, payload) it signed, `sha256:<hex>`. */
  readonly pae: string;
  readonly unrecognized?: Readonly<Record<string, unknown>>;
}

/**
 * One signature, named by what the registry cannot re-encode (DESIGN §6): the key that made
 * it and the DSSE pre-authentication encoding it signed. Envelope bytes, JSON layout, base64
 * alphabet, padding, keyid hints and other signatures in the same envelope play no part.
 * Ed25519 (strict, zip215 false) is deterministic and non-malleable, so one key over one PAE
 * is one signature. Naming key + PAE rather than the signature bytes also stays right for
 * malleable schemes such as ECDSA, where (r, s) and (r, n − s) are both valid: every valid
 * signature by that key over that PAE is covered. A new statement signed later (another
 * `signedAt`, so another payload and PAE) is a new signature and is not covered.
 */
export class RevokedSignature implements RevokedSignatureView {
  readonly key: string;
  readonly pae: string;
  readonly unrecognized: Readonly<Record<string, unknown>>;

  /** @throws METADATA_INVALID */
  constructor(o: RevokedSignatureOptions, where = 'revocations[].signature') {
    if (typeof o.key !== 'string' || !KEY_FINGERPRINT_RE.test(o.key)) invalid(`${where}.key`, 'expected a key fingerprint (64 lowercase hex)');
    if (!isDigest(o.pae)) invalid(`${where}.pae`, 'expected sha256:<64 hex> or sha512:<128 hex>');
    this.key = o.key;
    this.pae = o.pae;
    this.unrecognized = o.unrecognized ?? Object.freeze({});
    Object.freeze(this);
  }

  /** @throws METADATA_INVALID */
  static fromJSON(v: unknown, where: string): RevokedSignature {
    const o = obj(v, where);
    return new RevokedSignature({ key: str(o.key, `${where}.key`), pae: str(o.pae, `${where}.pae`), unrecognized: rest(o, ['key', 'pae']) }, where);
  }

  toJSON(): Record<string, unknown> {
    return { ...unfrozen(this.unrecognized), key: this.key, pae: this.pae };
  }
}

/** Options of a {@link Revocation} (the shape of `targets.signed.revocations[]`). */
export interface RevocationOptions {
  /** Subject manifest digest, `sha256:<hex>`. */
  readonly digest: string;
  /** Only signatures of this role are revoked. */
  readonly role?: string;
  /** Only this one signature (a key and the PAE it signed) is revoked. */
  readonly signature?: RevokedSignatureOptions | RevokedSignature;
  /**
   * @deprecated Legacy: only the envelope whose bytes hash to this digest. Parsed, kept on
   * round trips and honoured by the verifier (it can only revoke more), but never written by
   * ocitrust any more: envelope bytes can be re-encoded without touching the signature, so it
   * names nothing an attacker cannot change. Use `signature`.
   */
  readonly envelope?: string;
  readonly reason: string;
  /** `YYYY-MM-DDTHH:MM:SSZ`. */
  readonly revokedAt?: string;
  readonly unrecognized?: Readonly<Record<string, unknown>>;
}

/**
 * One revocation published in targets metadata (DESIGN §6). Deleting a referrer is not
 * revocation (the registry is untrusted); a signed targets entry is.
 */
export class Revocation implements RevocationView {
  readonly digest: string;
  readonly role?: string;
  readonly signature?: RevokedSignature;
  readonly envelope?: string;
  readonly reason: string;
  readonly revokedAt?: string;
  readonly unrecognized: Readonly<Record<string, unknown>>;

  /** @throws METADATA_INVALID, METADATA_ROLE_NAME_INVALID */
  constructor(o: RevocationOptions, where = 'revocations[]') {
    if (!isDigest(o.digest)) invalid(`${where}.digest`, 'expected sha256:<64 hex> or sha512:<128 hex>');
    this.digest = o.digest;
    if (o.role !== undefined) this.role = checkRoleName(o.role, `${where}.role`);
    if (o.signature !== undefined) {
      this.signature = o.signature instanceof RevokedSignature ? o.signature : new RevokedSignature(o.signature, `${where}.signature`);
    }
    if (o.envelope !== undefined) {
      if (!isDigest(o.envelope)) invalid(`${where}.envelope`, 'expected sha256:<64 hex> or sha512:<128 hex>');
      this.envelope = o.envelope;
    }
    this.reason = str(o.reason, `${where}.reason`);
    if (this.reason.length > MAX_REASON_LENGTH) invalid(`${where}.reason`, `longer than ${MAX_REASON_LENGTH} characters`);
    if (o.revokedAt !== undefined) this.revokedAt = time(o.revokedAt, `${where}.revokedAt`).text;
    this.unrecognized = o.unrecognized ?? Object.freeze({});
    Object.freeze(this);
  }

  /** @throws METADATA_INVALID, METADATA_ROLE_NAME_INVALID */
  static fromJSON(v: unknown, where: string): Revocation {
    const o = obj(v, where);
    const opt = (k: string): unknown => (Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined);
    const role = opt('role');
    const signature = opt('signature');
    const envelope = opt('envelope');
    const revokedAt = opt('revokedAt');
    return new Revocation(
      {
        digest: str(o.digest, `${where}.digest`),
        role: role === undefined ? undefined : str(role, `${where}.role`),
        signature: signature === undefined ? undefined : RevokedSignature.fromJSON(signature, `${where}.signature`),
        envelope: envelope === undefined ? undefined : str(envelope, `${where}.envelope`),
        reason: str(o.reason, `${where}.reason`),
        revokedAt: revokedAt === undefined ? undefined : str(revokedAt, `${where}.revokedAt`),
        unrecognized: rest(o, ['digest', 'role', 'signature', 'envelope', 'reason', 'revokedAt']),
      },
      where,
    );
  }

  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { ...unfrozen(this.unrecognized), digest: this.digest, reason: this.reason };
    if (this.role !== undefined) out.role = this.role;
    if (this.signature !== undefined) out.signature = this.signature.toJSON();
    if (this.envelope !== undefined) out.envelope = this.envelope;
    if (this.revokedAt !== undefined) out.revokedAt = this.revokedAt;
    return out;
  }
}
