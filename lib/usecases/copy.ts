/**
 * Copying an image and everything that signs it to another repository or registry (`trust
 * copy`, and `trust save` / `trust load` through a layout client). Manifests keep their exact
 * bytes (so digests, and the signatures over them, stay valid). Every referrer of every
 * manifest copied travels too, whatever its artifactType (ocitrust signatures, Sigstore
 * bundles, Notation signatures, SBOMs…), byte for byte with its blobs, published on the
 * destination the way it supports: the referrers API, or the tag schema (DESIGN §4). cosign's
 * classic `sha256-<hex>.sig` / `.att` tags are not referrers; they are copied under the same tag.
 */
import { OcitrustError, assertArg, isOcitrustError } from '../errors/index.js';
import { DEFAULT_LIMITS, type Limits } from '../config.js';
import { formatReference, referenceArg, type ImageReference } from '../reference.js';
import { isMalformedContent, type FetchedManifest, type RegistryClient, type RepositoryRef } from '../oci/client.js';
import { cosignTag, listReferrers, signatureTag, updateFallbackIndex } from '../oci/referrers.js';
import { checkSignatureManifest, referrerDescriptor } from '../oci/signature-artifact.js';
import { emptyBlob, isIndex, EMPTY_DIGEST, INDEX_MEDIA_TYPES, MANIFEST_MEDIA_TYPES, SIGNATURE_ARTIFACT_TYPE, type Descriptor } from '../oci/types.js';

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
  /**
   * Bounds for the signatures and other referrers (default DEFAULT_LIMITS, as discovery):
   * `maxSignatures` referrers per manifest, `maxManifestBytes` per manifest (the client's),
   * `maxBufferedBlobBytes` per referrer blob.
   */
  readonly limits?: Limits;
}

/** One signature or other artifact copied along with the image. */
export interface CopiedArtifact {
  /** The manifest it signs or describes. */
  readonly subject: string;
  readonly digest: string;
  /** `api` / `fallback`: a referrer, indexed by the referrers API or the tag schema; `tag`: a cosign tag. */
  readonly mode: 'api' | 'fallback' | 'tag';
  /** The referrer's artifactType (absent for cosign tags and untyped artifacts). */
  readonly artifactType?: string;
  /** The cosign tag (`sha256-<hex>.sig` / `.att`) it was copied under. */
  readonly tag?: string;
}

/** A referrer left behind because its manifest cannot be read as a manifest (never an ocitrust signature). */
export interface SkippedArtifact {
  readonly subject: string;
  readonly digest: string;
  readonly code: string;
  readonly reason: string;
}

/** Result of {@link copyImage}. */
export interface CopyImageResult {
  readonly source: string;
  /** `repository[:tag]@digest` at the destination. */
  readonly destination: string;
  readonly digest: string;
  readonly manifests: number;
  readonly blobs: number;
  /** Signatures and other referrers copied (ocitrust's and others'), with how the destination indexes them. */
  readonly signatures: readonly CopiedArtifact[];
  /** Foreign referrers whose manifest could not be parsed, so they could not be copied. */
  readonly skipped: readonly SkippedArtifact[];
}

const MAX_MANIFESTS = 1024;
/** cosign's tag schema: signatures and attestations of `sha256:<hex>` under `sha256-<hex>.<suffix>`. */
const COSIGN_TAG_SUFFIXES = ['sig', 'att'] as const;

/**
 * Copies an image (an index with all its children), every referrer of every manifest copied
 * (ocitrust signatures shape-checked, others copied as bytes) and cosign's `.sig` / `.att`
 * tags. Blobs the destination has are skipped; on the same registry they are
 * mounted. The copy's signatures still name the source repository: verify the copy under a
 * policy whose identity remap maps the destination back (DESIGN §5 step 4).
 *
 * @example await copyImage({ source: 'reg-a.example/app:v1', destination: 'reg-b.example/app', registry })
 * A foreign referrer whose manifest cannot be parsed is skipped and reported in `skipped`;
 * a referrer blob that does not match its digest, or more referrers or bigger blobs than the
 * limits, end the copy with a coded error (nothing is silently dropped).
 *
 * @throws REFERENCE_INVALID, MANIFEST_*, BLOB_* (BLOB_DIGEST_MISMATCH), REGISTRY_*, REFERRERS_*, INPUT_TOO_LARGE, SIGNATURE_ARTIFACT_INVALID
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
  assertArg(o.limits === undefined || (typeof o.limits === 'object' && o.limits !== null), 'limits', 'Limits object', o.limits);
  const L = o.limits ?? DEFAULT_LIMITS;

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
  const cosignTags = new Map<string, { tag: string; manifest: FetchedManifest }[]>();
  const skipped: SkippedArtifact[] = [];
  for (const m of order) {
    const l = await listReferrers(from, src, m.digest, { complete: true, maxReferrers: L.maxSignatures });
    if (l.descriptors.length > L.maxSignatures) {
      throw new OcitrustError('REFERRERS_TOO_MANY', `${m.digest}: ${l.descriptors.length} referrers, expected at most ${L.maxSignatures}; not copying a subset`);
    }
    listings.set(m.digest, [...l.descriptors]);
    const tags: { tag: string; manifest: FetchedManifest }[] = [];
    for (const suffix of COSIGN_TAG_SUFFIXES) {
      const tag = cosignTag(m.digest, suffix);
      try {
        tags.push({ tag, manifest: await from.getManifest(src, tag) });
      } catch (e) {
        if (isOcitrustError(e, 'MANIFEST_NOT_FOUND')) continue;
        if (!isMalformedContent(e)) throw e;
        skipped.push({ subject: m.digest, digest: tag, code: e.code, reason: e.message });
      }
    }
    cosignTags.set(m.digest, tags);
  }
  const sigCount = [...listings.values(), ...cosignTags.values()].reduce((n, l) => n + l.length, 0);
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

  const art = { from, src, to, dst, sameRegistry, limits: L };
  const signatures: CopiedArtifact[] = [];
  for (const m of order) {
    const fallback: Descriptor[] = [];
    for (const d of listings.get(m.digest) ?? []) {
      const ours = d.artifactType === SIGNATURE_ARTIFACT_TYPE;
      let ref: FetchedManifest;
      try {
        ref = await from.getManifest(src, d.digest);
      } catch (e) {
        // Another tool's artifact the client cannot read as a manifest: left behind, reported.
        if (ours || !isMalformedContent(e)) throw e;
        skipped.push({ subject: m.digest, digest: d.digest, code: e.code, reason: e.message });
        step(d.digest);
        continue;
      }
      if (ours) checkSignatureManifest(ref, m.digest, L.maxEnvelopeBytes);
      else if (ref.manifest.subject?.digest !== m.digest) {
        // Listed for this subject but names another: the destination would index it elsewhere.
        skipped.push({ subject: m.digest, digest: d.digest, code: 'MANIFEST_INVALID', reason: `referrer ${d.digest}: expected subject ${m.digest}, got ${ref.manifest.subject?.digest ?? 'none'}` });
        step(d.digest);
        continue;
      }
      await copyArtifact(art, ref, 0);
      const put = await to.putManifest(dst, ref.digest, ref.bytes, ref.mediaType);
      let mode: 'api' | 'fallback' = 'api';
      if (put.ociSubject !== m.digest) {
        mode = 'fallback';
        // Our per-signature tag (DESIGN §4); other tools' referrers live in the fallback index as they do at the source.
        if (ours) await to.putManifest(dst, signatureTag(m.digest, ref.digest), ref.bytes, ref.mediaType);
        fallback.push(referrerDescriptor(ref));
      }
      const at = referrerDescriptor(ref).artifactType;
      signatures.push({ subject: m.digest, digest: ref.digest, mode, ...(at !== undefined ? { artifactType: at } : {}) });
      step(ref.digest);
    }
    if (fallback.length > 0) await updateFallbackIndex(to, dst, m.digest, { add: fallback, healFromTags: true });
    for (const { tag, manifest } of cosignTags.get(m.digest) ?? []) {
      await copyArtifact(art, manifest, 0);
      await to.putManifest(dst, tag, manifest.bytes, manifest.mediaType);
      signatures.push({ subject: m.digest, digest: manifest.digest, mode: 'tag', tag });
      step(tag);
    }
  }
  return {
    source: formatReference({ ...src, digest: top.digest }),
    destination: `${dst.repository}${dst.tag !== undefined ? `:${dst.tag}` : ''}@${top.digest}`,
    digest: top.digest,
    manifests: order.length,
    blobs: blobs.size,
    signatures,
    skipped,
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

interface ArtifactCopy {
  readonly from: RegistryClient;
  readonly src: RepositoryRef;
  readonly to: RegistryClient;
  readonly dst: RepositoryRef;
  readonly sameRegistry: boolean;
  readonly limits: Limits;
}

/**
 * Copies what a signature or other artifact manifest references (its blobs; for an index,
 * its child manifests and theirs, one level), so the destination accepts the manifest itself.
 * Blobs are bounded by `maxBufferedBlobBytes` and checked against their digests on the way.
 */
async function copyArtifact(c: ArtifactCopy, m: FetchedManifest, depth: number): Promise<void> {
  if (isIndex(m.manifest)) {
    const children = Array.isArray(m.manifest.manifests) ? m.manifest.manifests : [];
    if (depth > 0 || children.length > c.limits.maxSignatures) {
      throw new OcitrustError('INPUT_TOO_LARGE', `artifact index ${m.digest}: expected at most ${c.limits.maxSignatures} image manifests one level deep, got ${children.length}${depth > 0 ? ' nested' : ''}`);
    }
    for (const d of children) {
      const child = await c.from.getManifest(c.src, d.digest);
      await copyArtifact(c, child, depth + 1);
      await c.to.putManifest(c.dst, child.digest, child.bytes, child.mediaType);
    }
    return;
  }
  const layers = Array.isArray(m.manifest.layers) ? m.manifest.layers : [];
  if (layers.length > c.limits.maxSignatures) {
    throw new OcitrustError('INPUT_TOO_LARGE', `artifact ${m.digest}: ${layers.length} layers, expected at most ${c.limits.maxSignatures}`);
  }
  for (const d of [m.manifest.config, ...layers]) {
    if (!d || (d.urls && d.urls.length > 0)) continue;
    if (d.digest === EMPTY_DIGEST) {
      // The empty config of artifacts: written, not fetched (a layout need not hold it twice).
      if ((await c.to.headBlob(c.dst, d.digest)) === undefined) await c.to.pushBlob(c.dst, emptyBlob());
      continue;
    }
    await copyBlob(c.from, c.src, c.to, c.dst, d, c.sameRegistry, c.limits.maxBufferedBlobBytes);
  }
}
