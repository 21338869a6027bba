/**
 * Use cases: thin async compositions of the library that every adapter (the `trust` CLI, the
 * server, the admission hook) calls. The security logic stays in lib/verify, lib/tuf and
 * lib/metadata; these only fetch, choose and publish.
 */
export { OcitrustHome } from './home.js';
export type { Pin, PinSource } from './home.js';
export { openCollection, pinRoot } from './trust.js';
export type { OpenCollectionOptions, CollectionTrust } from './trust.js';
export { loadLocalSigners, useOrGenerateKey, collectionSlug } from './keys.js';
export type { PassphraseProvider, PassphraseRequest, LocalSigners } from './keys.js';
export { signImage, selectSigning, loadChoice } from './sign.js';
export type { SignImageOptions, SignImageResult, SignedManifest, SigningChoice } from './sign.js';
export { verifyReference, parsePlatform, formatPlatform, childManifests } from './verify.js';
export type { VerifyReferenceOptions, ReferenceVerification, TrustSource } from './verify.js';
export { planUnderPolicy, ruleRootBytes } from './policy-verify.js';
export type { PolicyPlan } from './policy-verify.js';
export {
  initCollection,
  addSigner,
  removeSigner,
  listSigners,
  revokeSignatures,
  rotateKey,
  publishTargetsChange,
  defaultSignerPaths,
  RELEASES_ROLE,
} from './admin.js';
export type { AdminContext, InitResult, AddSignerOptions, SignerInfo, RevokeOptions, RevokeResult, RotateResult, TargetsChangeResult, TargetsChangeOptions } from './admin.js';
export { retryOnVersionConflict, changeBase, retryDelayMs, DEFAULT_PUBLISH_ATTEMPTS } from './publish-retry.js';
export type { PublishRetryOptions } from './publish-retry.js';
export { copyImage } from './copy.js';
export type { CopyImageOptions, CopyImageResult } from './copy.js';
export { inspectReference } from './inspect.js';
export type { Inspection, InspectedSignature, InspectOptions } from './inspect.js';
