import { isDigest } from '../crypto/hash.js';
import type { Revocation as RevocationView } from '../verify/trust.js';
import { invalid, obj, rest, str, time, unfrozen } from './guard.js';
import { checkRoleName } from './role.js';

/** The most characters a revocation reason may have. */
export const MAX_REASON_LENGTH = 1024;

/** Options of a {@link Revocation} (the shape of `targets.signed.revocations[]`). */
export interface RevocationOptions {
  /** Subject manifest digest, `sha256:<hex>`. */
  readonly digest: string;
  /** Only signatures of this role are revoked. */
  readonly role?: string;
  /** Only the envelope whose bytes hash to this digest is revoked. */
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
  readonly envelope?: string;
  readonly reason: string;
  readonly revokedAt?: string;
  readonly unrecognized: Readonly<Record<string, unknown>>;

  /** @throws METADATA_INVALID, METADATA_ROLE_NAME_INVALID */
  constructor(o: RevocationOptions, where = 'revocations[]') {
    if (!isDigest(o.digest)) invalid(`${where}.digest`, 'expected sha256:<64 hex> or sha512:<128 hex>');
    this.digest = o.digest;
    if (o.role !== undefined) this.role = checkRoleName(o.role, `${where}.role`);
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
    const envelope = opt('envelope');
    const revokedAt = opt('revokedAt');
    return new Revocation(
      {
        digest: str(o.digest, `${where}.digest`),
        role: role === undefined ? undefined : str(role, `${where}.role`),
        envelope: envelope === undefined ? undefined : str(envelope, `${where}.envelope`),
        reason: str(o.reason, `${where}.reason`),
        revokedAt: revokedAt === undefined ? undefined : str(revokedAt, `${where}.revokedAt`),
        unrecognized: rest(o, ['digest', 'role', 'envelope', 'reason', 'revokedAt']),
      },
      where,
    );
  }

  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { ...unfrozen(this.unrecognized), digest: this.digest, reason: this.reason };
    if (this.role !== undefined) out.role = this.role;
    if (this.envelope !== undefined) out.envelope = this.envelope;
    if (this.revokedAt !== undefined) out.revokedAt = this.revokedAt;
    return out;
  }
}
