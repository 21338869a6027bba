import { OcitrustError } from '../errors/index.js';
import type { PublicKey } from '../keys/key.js';
import { DEFAULT_LIMITS } from '../config.js';
import { arr, invalid, obj, rest, unfrozen } from './guard.js';
import { checkDistinctKeys, keysFromJSON, keysToJSON } from './keys.js';
import { DelegatedRole, roleNameKey } from './role.js';

/** Options of {@link Delegations}. */
export interface DelegationsOptions {
  readonly keys: ReadonlyMap<string, PublicKey>;
  readonly roles: readonly DelegatedRole[];
  readonly unrecognized?: Readonly<Record<string, unknown>>;
}

/**
 * `targets.signed.delegations`: the delegation keys and the delegated roles (one per signer or
 * team in ocitrust), in metadata order, which is the order of trust (TUF 5.6.7).
 */
export class Delegations {
  readonly keys: ReadonlyMap<string, PublicKey>;
  readonly roles: readonly DelegatedRole[];
  readonly unrecognized: Readonly<Record<string, unknown>>;

  /** @throws METADATA_INVALID, METADATA_ROLE_NAME_INVALID, METADATA_DUPLICATE_KEY, INPUT_TOO_LARGE */
  constructor(o: DelegationsOptions, maxRoles: number = DEFAULT_LIMITS.maxDelegations) {
    if (o.roles.length > maxRoles) throw new OcitrustError('INPUT_TOO_LARGE', `delegations: ${o.roles.length} roles, limit ${maxRoles}`);
    // Unique regardless of case (see roleNameKey): `Alice` next to `alice` is one name twice.
    const names = new Map<string, string>();
    for (const r of o.roles) {
      const twin = names.get(roleNameKey(r.name));
      if (twin !== undefined) {
        throw new OcitrustError(
          'METADATA_ROLE_NAME_INVALID',
          twin === r.name
            ? `delegations.roles: role ${JSON.stringify(r.name)} is delegated twice`
            : `delegations.roles: expected role names unique regardless of case, got ${JSON.stringify(r.name)} next to ${JSON.stringify(twin)}`,
        );
      }
      names.set(roleNameKey(r.name), r.name);
      for (const id of r.keyids) if (!o.keys.has(id)) invalid(`delegations.roles[${r.name}].keyids`, `keyid ${id.slice(0, 16)}… is not in delegations.keys`);
      checkDistinctKeys(r.keyids, o.keys, `delegations.roles[${r.name}].keyids`);
    }
    this.keys = new Map(o.keys);
    this.roles = Object.freeze([...o.roles]);
    this.unrecognized = o.unrecognized ?? Object.freeze({});
    Object.freeze(this);
  }

  /**
   * @throws METADATA_INVALID, METADATA_UNSUPPORTED, METADATA_ROLE_NAME_INVALID, METADATA_KEYID_MISMATCH,
   *   METADATA_DUPLICATE_KEYID, METADATA_DUPLICATE_KEY, METADATA_THRESHOLD_INVALID, KEY_INVALID, KEY_UNSUPPORTED, INPUT_TOO_LARGE
   */
  static fromJSON(v: unknown, maxRoles: number = DEFAULT_LIMITS.maxDelegations): Delegations {
    const o = obj(v, 'delegations');
    if (Object.prototype.hasOwnProperty.call(o, 'succinct_roles')) {
      throw new OcitrustError('METADATA_UNSUPPORTED', 'delegations: succinct_roles (hash-bin delegation) is not supported; use roles with paths');
    }
    const keys = keysFromJSON(o.keys, 'delegations.keys');
    const list = arr(o.roles, 'delegations.roles');
    if (list.length > maxRoles) throw new OcitrustError('INPUT_TOO_LARGE', `delegations: ${list.length} roles, limit ${maxRoles}`);
    const roles = list.map((r, i) => DelegatedRole.fromJSON(r, `delegations.roles[${i}]`));
    return new Delegations({ keys, roles, unrecognized: rest(o, ['keys', 'roles']) }, maxRoles);
  }

  toJSON(): Record<string, unknown> {
    return { ...unfrozen(this.unrecognized), keys: keysToJSON(this.keys), roles: this.roles.map((r) => r.toJSON()) };
  }

  /** The delegated role called `name`, if any. */
  role(name: string): DelegatedRole | undefined {
    return this.roles.find((r) => r.name === name);
  }

  /**
   * The roles whose `paths` cover `targetPath`, in trust order, stopping after the first
   * matching terminating role (TUF 5.6.7.2.1).
   */
  rolesForTarget(targetPath: string): DelegatedRole[] {
    const out: DelegatedRole[] = [];
    for (const r of this.roles) {
      if (!r.isDelegatedPath(targetPath)) continue;
      out.push(r);
      if (r.terminating) break;
    }
    return out;
  }
}
