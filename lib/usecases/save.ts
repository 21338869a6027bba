/**
 * `trust save` (issue 17): images (every platform of an index), every signature referrer of
 * each manifest, and the trust data of each collection involved, into one OCI image layout.
 * Images and signatures are copied byte for byte with {@link copyImage} into a
 * {@link LayoutRegistryClient} (digests unchanged, signatures become referrers inside the
 * layout); trust data is written as one trust bundle artifact per collection
 * (lib/oci/trust-bundle.ts).
 */
import { OcitrustError, assertArg } from '../errors/index.js';
import { formatTime, systemClock, type Clock } from '../clock.js';
import { DEFAULT_LIMITS, type Limits } from '../config.js';
import { Metadata } from '../metadata/metadata.js';
import { formatReference, referenceArg, type ImageReference } from '../reference.js';
import type { RegistryClient } from '../oci/client.js';
import type { OciLayout } from '../oci/layout.js';
import { LayoutRegistryClient } from '../oci/layout-client.js';
import { writeTrustBundle, type TrustBundle } from '../oci/trust-bundle.js';
import type { MetadataSource } from '../tuf/source.js';
import type { TrustCache } from '../tuf/store.js';
import type { RefreshResult } from '../tuf/updater.js';
import { copyImage, type CopyImageResult } from './copy.js';

/** Options of {@link saveImages}. */
export interface SaveImagesOptions {
  readonly images: readonly (string | ImageReference)[];
  readonly registry: RegistryClient;
  readonly layout: OciLayout;
  /** The trust bundle of a collection (verified and exported by the caller, see {@link exportTrustBundle}). */
  readonly trust: (collection: string) => Promise<TrustBundle>;
  /** The collection of an image (default: its repository). */
  readonly collectionOf?: (ref: ImageReference) => string;
  readonly maxBlobBytes?: number;
  /** Progress of one image's copy (blobs, manifests, signatures), and which image. */
  readonly onProgress?: (image: string, done: number, total: number) => void;
}

/** What {@link saveImages} wrote. */
export interface SaveResult {
  readonly images: readonly CopyImageResult[];
  readonly collections: readonly { readonly collection: string; readonly server: string; readonly versions: Readonly<Record<string, number>> }[];
}

/**
 * Saves images with their signatures and trust data into a layout.
 * @throws REFERENCE_INVALID, CLI_USAGE (an image without a tag), the codes of {@link copyImage}, and what `trust` throws
 * @example await saveImages({ images: ['reg.example/app:v1'], registry, layout, trust: (c) => exportTrustBundle(…) });
 */
export async function saveImages(o: SaveImagesOptions): Promise<SaveResult> {
  assertArg(typeof o === 'object' && o !== null, 'options', 'SaveImagesOptions object', o);
  assertArg(typeof o.registry?.getManifest === 'function', 'registry', 'RegistryClient', o.registry);
  assertArg(typeof o.layout?.index === 'function', 'layout', 'an OciLayout (OciLayout.create)', o.layout);
  assertArg(typeof o.trust === 'function', 'trust', 'a function collection → TrustBundle', o.trust);
  assertArg(Array.isArray(o.images) && o.images.length > 0, 'images', 'at least one image', o.images);
  const refs = o.images.map((i) => referenceArg(i, 'image'));
  for (const r of refs) {
    if (r.tag === undefined) throw new OcitrustError('CLI_USAGE', `${formatReference(r)}: trust save names each image in the layout by its tag; give REPOSITORY:TAG (with @DIGEST to pin it)`);
  }
  const dest = new LayoutRegistryClient(o.layout);
  const images: CopyImageResult[] = [];
  const collections = new Map<string, TrustBundle>();
  for (const ref of refs) {
    // Trust first: an image whose collection cannot be verified outside is not saved at all.
    const collection = o.collectionOf ? o.collectionOf(ref) : ref.repository;
    if (!collections.has(collection)) collections.set(collection, await o.trust(collection));
    const shown = formatReference(ref);
    images.push(
      await copyImage({
        source: ref,
        destination: { ...ref, digest: undefined } as ImageReference,
        registry: o.registry,
        destinationRegistry: dest,
        ...(o.maxBlobBytes !== undefined ? { maxBlobBytes: o.maxBlobBytes } : {}),
        ...(o.onProgress ? { onProgress: (d: number, t: number) => o.onProgress!(shown, d, t) } : {}),
      }),
    );
  }
  for (const b of collections.values()) await writeTrustBundle(o.layout, b);
  return {
    images,
    collections: [...collections.values()].map((b) => ({ collection: b.collection, server: b.server, versions: versionsOf(b) })),
  };
}

function versionsOf(b: TrustBundle): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of b.files.keys()) {
    const m = /^(?:(\d+)\.)?(root|timestamp|snapshot|targets)\.json$/.exec(name);
    if (!m) continue;
    if (m[2] === 'timestamp') {
      try {
        out.timestamp = Metadata.fromBytes('timestamp', b.files.get(name)!).signed.version;
      } catch {
        // reported when verified
      }
    } else out[m[2]!] = Math.max(out[m[2]!] ?? 0, Number(m[1]));
  }
  return out;
}

/** Options of {@link exportTrustBundle}. */
export interface ExportTrustOptions {
  readonly collection: string;
  /** The trust server URL (the rollback state's key, here and inside). */
  readonly server: string;
  /** The result of a successful online refresh of the collection (the TUF workflow just ran). */
  readonly refresh: RefreshResult;
  /** Where that refresh persisted the exact bytes it verified. */
  readonly cache: TrustCache;
  /** The server's metadata, for the older roots of the chain (1 … N-1). */
  readonly source: MetadataSource;
  readonly clock?: Clock;
  readonly limits?: Limits;
}

/**
 * The trust data of a collection as a bundle: the bytes an online refresh just verified
 * (timestamp, snapshot, targets and the current root, from the trust cache), plus every older
 * root from version 1, so a verifier inside can walk the chain from whatever root it pinned.
 * @throws TUF_SOURCE_* when an older root cannot be fetched, TUF_METADATA_MISSING, TUF_CACHE_IO
 */
export async function exportTrustBundle(o: ExportTrustOptions): Promise<TrustBundle> {
  assertArg(typeof o === 'object' && o !== null, 'options', 'ExportTrustOptions object', o);
  assertArg(typeof o.collection === 'string' && o.collection.length > 0, 'collection', 'a collection name', o.collection);
  assertArg(typeof o.server === 'string' && o.server.length > 0, 'server', 'a trust server URL', o.server);
  assertArg(typeof o.refresh === 'object' && o.refresh !== null && typeof o.refresh.versions === 'object', 'refresh', 'a RefreshResult', o.refresh);
  assertArg(typeof o.cache?.read === 'function', 'cache', 'a TrustCache', o.cache);
  assertArg(typeof o.source?.fetch === 'function', 'source', 'a MetadataSource', o.source);
  assertArg(o.limits === undefined || (typeof o.limits === 'object' && o.limits !== null), 'limits', 'Limits object', o.limits);
  const L = o.limits ?? DEFAULT_LIMITS;
  const cached = await o.cache.read({ server: o.server, collection: o.collection });
  const v = o.refresh.versions;
  if (!cached?.timestamp || !cached.snapshot || !cached.targets) {
    throw new OcitrustError('TUF_CACHE_IO', `no complete trusted state of ${o.collection} was persisted for ${o.server}; refresh it online first`);
  }
  // Versions from the persisted bytes themselves: another run may have persisted newer state
  // than this refresh saw, and the file names must match their contents.
  const rootV = Metadata.fromBytes('root', cached.root).signed.version;
  const snapV = Metadata.fromBytes('snapshot', cached.snapshot).signed.version;
  const targetsV = Metadata.fromBytes('targets', cached.targets).signed.version;
  if (rootV < v.root || targetsV < v.targets) throw new OcitrustError('TUF_CACHE_IO', `the persisted trusted state of ${o.collection} is older than the refresh that just ran; refresh again`);
  const files = new Map<string, Uint8Array>();
  for (let i = 1; i < rootV; i++) {
    const b = await o.source.fetch({ role: 'root', version: i }, L.maxMetadataBytes);
    if (b === null) throw new OcitrustError('TUF_METADATA_MISSING', `${o.source.description}${i}.root.json does not exist; the root chain of ${o.collection} cannot be exported from version 1`);
    files.set(`${i}.root.json`, b);
  }
  files.set(`${rootV}.root.json`, cached.root);
  files.set('timestamp.json', cached.timestamp);
  files.set(`${snapV}.snapshot.json`, cached.snapshot);
  files.set(`${targetsV}.targets.json`, cached.targets);
  return { collection: o.collection, server: o.server, created: formatTime((o.clock ?? systemClock).now()), files };
}
