/**
 * An OCI image layout as a registry: a {@link RegistryClient} over an {@link OciLayout}, so
 * that the gate, the signer and `copyImage` work on a folder exactly as on a registry (issue 17).
 *
 * - Names: an index.json descriptor is named by `io.containerd.image.name` or by
 *   `org.opencontainers.image.ref.name` when that is a full reference
 *   (`registry.example.com/app:v1`, what `trust save` writes); a bare ref name (`v1`, what
 *   skopeo writes for `oci:DIR:v1`) is a tag of whatever repository asks, when no full name
 *   matches. Tags of other repositories are not visible.
 * - Referrers: computed from the `subject` of every manifest index.json lists (the referrers
 *   API answer a registry would give), always "supported", so signing writes no fallback tags.
 * - Content: every manifest and blob is hashed when read and must match its digest
 *   (LAYOUT_BLOB_MISMATCH), sizes bounded before reading.
 */
import { OcitrustError, assertArg, isOcitrustError } from '../errors/index.js';
import { digestOf, isDigest } from '../crypto/hash.js';
import { DEFAULT_LIMITS, type Limits } from '../config.js';
import { parseReference } from '../reference.js';
import type { FetchedManifest, ManifestInfo, PushBlobResult, PutManifestResult, ReferrersResult, RegistryClient, RepositoryRef } from './client.js';
import { OciLayout, REF_NAME_ANNOTATION } from './layout.js';
import { MANIFEST_MEDIA_TYPES, effectiveArtifactType, manifestMediaType, parseManifest, type Descriptor } from './types.js';

/** containerd's annotation for the full image name of an index.json entry. */
export const IMAGE_NAME_ANNOTATION = 'io.containerd.image.name';

/** The full reference an index.json entry is named by, when it has one. */
export function entryName(d: Descriptor): { repository: string; tag: string } | { bareTag: string } | undefined {
  const a = d.annotations ?? {};
  for (const n of [a[IMAGE_NAME_ANNOTATION], a[REF_NAME_ANNOTATION]]) {
    if (typeof n !== 'string' || !n.includes('/')) continue;
    try {
      const r = parseReference(n, { defaultTag: false });
      if (r.tag !== undefined && r.digest === undefined) return { repository: r.repository, tag: r.tag };
    } catch {
      // Not a reference: fall through to the bare name.
    }
  }
  const bare = a[REF_NAME_ANNOTATION];
  return typeof bare === 'string' && bare.length > 0 ? { bareTag: bare } : undefined;
}

function repoName(r: RepositoryRef): string {
  return `${r.registry}/${r.path}`;
}

/** Options of {@link LayoutRegistryClient}. */
export interface LayoutRegistryClientOptions {
  /** Refuse writes (verification reads only). */
  readonly readOnly?: boolean;
  readonly limits?: Partial<Limits>;
  /** Largest blob read into memory (default 1 GiB: `copyImage` moves layers this way). */
  readonly maxBlobBytes?: number;
}

/**
 * The layout as a registry. One instance per command: the subject map is built once and kept
 * in step with this client's own writes.
 *
 * @example const client = new LayoutRegistryClient(await OciLayout.open(dir)); await gate(client).check(ref);
 */
export class LayoutRegistryClient implements RegistryClient {
  readonly layout: OciLayout;
  readonly #o: LayoutRegistryClientOptions;
  readonly #limits: Limits;
  #subjects?: Promise<Map<string, Descriptor[]>>;

  /** @throws INVALID_ARGUMENT */
  constructor(layout: OciLayout, opts: LayoutRegistryClientOptions = {}) {
    assertArg(typeof layout === 'object' && layout !== null && typeof (layout as OciLayout).index === 'function', 'layout', 'an OciLayout (OciLayout.open)', layout);
    assertArg(typeof opts === 'object' && opts !== null, 'opts', 'LayoutRegistryClientOptions object', opts);
    this.layout = layout;
    this.#o = opts;
    this.#limits = { ...DEFAULT_LIMITS, ...(opts.limits ?? {}) };
  }

  #writable(what: string): void {
    if (this.#o.readOnly) throw new OcitrustError('INVALID_ARGUMENT', `layout ${this.layout.dir} is opened read-only; cannot ${what}`);
  }

  /** The digest (and descriptor) a tag of a repository names. */
  async #resolveTag(repo: RepositoryRef, tag: string): Promise<Descriptor | undefined> {
    const idx = await this.layout.index();
    const full = repoName(repo);
    let bare: Descriptor[] = [];
    for (const d of idx.manifests) {
      const n = entryName(d);
      if (!n) continue;
      if ('repository' in n) {
        if (n.repository === full && n.tag === tag) return d;
      } else if (n.bareTag === tag) bare.push(d);
    }
    bare = bare.filter((d, i) => bare.findIndex((x) => x.digest === d.digest) === i);
    if (bare.length > 1) throw new OcitrustError('LAYOUT_REFERENCE_INVALID', `layout ${this.layout.dir}: ref name ${JSON.stringify(tag)} names ${bare.length} different manifests`);
    return bare[0];
  }

  async getManifest(repo: RepositoryRef, reference: string): Promise<FetchedManifest> {
    let digest = reference;
    let size: number | undefined;
    if (!isDigest(reference)) {
      const d = await this.#resolveTag(repo, reference);
      if (!d) throw new OcitrustError('MANIFEST_NOT_FOUND', `layout ${this.layout.dir}: no manifest named ${repoName(repo)}:${reference}`);
      digest = d.digest;
      size = d.size;
    }
    let bytes: Uint8Array;
    try {
      bytes = await this.layout.readBlob(digest, { ...(size !== undefined ? { size } : {}), maxBytes: this.#limits.maxManifestBytes });
    } catch (e) {
      if (isOcitrustError(e, 'LAYOUT_BLOB_MISSING')) throw new OcitrustError('MANIFEST_NOT_FOUND', `layout ${this.layout.dir}: no manifest ${digest}`, { cause: e });
      throw e;
    }
    const manifest = parseManifest(bytes, { what: `layout manifest ${digest}` });
    return { bytes, digest, size: bytes.length, mediaType: manifestMediaType(manifest), manifest };
  }

  async headManifest(repo: RepositoryRef, reference: string): Promise<ManifestInfo | undefined> {
    if (isDigest(reference)) {
      const size = await this.layout.blobSize(reference);
      return size === undefined ? undefined : { size, claimedDigest: reference };
    }
    const d = await this.#resolveTag(repo, reference);
    return d ? { size: d.size, mediaType: d.mediaType, claimedDigest: d.digest } : undefined;
  }

  async putManifest(repo: RepositoryRef, reference: string, bytes: Uint8Array, mediaType: string): Promise<PutManifestResult> {
    this.#writable('write a manifest');
    const manifest = parseManifest(bytes, { contentType: mediaType });
    const digest = digestOf(bytes);
    if (isDigest(reference) && reference !== digest) throw new OcitrustError('INVALID_ARGUMENT', `manifest bytes hash to ${digest}, not the ${reference} they are put under`);
    await this.layout.writeBlob(bytes);
    const idx = await this.layout.index();
    const at = effectiveArtifactType(manifest);
    const desc: Descriptor = { mediaType: manifestMediaType(manifest), digest, size: bytes.length };
    let manifests = [...idx.manifests];
    if (!isDigest(reference)) {
      const name = `${repoName(repo)}:${reference}`;
      // A tag moves: the entry that had this name loses it.
      manifests = manifests.filter((d) => {
        const n = entryName(d);
        return !(n && 'repository' in n && n.repository === repoName(repo) && n.tag === reference);
      });
      manifests.push({ ...desc, annotations: { [IMAGE_NAME_ANNOTATION]: name, [REF_NAME_ANNOTATION]: name } });
    } else if (!manifest.subject) {
      return { digest };
    } else if (!manifests.some((d) => d.digest === digest && entryName(d) === undefined)) {
      // Referrers (signatures) get an unnamed entry: index.json is what makes a manifest part
      // of the layout. Children of an index are reachable through it and get none (as skopeo).
      manifests.push({ ...desc, ...(at ? { artifactType: at } : {}), ...(manifest.annotations ? { annotations: { ...manifest.annotations } } : {}) });
    }
    await this.layout.setManifests(manifests);
    if (manifest.subject) {
      const map = await this.#subjectMap();
      const list = map.get(manifest.subject.digest) ?? [];
      if (!list.some((d) => d.digest === digest)) list.push(referrerOf(desc, manifest));
      map.set(manifest.subject.digest, list);
    }
    return { digest, ...(manifest.subject ? { ociSubject: manifest.subject.digest } : {}) };
  }

  async deleteManifest(_repo: RepositoryRef, digest: string): Promise<boolean> {
    this.#writable('delete a manifest');
    const idx = await this.layout.index();
    const keep = idx.manifests.filter((d) => d.digest !== digest);
    if (keep.length === idx.manifests.length) return false;
    await this.layout.setManifests(keep);
    this.#subjects = undefined;
    return true;
  }

  async getBlob(_repo: RepositoryRef, digest: string, opts: { size?: number; maxBytes?: number } = {}): Promise<Uint8Array> {
    try {
      return await this.layout.readBlob(digest, { ...(opts.size !== undefined ? { size: opts.size } : {}), maxBytes: opts.maxBytes ?? this.#o.maxBlobBytes ?? 1024 ** 3 });
    } catch (e) {
      if (isOcitrustError(e, 'LAYOUT_BLOB_MISSING')) throw new OcitrustError('BLOB_NOT_FOUND', e.message, { cause: e });
      throw e;
    }
  }

  async headBlob(_repo: RepositoryRef, digest: string): Promise<number | undefined> {
    return this.layout.blobSize(digest);
  }

  async pushBlob(_repo: RepositoryRef, bytes: Uint8Array): Promise<PushBlobResult> {
    this.#writable('write a blob');
    const digest = digestOf(bytes);
    const had = (await this.layout.blobSize(digest)) === bytes.length;
    await this.layout.writeBlob(bytes);
    return { digest, size: bytes.length, how: had ? 'exists' : 'uploaded' };
  }

  async listTags(repo: RepositoryRef): Promise<string[]> {
    const idx = await this.layout.index();
    const out = new Set<string>();
    for (const d of idx.manifests) {
      const n = entryName(d);
      if (n && 'repository' in n && n.repository === repoName(repo)) out.add(n.tag);
    }
    return [...out];
  }

  async getReferrers(_repo: RepositoryRef, digest: string, opts: { artifactType?: string } = {}): Promise<ReferrersResult> {
    const all = (await this.#subjectMap()).get(digest) ?? [];
    const manifests = opts.artifactType ? all.filter((d) => d.artifactType === opts.artifactType) : [...all];
    return { supported: true, manifests, filtersApplied: opts.artifactType !== undefined };
  }

  /** subject digest → referrer descriptors, from every manifest index.json lists. */
  #subjectMap(): Promise<Map<string, Descriptor[]>> {
    this.#subjects ??= (async () => {
      const map = new Map<string, Descriptor[]>();
      const idx = await this.layout.index();
      const seen = new Set<string>();
      for (const d of idx.manifests) {
        if (!MANIFEST_MEDIA_TYPES.includes(d.mediaType) || seen.has(d.digest)) continue;
        seen.add(d.digest);
        const bytes = await this.layout.readBlob(d.digest, { size: d.size, maxBytes: this.#limits.maxManifestBytes });
        const m = parseManifest(bytes, { what: `layout manifest ${d.digest}` });
        if (!m.subject) continue;
        const list = map.get(m.subject.digest) ?? [];
        list.push(referrerOf({ mediaType: manifestMediaType(m), digest: d.digest, size: bytes.length }, m));
        map.set(m.subject.digest, list);
      }
      return map;
    })();
    return this.#subjects;
  }
}

/** The referrers-API descriptor of a manifest: artifactType and all its annotations. */
function referrerOf(desc: Descriptor, m: ReturnType<typeof parseManifest>): Descriptor {
  const at = effectiveArtifactType(m);
  return { ...desc, ...(at ? { artifactType: at } : {}), ...(m.annotations ? { annotations: { ...m.annotations } } : {}) };
}
