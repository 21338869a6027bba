import type { ImagePattern } from './pattern.js';
import type { Requirement } from '../schemes/combine.js';

import type { IdentityRemap, MultiArchMode, RequiredRoles, VerifyPolicyOptions } from '../verify/policy.js';

export type { IdentityRemap, MultiArchMode, RequiredRoles, VerifyPolicyOptions } from '../verify/policy.js';

/** What a rule does with the images it matches (docs/policy.md "Modes"). */
export type RuleMode = 'enforce' | 'warn' | 'skip';

/** The pinned root of a rule: a file path (resolved against the policy file) or inline metadata. */
export type RootSource =
  | {
      readonly kind: 'path';
      readonly path: string;
      /** The file's parsed content, present when the policy was loaded with `loadPolicyFile`. */
      readonly metadata?: Readonly<Record<string, unknown>>;
    }
  | { readonly kind: 'inline'; readonly metadata: Readonly<Record<string, unknown>> };

/** Namespace selection of a rule: names (globs with `*`) and/or labels (all must equal). */
export interface NamespaceSelector {
  readonly names?: readonly string[];
  readonly labels?: Readonly<Record<string, string>>;
}

/** Settings a rule may carry; `defaults` carries the same set. */
export interface RuleSettings {
  /** Trust collection; default: the image's repository (one collection per repository). */
  readonly collection?: string;
  readonly root?: RootSource;
  /** Trust server base URL (http or https). */
  readonly server?: string;
  readonly requiredRoles?: RequiredRoles;
  readonly bindTag?: boolean;
  readonly multiArch?: MultiArchMode;
  /** Mirror remaps (one or a list; the first matching `from` wins). */
  readonly identityRemap?: IdentityRemap | readonly IdentityRemap[];
  /** Tag globs that are refused before any verification (e.g. `latest`). */
  readonly denyTags?: readonly string[];
  readonly mode?: RuleMode;
  readonly clockSkewSeconds?: number;
  readonly maxSignatures?: number;
  /**
   * Offline use for `trust verify`: how old (seconds) the persisted trust data of the
   * collection may be and still be used when the trust server cannot be reached. Absent or 0:
   * fail closed (exit 3). Services ignore it (they keep their last good data until it expires).
   */
  readonly trustMaxAgeSeconds?: number;
}

/** One rule of the policy file. */
export interface PolicyRule extends RuleSettings {
  /**
   * The rule's signature schemes other than ocitrust's (lib/schemes), by policy key
   * (`notaryV1`, `cosign`, `notation`), each with the configuration its scheme validated.
   */
  readonly schemes?: Readonly<Record<string, unknown>>;
  /**
   * Whether ocitrust's own signatures are required: true by default, false when the rule names
   * another scheme and no `ocitrust: true`.
   */
  readonly ocitrust?: boolean;
  /** How the rule's requirements combine (lib/schemes/combine.ts): all (default), any, or N. */
  readonly require?: Requirement;
  readonly name: string;
  /** Position in the `rules` array (the final tie-breaker: earlier wins). */
  readonly index: number;
  readonly images: readonly ImagePattern[];
  readonly namespaces?: NamespaceSelector;
}

/** A validated policy file. Immutable. */
export interface Policy {
  readonly version: 1;
  readonly defaults: RuleSettings;
  readonly rules: readonly PolicyRule[];
  readonly unmatched: 'deny' | 'allow';
  /**
   * Kinds (`Kind` or `group/Kind`) the admission webhooks allow untouched because they run no
   * containers. Other kinds the webhooks do not know and that embed no pod template are
   * denied (HOOK_KIND_UNSUPPORTED); the known workload kinds are always scanned. Default none.
   */
  readonly skipKinds?: readonly string[];
  /**
   * `sha256:<hex>` of the canonical form of the validated policy (and of the bytes of every
   * root file it names, when loaded from disk): a cache key that changes whenever the
   * policy's meaning can change and never for comments or formatting.
   */
  readonly revision: string;
  /** True when some rule selects namespaces by label (callers then need namespace labels). */
  readonly usesNamespaceLabels: boolean;
  /** The validated document in canonical shape (patterns normalized), for display and hashing. */
  readonly document: Readonly<Record<string, unknown>>;
}

/** What a rule resolves to for one image, defaults applied: where trust comes from and how to verify. */
export interface ImageRuleOptions {
  /** Name of the rule these options come from. */
  readonly rule: string;
  /** Revision of the policy they come from (for cache keys). */
  readonly policyRevision: string;
  /** Trust collection to verify against (default: the image's repository, after identity remap). */
  readonly collection: string;
  readonly root?: RootSource;
  readonly server?: string;
  /** The rule's {@link RuleSettings.trustMaxAgeSeconds}. */
  readonly trustMaxAgeSeconds?: number;
  /** Options for the verifier (lib/verify `normalizePolicy`), with the rule's settings. */
  readonly verify: VerifyPolicyOptions;
  /** Schemes other than ocitrust's the rule requires (absent: none). */
  readonly schemes?: Readonly<Record<string, unknown>>;
  /** Whether ocitrust's own signatures are a requirement (absent: true). */
  readonly ocitrust?: boolean;
  /** How the requirements combine (absent: all). */
  readonly require?: Requirement;
}

/** Where an image is being deployed, for namespace selection. */
export interface ResolveContext {
  readonly namespace?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

/** What {@link resolvePolicy} decided for one repository. */
export type Resolution =
  | {
      readonly kind: 'rule';
      readonly rule: PolicyRule;
      /** The rule's pattern that matched (the most specific one of the rule). */
      readonly pattern: string;
      readonly mode: RuleMode;
      readonly denyTags: readonly string[];
      readonly options: ImageRuleOptions;
    }
  | { readonly kind: 'unmatched'; readonly decision: 'deny' | 'allow' };
