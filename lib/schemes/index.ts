/**
 * The signature schemes the policy and the gate know, by policy key. A scheme is added here
 * once and is then available to every face. ocitrust's own signatures are not a scheme: they
 * are the built-in requirement (`ocitrust:`), verified by lib/verify. Each module imported here
 * is the scheme's small face; its verifier is imported inside `verify` (types.ts says why).
 */
import type { SignatureScheme } from './types.js';
import { notaryV1Scheme } from '../notary/scheme.js';
import { cosignScheme } from '../cosign/scheme.js';
import { notationScheme } from '../notation/scheme.js';

export type { SchemeEnv, SchemeInput, SchemeProblems, SchemeVerification, SignatureScheme } from './types.js';
export { combineRequirements, type Requirement, type RequirementOutcome } from './combine.js';

/** Every scheme, in the order they are verified and reported. */
export const SCHEMES: readonly SignatureScheme[] = Object.freeze([
  notaryV1Scheme as SignatureScheme,
  cosignScheme as SignatureScheme,
  notationScheme as SignatureScheme,
]);

/** The scheme a policy key names, if any. */
export function schemeFor(key: string, schemes: readonly SignatureScheme[] = SCHEMES): SignatureScheme | undefined {
  return schemes.find((s) => s.key === key);
}
