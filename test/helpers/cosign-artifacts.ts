/**
 * cosign-layout and Sigstore-bundle artifacts for tests, built around the peers' real
 * signatures (../shared/vectors/peers): a `sha256-<hex>.sig` manifest whose layers carry the
 * captured payloads and annotations, and a bundle referrer manifest as cosign v3 writes it.
 * Nothing here signs: the signatures are the peers'.
 */
import { readFileSync } from 'node:fs';
import { digestOf } from '../../lib/crypto/hash.js';
import type { RegistryClient, RepositoryRef } from '../../lib/oci/client.js';
import { updateFallbackIndex } from '../../lib/oci/referrers.js';
import { OCI_MANIFEST, EMPTY_DESCRIPTOR, emptyBlob, type Descriptor } from '../../lib/oci/types.js';
import { SIMPLE_SIGNING_MEDIA_TYPE } from '../../lib/cosign/simple-signing.js';
import { BUNDLE_ARTIFACT_TYPE } from '../../lib/cosign/bundle.js';

export const PEERS = '../shared/vectors/peers';
export const CI = `${PEERS}/containers-image/signature`;
export const FIXTURES = `${CI}/fixtures`;
export const COSIGN_TESTDATA = `${PEERS}/sigstore-cosign/pkg/cosign/testdata`;
export const CONFORMANCE = `${PEERS}/sigstore-conformance/test/assets/bundle-verify`;
export const PUBLIC_GOOD_ROOT = `${PEERS}/sigstore-go/examples/trusted-root-public-good.json`;

/** One signature layer as containers/image stores it: payload bytes and layer annotations. */
export interface SignatureLayer {
  readonly mimeType: string;
  readonly payload: Uint8Array;
  readonly annotations: Record<string, string>;
}

/** Reads a containers/image `\x00sigstore-json\n` signature file. */
export function readSignatureFile(path: string): SignatureLayer {
  const raw = readFileSync(path);
  const prefix = '\x00sigstore-json\n';
  if (raw.subarray(0, prefix.length).toString('latin1') !== prefix) throw new Error(`${path}: not a sigstore-json signature`);
  const j = JSON.parse(raw.subarray(prefix.length).toString('utf8')) as { mimeType: string; payload: string; annotations: Record<string, string> };
  return { mimeType: j.mimeType, payload: Buffer.from(j.payload, 'base64'), annotations: j.annotations };
}

/**
 * The manifest and config of go-containerregistry's `empty.Image`, reproduced byte for byte
 * (its digest is the subject of cosign's `oci-attestation.sigstore.json`).
 */
export const EMPTY_IMAGE_CONFIG = Buffer.from('{"architecture":"","created":"0001-01-01T00:00:00Z","os":"","rootfs":{"type":"layers","diff_ids":null},"config":{}}');
export const EMPTY_IMAGE_MANIFEST = Buffer.from(
  `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":${EMPTY_IMAGE_CONFIG.length},"digest":"${digestOf(EMPTY_IMAGE_CONFIG)}"},"layers":[]}`,
);
export const EMPTY_IMAGE_DIGEST = 'sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4';

/** Pushes an image manifest (and any blobs given) under its digest and an optional tag. */
export async function pushImage(client: RegistryClient, repo: RepositoryRef, manifest: Uint8Array, mediaType?: string, blobs: Uint8Array[] = [], tag?: string): Promise<string> {
  mediaType ??= (JSON.parse(Buffer.from(manifest).toString('utf8')) as { mediaType: string }).mediaType;
  for (const b of blobs) await client.pushBlob(repo, b);
  const digest = digestOf(manifest);
  await client.putManifest(repo, digest, manifest, mediaType);
  if (tag) await client.putManifest(repo, tag, manifest, mediaType);
  return digest;
}

/** The `.sig` manifest cosign writes: one simple-signing layer per signature (other mime types kept as given). */
export async function pushCosignSignatures(client: RegistryClient, repo: RepositoryRef, subjectDigest: string, layers: readonly SignatureLayer[]): Promise<string> {
  const config = Buffer.from('{"architecture":"","created":"0001-01-01T00:00:00Z","os":"","rootfs":{"type":"layers","diff_ids":null},"config":{}}');
  await client.pushBlob(repo, config);
  const descs: Descriptor[] = [];
  for (const l of layers) {
    await client.pushBlob(repo, l.payload);
    descs.push({ mediaType: l.mimeType, size: l.payload.length, digest: digestOf(l.payload), annotations: l.annotations });
  }
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: config.length, digest: digestOf(config) }, layers: descs }));
  const tag = `${subjectDigest.replace(':', '-')}.sig`;
  await client.putManifest(repo, tag, manifest, OCI_MANIFEST);
  return tag;
}

/** A classic simple-signing layer from a signature file (mime type kept as captured). */
export function layerOf(path: string): SignatureLayer {
  return readSignatureFile(path);
}

/** Sanity: SIMPLE_SIGNING_MEDIA_TYPE is what containers/image captured. */
export { SIMPLE_SIGNING_MEDIA_TYPE };

/**
 * A Sigstore bundle as cosign v3 stores it: a referrer manifest (artifactType bundle v0.3, one
 * layer, subject = the image). On a registry without the referrers API the fallback index is
 * updated too.
 */
export async function pushBundleReferrer(client: RegistryClient, repo: RepositoryRef, subject: { digest: string; size: number; mediaType: string }, bundle: Uint8Array): Promise<string> {
  await client.pushBlob(repo, emptyBlob());
  await client.pushBlob(repo, bundle);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: BUNDLE_ARTIFACT_TYPE,
    config: EMPTY_DESCRIPTOR,
    layers: [{ mediaType: BUNDLE_ARTIFACT_TYPE, size: bundle.length, digest: digestOf(bundle) }],
    subject,
  }));
  const digest = digestOf(manifest);
  const put = await client.putManifest(repo, digest, manifest, OCI_MANIFEST);
  if (!put.ociSubject) {
    await updateFallbackIndex(client, repo, subject.digest, { add: [{ mediaType: OCI_MANIFEST, digest, size: manifest.length, artifactType: BUNDLE_ARTIFACT_TYPE }] });
  }
  return digest;
}
