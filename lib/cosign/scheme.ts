/**
 * The `cosign` signature scheme: cosign's classic `sha256-<hex>.sig` signatures and Sigstore
 * bundles stored as referrers (or in the referrers fallback index), verified offline under a
 * rule's keys or keyless identities. Discovery is bounded like ocitrust's own signatures
 * (DEFAULT_LIMITS.maxSignatures artifacts, payload and bundle sizes), and every artifact that
 * cannot be used is a failure with a catalogue code, never a verified signature.
 *
 * This module is the scheme's small face (policy key, validation, files): the verifier
 * (verify-image.ts, with @sigstore/*) is imported on first verification only, so a policy or a
 * verify that names no `cosign` rule never loads it.
 */
import { cosignTag } from '../oci/referrers.js';
import type { SignatureScheme } from '../schemes/types.js';
import { cosignFiles, resolveCosignPaths, validateCosignConfig, type CosignConfig } from './config.js';

/** The `format` of classic cosign signatures. */
export const COSIGN_FORMAT = 'cosign';
/** The `format` of Sigstore bundles. */
export const BUNDLE_FORMAT = 'sigstore-bundle';

/** cosign's signature tag for a digest: `sha256-<hex>.sig`. */
export function cosignSignatureTag(digest: string): string {
  return cosignTag(digest, 'sig');
}

/** The scheme registered in lib/schemes (policy key `cosign`). */
export const cosignScheme: SignatureScheme<CosignConfig> = {
  key: 'cosign',
  format: COSIGN_FORMAT,
  validate: validateCosignConfig,
  resolvePaths: resolveCosignPaths,
  files: cosignFiles,
  async verify(config, input) {
    const { verifyCosign } = await import('./verify-image.js');
    return verifyCosign(config, input);
  },
};

