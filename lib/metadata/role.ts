import { OcitrustError, assertArg } from '../errors/index.js';
import { bool, int, keyid, obj, rest, str, strArray, unfrozen } from './guard.js';
import { TOP_LEVEL_ROLE_NAMES } from './signed.js';
import { pathMatches } from './paths.js';

/** Options of a {@link Role}. */
export interface RoleOptions {
  readonly keyids: readonly string[];
  readonly threshold: number;
  readonly unrecognized?: Readonly<Record<string, unknown>>;
}

/**
 * Which keys may sign a role and how many distinct ones must (tuf-spec "roles"). The keyids
 * must be unique: a listed-twice keyid is an error, never extra weight.
 */
export class Role {
  readonly keyids: readonly string[];
  readonly threshold: number;
  readonly unrecognized: Readonly<Record<string, unknown>>;

  /** @throws METADATA_INVALID, METADATA_DUPLICATE_KEYID, METADATA_THRESHOLD_INVALID */
  constructor(o: RoleOptions, where = 'role') {
    if (typeof where !== 'string') where = 'role';
    assertArg(typeof o === 'object' && o !== null, where, 'object {keyids, threshold}', o);
    assertArg(Array.isArray(o.keyids), `${where}.keyids`, 'array of keyids', o.keyids);
    const ids = [...o.keyids].map((k, i) => keyid(k, `${where}.keyids[${i}]`));
    if (new Set(ids).size !== ids.length) {
      throw new OcitrustError('METADATA_DUPLICATE_KEYID', `${where}.keyids: a keyid is listed more than once`);
    }
    if (typeof o.threshold !== 'number' || !Number.isSafeInteger(o.threshold) || o.threshold < 1 || o.threshold > ids.length) {
      throw new OcitrustError('METADATA_THRESHOLD_INVALID', `${where}.threshold: expected an integer from 1 to ${ids.length} (the number of keyids), got ${String(o.threshold).slice(0, 20)}`);
    }
    this.keyids = Object.freeze(ids);
    this.threshold = o.threshold;
    this.unrecognized = o.unrecognized ?? Object.freeze({});
  }

  /** @throws METADATA_INVALID, METADATA_DUPLICATE_KEYID, METADATA_THRESHOLD_INVALID */
  static fromJSON(v: unknown, where: string): Role {
    const o = obj(v, where);
    const threshold = int(o.threshold, `${where}.threshold`, Number.MIN_SAFE_INTEGER);
    return new Role({ keyids: strArray(o.keyids, `${where}.keyids`), threshold, unrecognized: rest(o, ['keyids', 'threshold']) }, where);
  }

  toJSON(): Record<string, unknown> {
    return { ...unfrozen(this.unrecognized), keyids: [...this.keyids], threshold: this.threshold };
  }
}

const ROLE_NAME_RE = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/;

/** The role `trust signer add` also adds keys to, as `docker trust signer add` does (DESIGN §3). */
export const RELEASES_ROLE = 'releases';

/**
 * The form role names are compared in. Names are ASCII (see {@link checkRoleName}), and they
 * become file names (`<role>.json` in TUF clients) on file systems that ignore case and are
 * what policies and revocations name, so two names that differ only in case are one name:
 * delegations must be unique in this form, and reserved names are reserved in every case.
 */
export function roleNameKey(name: string): string {
  return name.toLowerCase();
}

/**
 * Checks a delegated role name: 1–64 characters of `[A-Za-z0-9._-]`, no leading dot, not a
 * top-level role name in any case (`Targets`, `ROOT`), and the `releases` role only spelled
 * exactly so (`Releases` would be a second role that reads as the first). Names become file
 * names and URL segments elsewhere (tuf-js encodes `<role>.json`), so only this safe alphabet
 * is accepted.
 *
 * @throws METADATA_ROLE_NAME_INVALID
 */
export function checkRoleName(name: unknown, where = 'name'): string {
  const got = JSON.stringify(String(name).slice(0, 70));
  if (typeof name !== 'string' || !ROLE_NAME_RE.test(name)) {
    throw new OcitrustError(
      'METADATA_ROLE_NAME_INVALID',
      `${where}: expected 1-64 characters of letters, digits, ".", "_", "-" (no leading dot), got ${got}`,
    );
  }
  const key = roleNameKey(name);
  if ((TOP_LEVEL_ROLE_NAMES as readonly string[]).includes(key)) {
    throw new OcitrustError('METADATA_ROLE_NAME_INVALID', `${where}: expected a signer name, got ${got}, which is the reserved top-level role ${key} (reserved in any case)`);
  }
  if (key === RELEASES_ROLE && name !== RELEASES_ROLE) {
    throw new OcitrustError('METADATA_ROLE_NAME_INVALID', `${where}: expected ${JSON.stringify(RELEASES_ROLE)} exactly, got ${got}, which differs from the releases role only in case`);
  }
  return name;
}

/** Options of a {@link DelegatedRole}. */
export interface DelegatedRoleOptions extends RoleOptions {
  readonly name: string;
  readonly paths: readonly string[];
  readonly terminating: boolean;
}

/**
 * A delegated targets role: in ocitrust, one signer or team (DESIGN §3). Only `paths`
 * delegations are supported; `path_hash_prefixes` is refused at parse time.
 */
export class DelegatedRole extends Role {
  readonly name: string;
  readonly paths: readonly string[];
  readonly terminating: boolean;

  /** @throws METADATA_INVALID, METADATA_ROLE_NAME_INVALID, METADATA_DUPLICATE_KEYID, METADATA_THRESHOLD_INVALID */
  constructor(o: DelegatedRoleOptions, where = 'delegations.roles[]') {
    if (typeof where !== 'string') where = 'delegations.roles[]';
    super(o, where);
    this.name = checkRoleName(o.name, `${where}.name`);
    assertArg(Array.isArray(o.paths), `${where}.paths`, 'array of path patterns', o.paths);
    this.paths = Object.freeze([...o.paths].map((p, i) => str(p, `${where}.paths[${i}]`)));
    this.terminating = bool(o.terminating, `${where}.terminating`);
  }

  /**
   * Parses one entry of `delegations.roles`.
   * @throws METADATA_INVALID, METADATA_UNSUPPORTED, METADATA_ROLE_NAME_INVALID, METADATA_DUPLICATE_KEYID, METADATA_THRESHOLD_INVALID
   */
  static override fromJSON(v: unknown, where: string): DelegatedRole {
    const o = obj(v, where);
    const hasPaths = Object.prototype.hasOwnProperty.call(o, 'paths');
    const hasPrefixes = Object.prototype.hasOwnProperty.call(o, 'path_hash_prefixes');
    // tuf-spec: exactly one of paths / path_hash_prefixes. Hash-bin delegation is refused
    // rather than ignored, so a role can never silently cover more or fewer targets.
    if (hasPrefixes) {
      throw new OcitrustError('METADATA_UNSUPPORTED', `${where}: path_hash_prefixes delegations are not supported; use paths`);
    }
    if (!hasPaths) throw new OcitrustError('METADATA_INVALID', `${where}: paths is required`);
    return new DelegatedRole(
      {
        name: str(o.name, `${where}.name`),
        keyids: strArray(o.keyids, `${where}.keyids`),
        threshold: int(o.threshold, `${where}.threshold`, Number.MIN_SAFE_INTEGER),
        paths: strArray(o.paths, `${where}.paths`),
        terminating: bool(o.terminating, `${where}.terminating`),
        unrecognized: rest(o, ['name', 'keyids', 'threshold', 'paths', 'terminating']),
      },
      where,
    );
  }

  /** True when one of the role's `paths` patterns matches the target path (TUF segment-wise match). */
  isDelegatedPath(targetPath: string): boolean {
    return this.paths.some((p) => pathMatches(p, targetPath));
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), name: this.name, paths: [...this.paths], terminating: this.terminating };
  }
}
