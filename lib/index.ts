/**
 * ocitrust — content trust for container images. The public library API: named exports only,
 * chosen for a library user (sign, verify, the gate, keys, errors, the registry client, trust
 * metadata); internals (crypto switches, metadata version bumps, fallback-index repair, the
 * revocation digests) are not exported. Everything security-relevant lives below lib/ once; the
 * CLI, the server, the admission webhooks and the registry proxy are adapters that translate
 * the gate's answers (lib/gate).
 *
 * @example
 * import { createGate, HttpRegistryClient, parsePolicy } from 'ocitrust';
 * const gate = createGate({ registry: new HttpRegistryClient(), policy: parsePolicy(yaml) });
 * const { decision, outcome, code } = await gate.check('registry.example.com/app:v1');
 */

// Errors: one type, stable codes (docs/errors.md).
export { OcitrustError, isOcitrustError, CATALOGUE } from './errors/index.js';
export type { ErrorCode, CodeSpec } from './errors/index.js';

// Limits, time.
export { DEFAULT_LIMITS, limits } from './config.js';
export type { Limits } from './config.js';
export { systemClock, fixedClock, formatTime, parseTime } from './clock.js';
export type { Clock } from './clock.js';

// Crypto primitives that callers need at the edges.
export { verifyEd25519 } from './crypto/ed25519.js';
export { canonicalJson, canonicalBytes } from './crypto/canonical.js';
export { digestOf, parseDigest, isDigest } from './crypto/hash.js';
export { keyFingerprint } from './crypto/key-fingerprint.js';
export { parseJson } from './json.js';

// Image references.
export { parseReference, normalizeRepository, formatReference, withDigest } from './reference.js';
export type { ImageReference } from './reference.js';

// Keys.
export { PublicKey } from './keys/key.js';
export type { TufKeyJSON } from './keys/key.js';
export { SeedSigner } from './keys/signer.js';
export type { Signer } from './keys/signer.js';
export { KeyStore } from './keys/keystore.js';
export type { KeyEntry, NewKey, KeyStoreOptions } from './keys/keystore.js';
export { KeyFile, readKeyFile, writeKeyFile } from './keys/keyfile.js';
export { parsePrivateKeyPem, parsePublicKeyPem, privateKeyToPem, publicKeyToPem } from './keys/pem.js';
export { passphraseFromEnv } from './keys/passphrase.js';

// TUF trust metadata.
export {
  Metadata,
  Root,
  Targets,
  Snapshot,
  Timestamp,
  DelegatedRole,
  Revocation,
  newRoot,
  newTargets,
  pathMatches,
  targetPathOf,
} from './metadata/index.js';
export { Updater, TrustedSet, HttpMetadataSource, DirectoryMetadataSource, MemoryMetadataSource, FileTrustCache, MemoryTrustCache } from './tuf/index.js';
export type { UpdaterOptions, RefreshResult, MetadataSource, TrustCache, TrustStateKey } from './tuf/index.js';

// Signatures: DSSE envelopes with in-toto statements.
export {
  pae,
  parseEnvelope,
  signEnvelope,
  verifyEnvelope,
  serializeEnvelope,
  buildSignatureStatement,
  buildStatement,
  parseStatement,
  signStatement,
  INTOTO_PAYLOAD_TYPE,
  SIGNATURE_PREDICATE_TYPE,
} from './statements/index.js';
export type { Envelope, Statement, SignatureStatement, Attestation } from './statements/index.js';

// The pure verifier.
export { verifyImage, verifyIndex, normalizePolicy } from './verify/index.js';
export type { VerifyInput, VerifyPolicy, VerifyPolicyOptions, VerifyResult, VerifyFailure, VerifiedSignature, TrustedTargets, TrustedRole } from './verify/index.js';

// OCI registry client and signature referrers.
export { HttpRegistryClient, resolveManifest } from './oci/client.js';
export type { RegistryClient, FetchedManifest } from './oci/client.js';
export { dockerConfigCredentials, staticCredentials } from './oci/credentials.js';
export { pushSignature, listSignatures } from './oci/referrers.js';
export { collectEnvelopes, buildSignatureManifest } from './oci/signature-artifact.js';

// Policy files (shared by the CLI, the admission webhooks and the registry plugin).
export { parsePolicy, loadPolicyFile, resolvePolicy, policyRevision } from './policy/index.js';
export type { Policy, PolicyRule, ImageRuleOptions, Resolution } from './policy/index.js';

// Use cases: what the CLI commands do, as library calls.
export {
  OcitrustHome,
  openCollection,
  signImage,
  verifyReference,
  initCollection,
  addSigner,
  removeSigner,
  listSigners,
  revokeSignatures,
  rotateKey,
  copyImage,
  inspectReference,
  planUnderPolicy,
} from './usecases/index.js';
export type { SignImageOptions, SignImageResult, VerifyReferenceOptions, ReferenceVerification, TrustSource } from './usecases/index.js';
export { TrustServerClient } from './trust-client.js';

// The gate: one decision engine for an image under a policy (what the CLI, the admission
// webhooks and the proxy call): allow / deny / warn / skip, verified / failed / inconclusive.
export { createGate, outcomeOfCode, exitOfCode } from './gate/index.js';
export type { Gate, GateOptions, GateAnswer, GateOutcome, GateMode, CheckContext, TrustProvider, LocalTrustStore } from './gate/index.js';

// Air-gapped transfer (issue 17, docs/airgap.md): OCI image layouts as a registry, trust bundles,
// save, and trust from a bundle.
export { OciLayout } from './oci/layout.js';
export { LayoutRegistryClient } from './oci/layout-client.js';
export { parseLayoutReference, resolveLayoutImage } from './oci/layout-ref.js';
export { openLayoutPath, writeLayoutTar } from './oci/layout-tar.js';
export { readTrustBundle, writeTrustBundle, TRUST_BUNDLE_ARTIFACT_TYPE } from './oci/trust-bundle.js';
export type { TrustBundle } from './oci/trust-bundle.js';
export { saveImages, exportTrustBundle } from './usecases/save.js';
export { openBundleCollection } from './usecases/bundle-trust.js';
export type { BundleFreshness, BundleTrust } from './usecases/bundle-trust.js';
