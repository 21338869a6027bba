/**
 * Copying an image and all its signatures to another repository or registry (`trust copy`).
 * Manifests keep their exact bytes (so digests, and the signatures over them, stay valid);
 * signature manifests are copied byte for byte too and published on the destination the way
 * it supports: the referrers API, or the tag schema with a per-signature tag (DESIGN §4).
 */
import { OcitrustError, assertArg } from '../errors/index.js';
import { formatReference, referenceArg, type ImageReference } from '../reference.js';
import type { FetchedManifest, RegistryClient, RepositoryRef } from '../oci/client.js';
import { listSignatures, signatureTag, updateFallbackIndex } from '../oci/referrers.js';
import { checkSignatureManifest, referrerDescriptor } from '../oci/signature-artifact.js';
import { emptyBlob, isIndex, INDEX_MEDIA_TYPES, MANIFEST_MEDIA_TYPES, OCI_MANIFEST, type Descriptor } from '../oci/types.js';

/** Options of {@link copyImage}. */
export interface CopyImageOptions {
  readonly source: string | ImageReference;
  /** Destination; without tag or digest it takes the source's tag. */
  readonly destination: string | ImageReference;
  /** Client for the source registry. */
  readonly registry: RegistryClient;
  /** Client for the destination registry (default: the same client). */
  readonly destinationRegistry?: RegistryClient;
  /** Largest blob copied (held in memory; default 1 GiB). */
  readonly maxBlobBytes?: number;
  /** Called as work progresses (blobs, manifests and signatures each count as one step). */
  readonly onProgress?: (done: number, total: number, what: string) => void;
}

/** Result of {@link copyImage}. */
export interface CopyImageResult {
  readonly source: string;
  /** `repository[:tag]@digest` at the destination. */
  readonly destination: string;
  readonly digest: string;
  readonly manifests: number;
  readonly blobs: number;
  /** Signature manifests copied, with how the destination indexes them. */
  readonly signatures: readonly { readonly subject: string; readonly digest: string; readonly mode: 'api' | 'fallback' }[];
}

const MAX_MANIFESTS = 1024;

/**
 * Copies an image (an index with all its children) and every ocitrust signature of every
 * manifest copied. Blobs the destination has are skipped; on the same registry they are
 * mounted. The copy's signatures still name the source repository: verify the copy under a
 * policy whose identity remap maps the destination back (DESIGN §5 step 4).
 *
 * @example await copyImage({ source: 'reg-a.example/app:v1', destination: 'reg-b.example/app', registry })
 * @throws REFERENCE_INVALID, MANIFEST_*, BLOB_*, REGISTRY_*, REFERRERS_*, INPUT_TOO_LARGE
 */
export async function copyImage(o: CopyImageOptions): Promise<CopyImageResult> {
  assertArg(typeof o === 'object' && o !== null, 'options', 'CopyImageOptions object', o);
  const src = referenceArg(o.source, 'source');
  let dst = referenceArg(o.destination, 'destination', { defaultTag: false });
  assertArg(typeof o.registry?.getManifest === 'function', 'registry', 'RegistryClient', o.registry);
  assertArg(o.destinationRegistry === undefined || typeof o.destinationRegistry?.getManifest === 'function', 'destinationRegistry', 'RegistryClient', o.destinationRegistry);
  assertArg(o.onProgress === undefined || typeof o.onProgress === 'function', 'onProgress', 'function', o.onProgress);
  if (dst.tag === undefined && dst.digest === undefined) dst = { ...dst, ...(src.tag !== undefined ? { tag: src.tag } : {}) };
  const from = o.registry;
  const to = o.destinationRegistry ?? o.registry;
  const sameRegistry = src.registry === dst.registry && to === from;
  const maxBlob = o.maxBlobBytes ?? 1024 * 1024 * 1024;

  // Collect the manifest tree, children before parents (a registry may check references on PUT).
  const top = await from.getManifest(src, src.digest ?? src.tag ?? 'latest');
  if (dst.digest !== undefined && dst.digest !== top.digest) {
    throw new OcitrustError('INVALID_ARGUMENT', `destination pins ${dst.digest} but the source resolves to ${top.digest}`);
  }
  const order: FetchedManifest[] = [];
  const seen = new Set<string>();
  const walk = async (m: FetchedManifest, depth: number): Promise<void> => {
    if (seen.has(m.digest)) return;
    seen.add(m.digest);
    if (seen.size > MAX_MANIFESTS) throw new OcitrustError('INPUT_TOO_LARGE', `${formatReference(src)}: more than ${MAX_MANIFESTS} manifests`);
    if (isIndex(m.manifest) && INDEX_MEDIA_TYPES.includes(m.mediaType) && depth < 4) {
      for (const d of m.manifest.manifests) {
        if (!MANIFEST_MEDIA_TYPES.includes(d.mediaType)) continue;
        await walk(await from.getManifest(src, d.digest), depth + 1);
      }
    }
    order.push(m);
  };
  await walk(top, 0);

  const blobs = new Map<string, Descriptor>();
  for (const m of order) {
    if (isIndex(m.manifest)) continue;
    for (const d of [m.manifest.config, ...m.manifest.layers]) {
      // Foreign layers (with urls) are not distributed by registries; leave them where they are.
      if (d.urls && d.urls.length > 0) continue;
      blobs.set(d.digest, d);
    }
  }
  const listings = new Map<string, Descriptor[]>();
  for (const m of order) {
    const l = await listSignatures(from, src, m.digest, { complete: true });
    listings.set(m.digest, [...l.descriptors]);
  }
  const sigCount = [...listings.values()].reduce((n, l) => n + l.length, 0);
  const total = blobs.size + order.length + sigCount;
  let done = 0;
  const step = (what: string): void => o.onProgress?.(++done, total, what);

  for (const d of blobs.values()) {
    await copyBlob(from, src, to, dst, d, sameRegistry, maxBlob);
    step(d.digest);
  }
  for (const m of order) {
    const isTop = m.digest === top.digest;
    await to.putManifest(dst, m.digest, m.bytes, m.mediaType);
    if (isTop && dst.tag !== undefined) await to.putManifest(dst, dst.tag, m.bytes, m.mediaType);
    step(m.digest);
  }

  const signatures: { subject: string; digest: string; mode: 'api' | 'fallback' }[] = [];
  for (const m of order) {
    const subject: Descriptor = { mediaType: m.mediaType, digest: m.digest, size: m.size };
    const fallback: Descriptor[] = [];
    for (const d of listings.get(m.digest) ?? []) {
      const sig = await from.getManifest(src, d.digest);
      const layer = checkSignatureManifest(sig, m.digest);
      const envelope = await from.getBlob(src, layer.digest, { size: layer.size });
      await to.pushBlob(dst, emptyBlob());
      await to.pushBlob(dst, envelope);
      const put = await to.putManifest(dst, sig.digest, sig.bytes, OCI_MANIFEST);
      let mode: 'api' | 'fallback' = 'api';
      if (put.ociSubject !== subject.digest) {
        mode = 'fallback';
        await to.putManifest(dst, signatureTag(subject.digest, sig.digest), sig.bytes, OCI_MANIFEST);
        fallback.push(referrerDescriptor(sig));
      }
      signatures.push({ subject: m.digest, digest: sig.digest, mode });
      step(sig.digest);
    }
    if (fallback.length > 0) await updateFallbackIndex(to, dst, subject.digest, { add: fallback, healFromTags: true });
  }
  return {
    source: formatReference({ ...src, digest: top.digest }),
    destination: `${dst.repository}${dst.tag !== undefined ? `:${dst.tag}` : ''}@${top.digest}`,
    digest: top.digest,
    manifests: order.length,
    blobs: blobs.size,
    signatures,
  };
}

async function copyBlob(
  from: RegistryClient,
  src: RepositoryRef,
  to: RegistryClient,
  dst: RepositoryRef,
  d: Descriptor,
  sameRegistry: boolean,
  maxBytes: number,
): Promise<void> {
  assertArg(Number.isSafeInteger(d.size) && d.size >= 0, 'descriptor.size', 'non-negative integer', d.size);
  if ((await to.headBlob(dst, d.digest)) !== undefined) return;
  if (d.size > maxBytes) throw new OcitrustError('INPUT_TOO_LARGE', `blob ${d.digest}: ${d.size} bytes exceeds the copy limit of ${maxBytes}`);
  const bytes = await from.getBlob(src, d.digest, { size: d.size, maxBytes });
  await to.pushBlob(dst, bytes, sameRegistry && src.path !== dst.path ? { mountFrom: src.path } : {});
}
