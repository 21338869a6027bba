/**
 * The policy file (docs/policy.md): which images need which signatures, shared by
 * `trust verify-manifests`, the admission webhooks and the registry plugin. Parsing,
 * validation and rule matching are pure; only {@link loadPolicyFile} reads files.
 */
export { parsePolicy, policyFromValue, policyRevision, MAX_POLICY_BYTES } from './parse.js';
export type { ParsePolicyOptions, RootFile } from './parse.js';
export { loadPolicyFile } from './load.js';
export { resolvePolicy, effectiveTag, deniedTagGlob, namespaceMatches, remapRepository, matchGlob } from './resolve.js';
export { compilePattern, matchPattern, compareSpecificity } from './pattern.js';
export type { ImagePattern, PatternResult } from './pattern.js';
export type { PolicyProblem, Locator } from './validate.js';
export type {
  Policy,
  PolicyRule,
  RuleSettings,
  RuleMode,
  MultiArchMode,
  RequiredRoles,
  IdentityRemap,
  RootSource,
  NamespaceSelector,
  ImageRuleOptions,
  ResolveContext,
  Resolution,
} from './types.js';
