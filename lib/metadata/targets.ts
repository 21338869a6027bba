import { OcitrustError } from '../errors/index.js';
import type { PublicKey } from '../keys/key.js';
import { DEFAULT_LIMITS } from '../config.js';
import { arr, deepFreeze, obj, rest, unfrozen } from './guard.js';
import { keyMap } from './keys.js';
import { Delegations } from './delegations.js';
import { Revocation, type RevocationOptions } from './revocation.js';
import { DelegatedRole } from './role.js';
import { COMMON_FIELDS, Signed, commonFromJSON, expiresText, type SignedFields } from './signed.js';

/** Options of a {@link Targets}. */
export interface TargetsOptions extends SignedFields {
  /**
   * The TUF `targets` dictionary, kept as given (ocitrust stores signatures as OCI referrers,
   * not as TUF targets, but other TUF clients require the field). Undefined: field absent.
   */
  readonly targets?: Readonly<Record<string, unknown>>;
  readonly delegations?: Delegations;
  /** Undefined: field absent (the empty list is written as `[]`). */
  readonly revocations?: readonly Revocation[];
}

/** A delegation to add or replace with {@link Targets.withDelegation}. */
export interface DelegationSpec {
  /** Role name (the signer or team name). */
  readonly name: string;
  readonly keys: readonly PublicKey[];
  /** Default 1. */
  readonly threshold?: number;
  /** TUF path patterns matched against `<repository>:<tag>` / `<repository>@<digest>`. */
  readonly paths: readonly string[];
  /** Default false. */
  readonly terminating?: boolean;
}

/**
 * TUF targets metadata of a collection: who may sign (delegated roles with keys, threshold and
 * paths) and what is revoked (DESIGN §3, §6). Immutable; `with*` methods return changed,
 * unsigned copies.
 */
export class Targets extends Signed {
  readonly type = 'targets' as const;
  readonly targets: Readonly<Record<string, unknown>> | undefined;
  readonly delegations: Delegations | undefined;
  readonly revocations: readonly Revocation[] | undefined;

  /** @throws METADATA_INVALID, METADATA_SPEC_VERSION_UNSUPPORTED */
  constructor(o: TargetsOptions) {
    super(o);
    this.targets = o.targets === undefined ? undefined : deepFreeze(structuredClone(obj(o.targets, 'targets')));
    this.delegations = o.delegations;
    this.revocations = o.revocations === undefined ? undefined : Object.freeze([...o.revocations]);
    Object.freeze(this);
  }

  /**
   * Parses untrusted targets `signed` JSON. The `targets` dictionary must map names to
   * objects; its content is kept, not interpreted.
   *
   * @throws METADATA_INVALID, METADATA_TYPE_MISMATCH, METADATA_SPEC_VERSION_UNSUPPORTED, METADATA_UNSUPPORTED,
   *   METADATA_ROLE_NAME_INVALID, METADATA_KEYID_MISMATCH, METADATA_DUPLICATE_KEYID, METADATA_DUPLICATE_KEY, METADATA_THRESHOLD_INVALID,
   *   KEY_INVALID, KEY_UNSUPPORTED, INPUT_TOO_LARGE
   */
  static fromJSON(v: unknown, maxDelegations: number = DEFAULT_LIMITS.maxDelegations): Targets {
    const o = obj(v, 'signed');
    const common = commonFromJSON(o, 'targets');
    const has = (k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);
    let targets: Record<string, unknown> | undefined;
    if (has('targets')) {
      targets = obj(o.targets, 'targets');
      for (const [name, t] of Object.entries(targets)) obj(t, `targets.${name.slice(0, 64)}`);
    }
    return new Targets({
      ...common,
      targets,
      delegations: has('delegations') ? Delegations.fromJSON(o.delegations, maxDelegations) : undefined,
      revocations: has('revocations') ? arr(o.revocations, 'revocations').map((r, i) => Revocation.fromJSON(r, `revocations[${i}]`)) : undefined,
      unrecognized: rest(o, [...COMMON_FIELDS, 'targets', 'delegations', 'revocations']),
    });
  }

  override toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { ...unfrozen(this.unrecognized), ...this.commonJSON() };
    if (this.targets !== undefined) out.targets = structuredClone(this.targets);
    if (this.delegations !== undefined) out.delegations = this.delegations.toJSON();
    if (this.revocations !== undefined) out.revocations = this.revocations.map((r) => r.toJSON());
    return out;
  }

  /** Delegated roles (empty without delegations). */
  get roles(): readonly DelegatedRole[] {
    return this.delegations?.roles ?? [];
  }

  override withVersion(version: number, expires: Date | string): Targets {
    return new Targets({ ...this.targetsOptions(), version, expires: expiresText(expires) });
  }

  /**
   * Adds the delegation, or replaces the role of the same name in place (order is trust
   * order). Its keys join `delegations.keys`; keys no role uses any more are dropped.
   *
   * @throws METADATA_ROLE_NAME_INVALID, METADATA_DUPLICATE_KEYID, METADATA_DUPLICATE_KEY, METADATA_THRESHOLD_INVALID
   */
  withDelegation(spec: DelegationSpec): Targets {
    const keys = keyMap(spec.keys, `delegation ${spec.name}`);
    const role = new DelegatedRole(
      { name: spec.name, keyids: [...keys.keys()], threshold: spec.threshold ?? 1, paths: spec.paths, terminating: spec.terminating ?? false },
      `delegation ${spec.name}`,
    );
    const roles = [...this.roles];
    const i = roles.findIndex((r) => r.name === spec.name);
    if (i >= 0) roles[i] = role;
    else roles.push(role);
    return this.withRoles(roles, new Map([...(this.delegations?.keys ?? []), ...keys]));
  }

  /** Removes a delegated role; its signatures stop counting (DESIGN §6). @throws METADATA_ROLE_NOT_FOUND */
  withoutDelegation(name: string): Targets {
    if (!this.delegations?.role(name)) {
      throw new OcitrustError('METADATA_ROLE_NOT_FOUND', `no delegated role ${JSON.stringify(String(name).slice(0, 64))}`);
    }
    return this.withRoles(this.roles.filter((r) => r.name !== name), this.delegations.keys);
  }

  /** Appends a revocation (DESIGN §6). @throws METADATA_INVALID, METADATA_ROLE_NAME_INVALID */
  withRevocation(r: RevocationOptions | Revocation): Targets {
    const rev = r instanceof Revocation ? r : new Revocation(r);
    return new Targets({ ...this.targetsOptions(), revocations: [...(this.revocations ?? []), rev] });
  }

  private withRoles(roles: DelegatedRole[], keys: ReadonlyMap<string, PublicKey>): Targets {
    const used = new Set(roles.flatMap((r) => r.keyids));
    const delegations = new Delegations({
      keys: new Map([...keys].filter(([id]) => used.has(id))),
      roles,
      unrecognized: this.delegations?.unrecognized,
    });
    return new Targets({ ...this.targetsOptions(), delegations });
  }

  private targetsOptions(): TargetsOptions {
    return { ...this.fields(), targets: this.targets, delegations: this.delegations, revocations: this.revocations };
  }
}
