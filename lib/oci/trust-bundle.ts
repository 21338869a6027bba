/**
 * Trust data carried inside an OCI image layout (issue 17, docs/airgap.md): one artifact per
 * collection, so any OCI tool that copies the layout carries the trust data with the images.
 *
 * - Manifest: an OCI image manifest with `artifactType`
 *   `application/vnd.ocitrust.trust-bundle.v1+json`, `config` the empty descriptor, one layer
 *   per TUF metadata file (media type `application/vnd.ocitrust.tuf.metadata.v1+json`, the file
 *   name in `org.opencontainers.image.title`: `1.root.json` … `N.root.json`, `timestamp.json`,
 *   `N.snapshot.json`, `N.targets.json`), annotations naming the collection
 *   (`dev.ocitrust.collection`), the trust server it was read from (`dev.ocitrust.trust-server`,
 *   which keys the rollback state inside) and when it was saved.
 * - index.json lists it unnamed, with its artifactType and annotations, so it is found without
 *   reading every manifest.
 *
 * Nothing here is trusted: the files are only bytes for the TUF client workflow, which checks
 * them against the pinned root and the rollback state (lib/usecases/bundle-trust.ts).
 */
import { OcitrustError, assertArg } from '../errors/index.js';
import { DEFAULT_LIMITS } from '../config.js';
import { parseMetadataFileName } from '../tuf/source.js';
import { CREATED_ANNOTATION, EMPTY_DESCRIPTOR, OCI_MANIFEST, emptyBlob, parseImageManifest, type Descriptor } from './types.js';
import type { OciLayout } from './layout.js';

/** `artifactType` of a trust bundle manifest. */
export const TRUST_BUNDLE_ARTIFACT_TYPE = 'application/vnd.ocitrust.trust-bundle.v1+json';
/** Media type of one TUF metadata file in a trust bundle. */
export const TUF_METADATA_MEDIA_TYPE = 'application/vnd.ocitrust.tuf.metadata.v1+json';
/** Annotation: the collection the trust data belongs to. */
export const COLLECTION_ANNOTATION = 'dev.ocitrust.collection';
/** Annotation: the trust server the data was read from. */
export const TRUST_SERVER_ANNOTATION = 'dev.ocitrust.trust-server';
/** Standard OCI annotation holding a layer's file name. */
export const TITLE_ANNOTATION = 'org.opencontainers.image.title';
/** Most metadata files in one bundle (root versions and the three other roles). */
export const MAX_BUNDLE_FILES = 1024;
/** Most bytes of metadata in one bundle. */
export const MAX_BUNDLE_BYTES = 64 * 1024 * 1024;

/** One collection's trust data as carried. */
export interface TrustBundle {
  readonly collection: string;
  /** Trust server URL the data came from. */
  readonly server: string;
  /** `YYYY-MM-DDTHH:MM:SSZ` of the save (informational: not signed). */
  readonly created: string;
  /** File name → bytes. */
  readonly files: ReadonlyMap<string, Uint8Array>;
}

/** A bundle as listed in index.json, before its files are read. */
export interface TrustBundleEntry {
  readonly collection: string;
  readonly server: string;
  readonly created: string;
  readonly descriptor: Descriptor;
}

/**
 * Writes a collection's trust data into the layout, replacing an earlier bundle of the same
 * collection (blobs first, index.json last).
 * @throws INVALID_ARGUMENT for a file name outside the consistent-snapshot layout, CLI_OUTPUT_FAILED
 */
export async function writeTrustBundle(layout: OciLayout, b: TrustBundle): Promise<Descriptor> {
  assertLayout(layout);
  assertBundle(b);
  const layers: Descriptor[] = [];
  for (const [name, bytes] of [...b.files].sort(([x], [y]) => fileOrder(x) - fileOrder(y) || x.localeCompare(y))) {
    if (parseMetadataFileName(name) === null) throw new OcitrustError('INVALID_ARGUMENT', `trust bundle file: expected N.root.json, timestamp.json, N.snapshot.json or N.targets.json, got ${JSON.stringify(name)}`);
    const digest = await layout.writeBlob(bytes);
    layers.push({ mediaType: TUF_METADATA_MEDIA_TYPE, digest, size: bytes.length, annotations: { [TITLE_ANNOTATION]: name } });
  }
  await layout.writeBlob(emptyBlob());
  const annotations = { [COLLECTION_ANNOTATION]: b.collection, [TRUST_SERVER_ANNOTATION]: b.server, [CREATED_ANNOTATION]: b.created };
  const manifest = { schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: TRUST_BUNDLE_ARTIFACT_TYPE, config: EMPTY_DESCRIPTOR, layers, annotations };
  const bytes = new TextEncoder().encode(JSON.stringify(manifest));
  const digest = await layout.writeBlob(bytes);
  const desc: Descriptor = { mediaType: OCI_MANIFEST, digest, size: bytes.length, artifactType: TRUST_BUNDLE_ARTIFACT_TYPE, annotations };
  const idx = await layout.index();
  await layout.setManifests([...idx.manifests.filter((d) => !(d.artifactType === TRUST_BUNDLE_ARTIFACT_TYPE && d.annotations?.[COLLECTION_ANNOTATION] === b.collection)), desc]);
  return desc;
}

function fileOrder(name: string): number {
  const f = parseMetadataFileName(name);
  if (!f) return 9;
  return f.role === 'root' ? f.version / 1e6 : f.role === 'timestamp' ? 1 : f.role === 'snapshot' ? 2 : 3;
}

/** Checks a layout argument at the door. @throws INVALID_ARGUMENT */
export function assertLayout(layout: unknown): asserts layout is OciLayout {
  assertArg(typeof layout === 'object' && layout !== null && typeof (layout as OciLayout).index === 'function' && typeof (layout as OciLayout).dir === 'string', 'layout', 'an OciLayout (OciLayout.open)', layout);
}

/** Checks a trust bundle argument at the door. @throws INVALID_ARGUMENT */
export function assertBundle(b: unknown): asserts b is TrustBundle {
  assertArg(typeof b === 'object' && b !== null, 'bundle', 'a TrustBundle object', b);
  const t = b as TrustBundle;
  assertArg(typeof t.collection === 'string' && t.collection.length > 0, 'bundle.collection', 'a collection name', t.collection);
  assertArg(typeof t.server === 'string' && t.server.length > 0, 'bundle.server', 'a trust server URL', t.server);
  assertArg(typeof t.created === 'string', 'bundle.created', 'a time string', t.created);
  assertArg(t.files instanceof Map && [...t.files.values()].every((v) => v instanceof Uint8Array), 'bundle.files', 'a Map of file name to Uint8Array', t.files);
}

/** The trust bundles index.json lists (unread). */
export async function listTrustBundles(layout: OciLayout): Promise<TrustBundleEntry[]> {
  const out: TrustBundleEntry[] = [];
  for (const d of (await layout.index()).manifests) {
    if (d.artifactType !== TRUST_BUNDLE_ARTIFACT_TYPE) continue;
    const a = d.annotations ?? {};
    const collection = a[COLLECTION_ANNOTATION];
    const server = a[TRUST_SERVER_ANNOTATION];
    if (typeof collection !== 'string' || typeof server !== 'string') continue;
    out.push({ collection, server, created: a[CREATED_ANNOTATION] ?? '', descriptor: d });
  }
  return out;
}

/**
 * Reads one collection's trust bundle: the manifest and every file, each checked against its
 * digest, bounded in count and size. The manifest's own annotations are authoritative (the
 * index entry only finds it) and must name the same collection.
 * @throws BUNDLE_TRUST_MISSING, LAYOUT_BLOB_MISMATCH, LAYOUT_BLOB_MISSING, LAYOUT_INVALID, LAYOUT_TOO_LARGE
 */
export async function readTrustBundle(layout: OciLayout, collection: string): Promise<TrustBundle> {
  assertLayout(layout);
  assertArg(typeof collection === 'string' && collection.length > 0, 'collection', 'a collection name', collection);
  const entries = (await listTrustBundles(layout)).filter((e) => e.collection === collection);
  if (entries.length === 0) {
    const have = (await listTrustBundles(layout)).map((e) => e.collection);
    throw new OcitrustError('BUNDLE_TRUST_MISSING', `layout ${layout.dir} carries no trust data for collection ${collection} (it has: ${have.join(', ') || 'none'})`, { details: { collection } });
  }
  if (entries.length > 1) throw new OcitrustError('LAYOUT_INVALID', `layout ${layout.dir} has ${entries.length} trust bundles for collection ${collection}; expected one`);
  const e = entries[0]!;
  const bytes = await layout.readBlob(e.descriptor.digest, { size: e.descriptor.size, maxBytes: DEFAULT_LIMITS.maxManifestBytes });
  let m;
  try {
    m = parseImageManifest(bytes, { what: `trust bundle of ${collection}`, maxEntries: MAX_BUNDLE_FILES });
  } catch (err) {
    throw new OcitrustError('LAYOUT_INVALID', `layout ${layout.dir}: trust bundle of ${collection}: ${(err as Error).message}`, { cause: err });
  }
  const a = m.annotations ?? {};
  if (m.artifactType !== TRUST_BUNDLE_ARTIFACT_TYPE || a[COLLECTION_ANNOTATION] !== collection || typeof a[TRUST_SERVER_ANNOTATION] !== 'string') {
    throw new OcitrustError('LAYOUT_INVALID', `layout ${layout.dir}: the trust bundle listed for ${collection} is not a trust bundle of ${collection} (artifactType ${String(m.artifactType)}, collection ${String(a[COLLECTION_ANNOTATION])})`);
  }
  const files = new Map<string, Uint8Array>();
  let total = 0;
  for (const l of m.layers) {
    const name = l.annotations?.[TITLE_ANNOTATION];
    if (l.mediaType !== TUF_METADATA_MEDIA_TYPE || typeof name !== 'string' || parseMetadataFileName(name) === null || files.has(name)) {
      throw new OcitrustError('LAYOUT_INVALID', `layout ${layout.dir}: trust bundle of ${collection}: layer ${l.digest} is not a TUF metadata file with a unique consistent-snapshot name`);
    }
    total += l.size;
    if (total > MAX_BUNDLE_BYTES) throw new OcitrustError('LAYOUT_TOO_LARGE', `layout ${layout.dir}: trust bundle of ${collection} holds more than ${MAX_BUNDLE_BYTES} bytes`);
    files.set(name, await layout.readBlob(l.digest, { size: l.size, maxBytes: DEFAULT_LIMITS.maxMetadataBytes }));
  }
  return { collection, server: a[TRUST_SERVER_ANNOTATION]!, created: a[CREATED_ANNOTATION] ?? '', files };
}
