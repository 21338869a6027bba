/**
 * How a rule's requirements combine (`require:` in the policy): ocitrust's own signatures and
 * each scheme's (Notary v1, cosign, Notation) are one requirement each; `all` (the default)
 * needs every one, `any` one of them, a number N at least N of them — thresholds over
 * signature sources, as roles have thresholds over keys.
 */
import { failure, type VerifiedSignature, type VerifyFailure } from '../verify/result.js';

/** `all`, `any`, or how many of the rule's requirements must be met (1..their number). */
export type Requirement = 'all' | 'any' | number;

/** One requirement's verdict. */
export interface RequirementOutcome {
  /** `ocitrust` or the scheme's policy key. */
  readonly name: string;
  readonly verified: boolean;
  readonly signatures: readonly VerifiedSignature[];
  readonly failures: readonly VerifyFailure[];
}

/**
 * Combines the verdicts of a rule's requirements. Every failure of every requirement is kept
 * (a forged signature is reported even when the rule is met); when the rule is not met, a
 * REQUIREMENTS_NOT_MET failure says which were missing.
 */
export function combineRequirements(
  require: Requirement,
  parts: readonly RequirementOutcome[],
): { verified: boolean; signatures: VerifiedSignature[]; failures: VerifyFailure[] } {
  const needed = require === 'all' ? parts.length : require === 'any' ? 1 : require;
  const met = parts.filter((p) => p.verified);
  // An empty rule verifies nothing: fail closed.
  const verified = parts.length > 0 && needed >= 1 && met.length >= needed;
  const signatures = parts.flatMap((p) => p.signatures);
  const failures = parts.flatMap((p) => p.failures);
  if (!verified && parts.length > 1) {
    const missing = parts.filter((p) => !p.verified).map((p) => p.name);
    failures.push(
      failure(
        'REQUIREMENTS_NOT_MET',
        `expected ${require === 'all' ? 'all' : `${needed}`} of [${parts.map((p) => p.name).join(', ')}] to verify, got ${met.length} (not met: ${missing.join(', ')})`,
      ),
    );
  }
  return { verified, signatures, failures };
}
