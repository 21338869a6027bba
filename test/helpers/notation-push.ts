// Pushes Notation signature manifests the way notation does (signature-specification.md
// "Storage"): an OCI image manifest with artifactType application/vnd.cncf.notary.signature,
// the empty config, one envelope layer and `subject` = the signed image; on a registry
// without the referrers API the referrers tag schema index is updated (notation's fallback).
import { updateFallbackIndex } from '../../lib/oci/referrers.js';
import { referrerDescriptor } from '../../lib/oci/signature-artifact.js';
import { EMPTY_DESCRIPTOR, OCI_MANIFEST, emptyBlob } from '../../lib/oci/types.js';
import { digestOf } from '../../lib/crypto/hash.js';
import type { RegistryClient, RepositoryRef } from '../../lib/oci/client.js';

/** Pushes one signature manifest for `subject`; returns its digest and whether the registry indexed it. */
export async function pushNotationSignature(
  client: RegistryClient,
  repo: RepositoryRef,
  subject: { mediaType: string; digest: string; size: number },
  envelope: Uint8Array,
  o: { mediaType?: string; thumbprints?: string[] } = {},
): Promise<{ digest: string; api: boolean }> {
  const layerType = o.mediaType ?? 'application/jose+json';
  await client.pushBlob(repo, emptyBlob());
  await client.pushBlob(repo, envelope);
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: 'application/vnd.cncf.notary.signature',
    config: EMPTY_DESCRIPTOR,
    layers: [{ mediaType: layerType, digest: digestOf(envelope), size: envelope.length }],
    subject,
    annotations: {
      'io.cncf.notary.x509chain.thumbprint#S256': JSON.stringify(o.thumbprints ?? []),
      'org.opencontainers.image.created': new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    },
  };
  const bytes = new TextEncoder().encode(JSON.stringify(manifest));
  const digest = digestOf(bytes);
  const put = await client.putManifest(repo, digest, bytes, OCI_MANIFEST);
  const api = put.ociSubject !== undefined;
  if (!api) {
    const m = await client.getManifest(repo, digest);
    await updateFallbackIndex(client, repo, subject.digest, { add: [referrerDescriptor(m)] });
  }
  return { digest, api };
}
