/**
 * Finding Notation signatures of an image (signature-specification.md "Storage"): manifests
 * with `artifactType` (or, for OCI 1.0 registries, `config.mediaType`)
 * `application/vnd.cncf.notary.signature`, `subject` = the image, one layer holding the JWS or
 * COSE envelope. They are listed through the referrers API or its fallback tag schema (the
 * `sha256-<hex>` index) by lib/oci, with the same bounds as ocitrust's own signatures: at most
 * `maxSignatures` examined, manifests and envelopes size-bounded.
 */
import { OcitrustError, isOcitrustError } from '../errors/index.js';
import { DEFAULT_LIMITS } from '../config.js';
import { isMalformedContent, type RegistryClient, type RepositoryRef } from '../oci/client.js';
import { listReferrers } from '../oci/referrers.js';
import { effectiveArtifactType, isIndex } from '../oci/types.js';
import { failure, type VerifyFailure } from '../verify/result.js';
import { COSE_MEDIA_TYPE, ENVELOPE_LIMITS, JWS_MEDIA_TYPE, NOTATION_ARTIFACT_TYPE } from './envelope.js';

/** One envelope found, with where it came from. */
export interface FoundSignature {
  readonly manifestDigest: string;
  readonly mediaType: string;
  readonly envelope: Uint8Array;
}

/** What discovery found: envelopes, and the signature manifests that could not be used. */
export interface Discovery {
  readonly signatures: readonly FoundSignature[];
  readonly failures: readonly VerifyFailure[];
  readonly source: 'api' | 'fallback';
}

/** A manifest or blob the registry served that cannot be a signature: skipped, reported. */
function unusable(e: unknown): boolean {
  if (isMalformedContent(e)) return true;
  return isOcitrustError(e) && (/^(MANIFEST_|BLOB_)/.test(e.code) || e.code === 'REGISTRY_BAD_RESPONSE' || e.code === 'REGISTRY_RESPONSE_TOO_LARGE' || e.code === 'INPUT_TOO_LARGE');
}

/**
 * Lists and fetches the Notation signatures of `digest`.
 *
 * @throws OcitrustError REFERRERS_TOO_MANY, REGISTRY_* (could not decide)
 */
export async function discoverNotationSignatures(registry: RegistryClient, repo: RepositoryRef, digest: string, o: { maxSignatures?: number } = {}): Promise<Discovery> {
  const max = o.maxSignatures ?? DEFAULT_LIMITS.maxSignatures;
  const listing = await listReferrers(registry, repo, digest, { artifactType: NOTATION_ARTIFACT_TYPE, maxReferrers: max });
  const failures: VerifyFailure[] = [];
  let descriptors = listing.descriptors;
  if (descriptors.length > max) {
    failures.push(failure('SIGNATURE_LIMIT_EXCEEDED', `${descriptors.length} Notation signatures found, only the first ${max} were examined`));
    descriptors = descriptors.slice(0, max);
  }
  const signatures: FoundSignature[] = [];
  for (const d of descriptors) {
    try {
      const m = await registry.getManifest(repo, d.digest);
      const mf = m.manifest;
      if (isIndex(mf) || effectiveArtifactType(mf) !== NOTATION_ARTIFACT_TYPE) throw new OcitrustError('NOTATION_ENVELOPE_INVALID', `signature manifest ${d.digest}: expected artifactType ${NOTATION_ARTIFACT_TYPE}`);
      if (mf.subject?.digest !== digest) throw new OcitrustError('NOTATION_ENVELOPE_INVALID', `signature manifest ${d.digest}: expected subject ${digest}, got ${String(mf.subject?.digest).slice(0, 80)}`);
      if (mf.layers.length !== 1) throw new OcitrustError('NOTATION_ENVELOPE_INVALID', `signature manifest ${d.digest}: expected one envelope layer, got ${mf.layers.length}`);
      const layer = mf.layers[0]!;
      if (layer.mediaType !== JWS_MEDIA_TYPE && layer.mediaType !== COSE_MEDIA_TYPE) throw new OcitrustError('NOTATION_ENVELOPE_INVALID', `signature manifest ${d.digest}: expected a ${JWS_MEDIA_TYPE} or ${COSE_MEDIA_TYPE} layer, got ${String(layer.mediaType).slice(0, 80)}`);
      if (layer.size > ENVELOPE_LIMITS.maxEnvelopeBytes) throw new OcitrustError('NOTATION_ENVELOPE_INVALID', `signature manifest ${d.digest}: envelope of ${layer.size} bytes, expected at most ${ENVELOPE_LIMITS.maxEnvelopeBytes}`);
      const envelope = await registry.getBlob(repo, layer.digest, { size: layer.size, maxBytes: ENVELOPE_LIMITS.maxEnvelopeBytes });
      signatures.push({ manifestDigest: d.digest, mediaType: layer.mediaType, envelope });
    } catch (e) {
      if (isOcitrustError(e, 'NOTATION_ENVELOPE_INVALID')) failures.push(failure(e.code, e.message));
      else if (unusable(e)) failures.push(failure('NOTATION_ENVELOPE_INVALID', `signature manifest ${d.digest}: ${(e as OcitrustError).message}`));
      else throw e;
    }
  }
  return { signatures, failures, source: listing.source };
}
