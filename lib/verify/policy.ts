import { OcitrustError, describe } from '../errors/index.js';
import { isPlainObject } from '../json.js';
import { DEFAULT_LIMITS } from '../config.js';
import { SIGNATURE_PREDICATE_TYPE } from '../statements/statement.js';

/** Which delegated roles must have met their thresholds (DESIGN §5 step 5). */
export interface RequiredRoles {
  /** Every one of these roles. */
  readonly allOf?: readonly string[];
  /** At least one of these roles. */
  readonly anyOf?: readonly string[];
}

/**
 * Identity remap for mirrors: an image pulled as `<from>[/rest]` is checked against
 * statements (and delegation paths) naming `<to>[/rest]`. Both are repository prefixes and
 * match at a segment boundary only (`mirror.local/team` does not remap `mirror.local/teamx`).
 */
export interface IdentityRemap {
  readonly from: string;
  readonly to: string;
}

/**
 * Multi-architecture handling (DESIGN §5 step 6): `index` — the index signature suffices;
 * `all-children` — every child manifest must verify too; `platform` — the child for the
 * platform being deployed must verify too.
 */
export type MultiArchMode = 'index' | 'all-children' | 'platform';

/** Verification policy as callers give it; every field optional. */
export interface VerifyPolicyOptions {
  /** Default: any one delegated role with its threshold met. */
  readonly requiredRoles?: RequiredRoles;
  /** When true, a statement counts for a tagged reference only if its predicate names that tag. Default false. */
  readonly bindTag?: boolean;
  /** Mirror → original repository mappings the policy allows (first matching `from` wins). */
  readonly identityRemap?: IdentityRemap | readonly IdentityRemap[];
  /** Tolerance for `signedAt` in the future, seconds. Default 300. */
  readonly clockSkewSeconds?: number;
  /** Most envelopes examined for one image. Default 256. */
  readonly maxSignatures?: number;
  /** Default `index`. */
  readonly multiArch?: MultiArchMode;
  /** The statement predicate type that counts. Default the ocitrust signature predicate. */
  readonly predicateType?: string;
}

/** A normalized policy: every option present, validated and frozen (sigstore-js `Required<Options>`). */
export interface VerifyPolicy {
  readonly requiredRoles: { readonly allOf: readonly string[]; readonly anyOf: readonly string[] };
  readonly bindTag: boolean;
  readonly identityRemap: readonly IdentityRemap[];
  readonly clockSkewSeconds: number;
  readonly maxSignatures: number;
  readonly multiArch: MultiArchMode;
  readonly predicateType: string;
}

const KEYS = new Set(['requiredRoles', 'bindTag', 'identityRemap', 'clockSkewSeconds', 'maxSignatures', 'multiArch', 'predicateType']);
/** Every policy {@link normalizePolicy} returned (weakly held). */
const normalized = new WeakSet<object>();
const MODES: readonly MultiArchMode[] = ['index', 'all-children', 'platform'];
const MAX_SKEW = 24 * 3600;
const REPO_PREFIX = /^[a-z0-9][a-z0-9.:_-]*(?:\/[a-z0-9][a-z0-9._-]*)*$/i;

/**
 * Validates and normalizes verification options (defaults applied). Unknown fields are refused:
 * a misspelt option in a security policy must fail loudly, not be ignored.
 *
 * @throws POLICY_INVALID naming the field and what was expected.
 */
export function normalizePolicy(options: VerifyPolicyOptions = {}): VerifyPolicy {
  // A policy this function made is deeply frozen, so normalizing it again would give an equal
  // one: hand it back as is (verifiers pass the same normalized policy on every call).
  if (typeof options === 'object' && options !== null && normalized.has(options)) return options as VerifyPolicy;
  if (!isPlainObject(options)) invalid('policy', 'an object', options);
  for (const k of Object.keys(options)) {
    if (!KEYS.has(k)) throw new OcitrustError('POLICY_INVALID', `policy: unknown field ${JSON.stringify(k.slice(0, 64))}`);
  }
  const o = options as Record<string, unknown>;
  // Only an absent (undefined) option takes its default: null is a wrong value, refused like any
  // other, never read as "use the default".
  const bindTag = o.bindTag === undefined ? false : o.bindTag;
  if (typeof bindTag !== 'boolean') invalid('bindTag', 'boolean', bindTag);
  const clockSkewSeconds = o.clockSkewSeconds === undefined ? DEFAULT_LIMITS.clockSkewSeconds : o.clockSkewSeconds;
  if (!Number.isSafeInteger(clockSkewSeconds) || (clockSkewSeconds as number) < 0 || (clockSkewSeconds as number) > MAX_SKEW) {
    invalid('clockSkewSeconds', `integer 0..${MAX_SKEW}`, clockSkewSeconds);
  }
  const maxSignatures = o.maxSignatures === undefined ? DEFAULT_LIMITS.maxSignatures : o.maxSignatures;
  if (!Number.isSafeInteger(maxSignatures) || (maxSignatures as number) < 1 || (maxSignatures as number) > 65536) {
    invalid('maxSignatures', 'integer 1..65536', maxSignatures);
  }
  const multiArch = o.multiArch === undefined ? 'index' : o.multiArch;
  if (!MODES.includes(multiArch as MultiArchMode)) invalid('multiArch', MODES.join(' | '), multiArch);
  const predicateType = o.predicateType === undefined ? SIGNATURE_PREDICATE_TYPE : o.predicateType;
  if (typeof predicateType !== 'string' || predicateType.length === 0) invalid('predicateType', 'non-empty string', predicateType);
  const policy: VerifyPolicy = Object.freeze({
    requiredRoles: normalizeRoles(o.requiredRoles),
    bindTag: bindTag as boolean,
    identityRemap: normalizeRemap(o.identityRemap),
    clockSkewSeconds: clockSkewSeconds as number,
    maxSignatures: maxSignatures as number,
    multiArch: multiArch as MultiArchMode,
    predicateType: predicateType as string,
  });
  normalized.add(policy);
  return policy;
}

/**
 * The repository name statements must carry for an image pulled as `repository`: the first
 * remap whose `from` is `repository` or a segment-boundary prefix of it, else `repository`.
 */
export function expectedSubjectName(policy: VerifyPolicy, repository: string): string {
  for (const r of policy.identityRemap) {
    if (repository === r.from) return r.to;
    if (repository.startsWith(r.from + '/')) return r.to + repository.slice(r.from.length);
  }
  return repository;
}

function normalizeRoles(v: unknown): VerifyPolicy['requiredRoles'] {
  if (v === undefined) return Object.freeze({ allOf: Object.freeze([]), anyOf: Object.freeze([]) });
  if (!isPlainObject(v)) invalid('requiredRoles', 'object {allOf?, anyOf?}', v);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (k !== 'allOf' && k !== 'anyOf') throw new OcitrustError('POLICY_INVALID', `policy: requiredRoles: unknown field ${JSON.stringify(k.slice(0, 64))}`);
  }
  const list = (name: 'allOf' | 'anyOf'): readonly string[] => {
    const x = o[name];
    if (x === undefined) return Object.freeze([]);
    // An empty list is the same as no list: it adds no requirement.
    if (!Array.isArray(x)) invalid(`requiredRoles.${name}`, 'array of role names', x);
    const arr = x as unknown[];
    if (!arr.every((r) => typeof r === 'string' && r.length > 0)) invalid(`requiredRoles.${name}`, 'role names (non-empty strings)', x);
    if (new Set(arr).size !== arr.length) invalid(`requiredRoles.${name}`, 'distinct role names', x);
    return Object.freeze([...(arr as string[])]);
  };
  return Object.freeze({ allOf: list('allOf'), anyOf: list('anyOf') });
}

function normalizeRemap(v: unknown): readonly IdentityRemap[] {
  if (v === undefined) return Object.freeze([]);
  const arr = Array.isArray(v) ? (v as unknown[]) : [v];
  return Object.freeze(
    arr.map((r, i) => {
      const at = Array.isArray(v) ? `identityRemap[${i}]` : 'identityRemap';
      if (!isPlainObject(r)) invalid(at, 'object {from, to}', r);
      const { from, to } = r as Record<string, unknown>;
      for (const [k, x] of [['from', from], ['to', to]] as const) {
        if (typeof x !== 'string' || !REPO_PREFIX.test(x) || x.length > 255) invalid(`${at}.${k}`, 'a repository name or prefix (host[/path])', x);
      }
      return Object.freeze({ from: from as string, to: to as string });
    }),
  );
}

function invalid(field: string, expected: string, got: unknown): never {
  throw new OcitrustError('POLICY_INVALID', `policy: ${field}: expected ${expected}, got ${describe(got)}`);
}
