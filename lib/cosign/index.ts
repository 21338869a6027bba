/**
 * cosign and Sigstore bundle verification (issue 16): the `cosign:` policy scheme, and the
 * pieces the known-answer tests drive directly (bundle and classic-signature verification).
 */
export { cosignScheme, cosignSignatureTag, COSIGN_FORMAT, BUNDLE_FORMAT } from './scheme.js';
export { verifyCosign } from './verify-image.js';
export { validateCosignConfig, type CosignConfig } from './config.js';
export { verifyBundle, parseBundle, BUNDLE_ARTIFACT_TYPE, BUNDLE_MEDIA_TYPES, MAX_BUNDLE_BYTES } from './bundle.js';
export { readSimpleSignature, checkReference, SIMPLE_SIGNING_MEDIA_TYPE, SIGNATURE_ANNOTATION, type ReferenceMatch } from './simple-signing.js';
export { loadTrust, loadPublicKey, parseTrustedRoot, type CosignTrust, type TrustFiles } from './trust.js';
export { verifyEntity, type EntityVerdict, type SignerPolicy, type TrustedIdentity } from './verify-entity.js';
