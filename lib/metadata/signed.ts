import { OcitrustError, assertArg } from '../errors/index.js';
import { formatTime } from '../clock.js';
import { int, invalid, str, time } from './guard.js';

/** The four top-level TUF roles. */
export type TopLevelRoleName = 'root' | 'targets' | 'snapshot' | 'timestamp';

/** Top-level role names, in the order TUF lists them. */
export const TOP_LEVEL_ROLE_NAMES: readonly TopLevelRoleName[] = Object.freeze(['root', 'targets', 'snapshot', 'timestamp']);

/** The `spec_version` ocitrust writes. Any 1.0.x is read. */
export const SPEC_VERSION = '1.0.31';

const SPEC_RE = /^1\.0\.(0|[1-9][0-9]{0,8})$/;

/** Fields every signed TUF document has. */
export interface SignedFields {
  readonly specVersion: string;
  readonly version: number;
  /** `YYYY-MM-DDTHH:MM:SSZ`. */
  readonly expires: string;
  readonly unrecognized?: Readonly<Record<string, unknown>>;
}

/**
 * Base of the `signed` part of TUF metadata: `_type`, `spec_version`, `version`, `expires`, and
 * the unrecognized fields that must survive a round trip.
 */
export abstract class Signed {
  abstract readonly type: TopLevelRoleName;
  readonly specVersion: string;
  readonly version: number;
  readonly expires: string;
  /** `expires` as a Date. */
  readonly expiresAt: Date;
  readonly unrecognized: Readonly<Record<string, unknown>>;

  /** @throws METADATA_INVALID, METADATA_SPEC_VERSION_UNSUPPORTED */
  protected constructor(f: SignedFields) {
    assertArg(typeof f === 'object' && f !== null, 'options', 'object {specVersion, version, expires, …}', f);
    if (typeof f.specVersion !== 'string' || !SPEC_RE.test(f.specVersion)) {
      throw new OcitrustError('METADATA_SPEC_VERSION_UNSUPPORTED', `spec_version must be 1.0.x, got ${JSON.stringify(String(f.specVersion).slice(0, 32))}`);
    }
    this.specVersion = f.specVersion;
    this.version = int(f.version, 'version', 1);
    this.expiresAt = time(f.expires, 'expires').date;
    this.expires = f.expires;
    this.unrecognized = f.unrecognized ?? Object.freeze({});
  }

  /**
   * True when the document has expired at `now` (TUF: expired when now ≥ expires). Written as
   * "not before expiry" so that a `now` that is no valid time (NaN compares false) counts as
   * expired: fail closed.
   */
  isExpired(now: Date): boolean {
    return !(now instanceof Date && now.getTime() < this.expiresAt.getTime());
  }

  /** The common fields, for subclasses building copies. */
  protected fields(): SignedFields {
    return { specVersion: this.specVersion, version: this.version, expires: this.expires, unrecognized: this.unrecognized };
  }

  /** The same document with another version and expiry (unsigned; the caller re-signs). */
  abstract withVersion(version: number, expires: Date | string): Signed;

  /** The `signed` JSON object (unrecognized fields included). */
  abstract toJSON(): Record<string, unknown>;

  /** JSON of the common fields. */
  protected commonJSON(): Record<string, unknown> {
    return { _type: this.type, spec_version: this.specVersion, version: this.version, expires: this.expires };
  }
}

/**
 * Reads and checks the common fields of untrusted `signed` JSON.
 * @throws METADATA_INVALID, METADATA_TYPE_MISMATCH, METADATA_SPEC_VERSION_UNSUPPORTED
 */
export function commonFromJSON(o: Record<string, unknown>, type: TopLevelRoleName): Omit<SignedFields, 'unrecognized'> {
  const t = str(o._type, '_type');
  if (t !== type) {
    throw new OcitrustError('METADATA_TYPE_MISMATCH', `expected _type ${JSON.stringify(type)}, got ${JSON.stringify(t.slice(0, 32))}`);
  }
  const specVersion = str(o.spec_version, 'spec_version');
  if (!SPEC_RE.test(specVersion)) {
    throw new OcitrustError('METADATA_SPEC_VERSION_UNSUPPORTED', `spec_version must be 1.0.x, got ${JSON.stringify(specVersion.slice(0, 32))}`);
  }
  return { specVersion, version: int(o.version, 'version', 1), expires: time(o.expires, 'expires').text };
}

/** Common field names, excluded from unrecognized fields. */
export const COMMON_FIELDS: readonly string[] = ['_type', 'spec_version', 'version', 'expires'];

/** `expires` given as a Date or string, normalized. @throws METADATA_INVALID */
export function expiresText(expires: Date | string): string {
  if (expires instanceof Date) {
    if (Number.isNaN(expires.getTime())) invalid('expires', 'invalid Date');
    return formatTime(expires);
  }
  return time(expires, 'expires').text;
}
