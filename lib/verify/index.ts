/** The pure verifier (DESIGN §5): trusted targets + envelopes + policy + clock → verdict. */
export { verifyImage, verifyIndex, type VerifyInput, type VerifyReference, type EnvelopeInput } from './verifier.js';
export {
  normalizePolicy,
  expectedSubjectName,
  type VerifyPolicy,
  type VerifyPolicyOptions,
  type RequiredRoles,
  type IdentityRemap,
  type MultiArchMode,
} from './policy.js';
export type { VerifyResult, VerifiedSignature, VerifyFailure } from './result.js';
export type { TrustedTargets, TrustedRole, Revocation, RevokedSignature } from './trust.js';
export { signatureIds, paeDigestOf, type SignatureId } from './signature-id.js';
export { PreparedEnvelopes, type PreparedStats } from './prepared.js';
