/**
 * Notation (Notary Project) signatures: JWS and COSE envelopes verified under Notation's own
 * trust policy and trust store (docs/notation.md). The scheme plugs into the policy and the
 * gate through lib/schemes; the parts are exported for tests and tools.
 */
export { notationScheme, type NotationConfig } from './scheme.js';
export { combineVerdicts, verifyNotation } from './verify-image.js';
export { verifyEnvelope, parseEnvelope, type EnvelopeVerdict, type NotationFailure, type RevocationChecker, type RevocationStatus, type TargetDescriptor } from './verify.js';
export { parseTrustPolicy, statementFor, LEVELS, type TrustPolicyDocument, type TrustPolicyStatement } from './trustpolicy.js';
export { loadStore, type StoreType } from './truststore.js';
export { createCrlChecker, parseCrl, type CrlCheckerOptions } from './crl.js';
export { discoverNotationSignatures } from './discover.js';
export { parseJws } from './jws.js';
export { parseCose } from './cose.js';
export { NOTATION_ARTIFACT_TYPE, JWS_MEDIA_TYPE, COSE_MEDIA_TYPE, THUMBPRINT_ANNOTATION, PAYLOAD_CONTENT_TYPE, ENVELOPE_LIMITS, type NotationEnvelope } from './envelope.js';
