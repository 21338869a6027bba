import { OcitrustError } from '../errors/index.js';
import type { PublicKey } from '../keys/key.js';
import { bool, obj, rest, unfrozen, invalid } from './guard.js';
import { checkDistinctKeys, keyMap, keysFromJSON, keysToJSON } from './keys.js';
import { Role } from './role.js';
import { COMMON_FIELDS, Signed, TOP_LEVEL_ROLE_NAMES, commonFromJSON, expiresText, type SignedFields, type TopLevelRoleName } from './signed.js';

/** Options of a {@link Root}. */
export interface RootOptions extends SignedFields {
  readonly keys: ReadonlyMap<string, PublicKey>;
  readonly roles: ReadonlyMap<TopLevelRoleName, Role>;
  /** Must be true: ocitrust serves and fetches `N.snapshot.json` / `N.targets.json`. */
  readonly consistentSnapshot: boolean;
}

/**
 * TUF root metadata: the keys and thresholds of the four top-level roles (DESIGN §3).
 * Immutable; `with*` methods return changed copies (unsigned).
 */
export class Root extends Signed {
  readonly type = 'root' as const;
  readonly keys: ReadonlyMap<string, PublicKey>;
  readonly roles: ReadonlyMap<TopLevelRoleName, Role>;
  readonly consistentSnapshot: boolean;

  /**
   * @throws METADATA_INVALID, METADATA_UNSUPPORTED, METADATA_SPEC_VERSION_UNSUPPORTED, METADATA_DUPLICATE_KEY
   */
  constructor(o: RootOptions) {
    super(o);
    if (o.consistentSnapshot !== true) {
      throw new OcitrustError('METADATA_UNSUPPORTED', 'root: consistent_snapshot must be true (ocitrust fetches N.snapshot.json and N.targets.json)');
    }
    for (const name of TOP_LEVEL_ROLE_NAMES) if (!o.roles.has(name)) invalid('roles', `missing top-level role ${name}`);
    for (const name of o.roles.keys()) {
      if (!(TOP_LEVEL_ROLE_NAMES as readonly string[]).includes(name)) invalid('roles', `unknown role ${JSON.stringify(String(name).slice(0, 64))}`);
    }
    for (const [name, role] of o.roles) {
      for (const id of role.keyids) if (!o.keys.has(id)) invalid(`roles.${name}.keyids`, `keyid ${id.slice(0, 16)}… is not in keys`);
      checkDistinctKeys(role.keyids, o.keys, `roles.${name}.keyids`);
    }
    this.keys = new Map(o.keys);
    this.roles = new Map(TOP_LEVEL_ROLE_NAMES.map((n) => [n, o.roles.get(n) as Role]));
    this.consistentSnapshot = true;
    Object.freeze(this);
  }

  /**
   * Parses untrusted root `signed` JSON.
   * @throws METADATA_INVALID, METADATA_TYPE_MISMATCH, METADATA_SPEC_VERSION_UNSUPPORTED, METADATA_UNSUPPORTED,
   *   METADATA_KEYID_MISMATCH, METADATA_DUPLICATE_KEYID, METADATA_DUPLICATE_KEY, METADATA_THRESHOLD_INVALID, KEY_INVALID, KEY_UNSUPPORTED
   */
  static fromJSON(v: unknown): Root {
    const o = obj(v, 'signed');
    const common = commonFromJSON(o, 'root');
    const consistentSnapshot = bool(o.consistent_snapshot, 'consistent_snapshot');
    if (!consistentSnapshot) {
      throw new OcitrustError('METADATA_UNSUPPORTED', 'root: consistent_snapshot must be true (ocitrust fetches N.snapshot.json and N.targets.json)');
    }
    const keys = keysFromJSON(o.keys, 'keys');
    const rolesJson = obj(o.roles, 'roles');
    const roles = new Map<TopLevelRoleName, Role>();
    for (const [name, r] of Object.entries(rolesJson)) {
      if (!(TOP_LEVEL_ROLE_NAMES as readonly string[]).includes(name)) invalid('roles', `unknown role ${JSON.stringify(name.slice(0, 64))}`);
      roles.set(name as TopLevelRoleName, Role.fromJSON(r, `roles.${name}`));
    }
    return new Root({ ...common, keys, roles, consistentSnapshot, unrecognized: rest(o, [...COMMON_FIELDS, 'consistent_snapshot', 'keys', 'roles']) });
  }

  override toJSON(): Record<string, unknown> {
    const roles: Record<string, unknown> = {};
    for (const [n, r] of this.roles) roles[n] = r.toJSON();
    return { ...unfrozen(this.unrecognized), ...this.commonJSON(), consistent_snapshot: true, keys: keysToJSON(this.keys), roles };
  }

  /** The role definition of a top-level role. @throws METADATA_ROLE_NOT_FOUND */
  role(name: string): Role {
    const r = this.roles.get(name as TopLevelRoleName);
    if (!r) throw new OcitrustError('METADATA_ROLE_NOT_FOUND', `root has no top-level role ${JSON.stringify(String(name).slice(0, 64))}`);
    return r;
  }

  /** The keys of a top-level role. */
  roleKeys(name: TopLevelRoleName): PublicKey[] {
    return this.role(name).keyids.map((id) => this.keys.get(id) as PublicKey);
  }

  override withVersion(version: number, expires: Date | string): Root {
    return new Root({ ...this.rootOptions(), version, expires: expiresText(expires) });
  }

  /**
   * Replaces the keys (and optionally the threshold) of a top-level role: key rotation.
   * Keys no role uses any more are dropped. The caller bumps the version and signs with a
   * threshold of the old and the new root keys (TUF 5.3.4).
   *
   * @throws METADATA_DUPLICATE_KEYID, METADATA_DUPLICATE_KEY, METADATA_THRESHOLD_INVALID
   */
  withRoleKeys(name: TopLevelRoleName, keys: readonly PublicKey[], threshold?: number): Root {
    const current = this.role(name);
    const added = keyMap(keys, `roles.${name}`);
    const roles = new Map(this.roles);
    roles.set(name, new Role({ keyids: [...added.keys()], threshold: threshold ?? Math.min(current.threshold, added.size), unrecognized: current.unrecognized }, `roles.${name}`));
    const all = new Map([...this.keys, ...added]);
    const used = new Set([...roles.values()].flatMap((r) => r.keyids));
    return new Root({ ...this.rootOptions(), roles, keys: new Map([...all].filter(([id]) => used.has(id))) });
  }

  private rootOptions(): RootOptions {
    return { ...this.fields(), keys: this.keys, roles: this.roles, consistentSnapshot: true };
  }
}
