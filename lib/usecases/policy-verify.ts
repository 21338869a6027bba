/**
 * Verification under the policy file (lib/policy): which rule applies to an image, where its
 * trust comes from (collection, pinned root, server) and how to verify it. Shared by
 * `trust verify --policy` and `trust verify-manifests`.
 */
import { OcitrustError, assertArg } from '../errors/index.js';
import { canonicalBytes } from '../crypto/canonical.js';
import type { ImageReference } from '../reference.js';
import type { Policy, ImageRuleOptions } from '../policy/types.js';
import { resolvePolicy, effectiveTag, deniedTagGlob } from '../policy/resolve.js';
import { failure } from '../verify/result.js';
import type { ReferenceVerification } from './verify.js';

/** What the policy decided for one image before any network I/O. */
export type PolicyPlan =
  | { readonly kind: 'verify'; readonly options: ImageRuleOptions; readonly mode: 'enforce' | 'warn'; readonly rule: string }
  | { readonly kind: 'skip'; readonly rule: string }
  | { readonly kind: 'allow-unmatched' }
  /**
   * Refused without verifying (no rule matches and unmatched is deny, or a denied tag). `mode`
   * is the rule's: a denied tag under a `warn` rule is reported, not enforced (docs/policy.md).
   */
  | { readonly kind: 'deny'; readonly result: ReferenceVerification; readonly mode: 'enforce' | 'warn'; readonly rule?: string };

/**
 * Plans the verification of `ref` under `policy` (pure: skip and deny decisions come before
 * any network I/O).
 */
export function planUnderPolicy(policy: Policy, ref: ImageReference, ctx: { namespace?: string; labels?: Record<string, string> } = {}): PolicyPlan {
  assertArg(typeof policy === 'object' && policy !== null && Array.isArray((policy as { rules?: unknown }).rules), 'policy', 'a Policy (parsePolicy / loadPolicyFile)', policy);
  assertArg(typeof ref === 'object' && ref !== null && typeof ref.repository === 'string', 'ref', 'ImageReference', ref);
  assertArg(typeof ctx === 'object' && ctx !== null, 'ctx', 'object {namespace?, labels?}', ctx);
  const r = resolvePolicy(policy, ref.repository, ctx);
  const display = `${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
  const deny = (code: 'POLICY_FILE_NO_MATCH' | 'POLICY_FILE_TAG_DENIED', message: string, mode: 'enforce' | 'warn' = 'enforce', rule?: string): PolicyPlan => ({
    kind: 'deny',
    result: Object.freeze({ verified: false, reference: display, digest: ref.digest ?? '', signatures: [], failures: [failure(code, message)] }),
    mode,
    ...(rule !== undefined ? { rule } : {}),
  });
  if (r.kind === 'unmatched') {
    return r.decision === 'allow' ? { kind: 'allow-unmatched' } : deny('POLICY_FILE_NO_MATCH', `no policy rule matches ${ref.repository} and unmatched images are denied`);
  }
  if (r.mode === 'skip') return { kind: 'skip', rule: r.rule.name };
  const denied = deniedTagGlob(r.denyTags, effectiveTag(ref));
  if (denied !== undefined) {
    const tag = effectiveTag(ref) as string;
    const hint = tag === 'latest' ? '; an image without tag or digest means latest' : '';
    return deny('POLICY_FILE_TAG_DENIED', `tag ${JSON.stringify(tag)} is refused by rule ${JSON.stringify(r.rule.name)} (denyTags ${JSON.stringify(denied)})${hint}`, r.mode, r.rule.name);
  }
  return { kind: 'verify', options: r.options, mode: r.mode, rule: r.rule.name };
}

/**
 * The bytes of a rule's pinned root, when the rule names one (a file loaded with the policy,
 * or inline metadata).
 * @throws POLICY_FILE_INVALID when a root path was not loaded
 */
export function ruleRootBytes(options: ImageRuleOptions): Uint8Array | undefined {
  const root = options.root;
  if (!root) return undefined;
  if (!root.metadata) {
    throw new OcitrustError('POLICY_FILE_INVALID', `rule ${options.rule}: root file ${root.kind === 'path' ? root.path : ''} was not loaded; load the policy with loadPolicyFile`);
  }
  return canonicalBytes(root.metadata);
}
