/**
 * RegistryClient adapters for pull enforcement: reading signatures from the upstream under
 * the name trust data uses (`remapRegistry`) and reading the embedded registry's own store
 * without HTTP ({@link LocalRegistryClient}). The manifest the proxy already fetched reaches
 * the gate's manifest memo (CheckContext.manifest), so a hot path needs no second GET.
 */
import { OcitrustError } from '../../lib/errors/index.js';
import { digestOf, isDigest, parseDigest } from '../../lib/crypto/hash.js';
import { parseJson, isJsonObject } from '../../lib/json.js';
import type { FetchedManifest, ManifestInfo, PushBlobResult, PutManifestResult, ReferrersResult, RegistryClient, RepositoryRef } from '../../lib/oci/client.js';
import { manifestMediaType, parseManifest, type Descriptor } from '../../lib/oci/types.js';
import type { BlobStore } from '../registry/blob-store.js';
import type { MetadataStore } from '../registry/metadata-store.js';

/**
 * A client that sends every call for any registry name to `host` (the upstream), keeping the
 * repository path: trust data names `registry.example.com/team/app`, the bytes live at
 * `10.0.0.5:5000/team/app`.
 */
export function remapRegistry(base: RegistryClient, host: string): RegistryClient {
  const to = (r: RepositoryRef): RepositoryRef => ({ registry: host, path: r.path });
  return {
    getManifest: (r, ref) => base.getManifest(to(r), ref),
    headManifest: (r, ref) => base.headManifest(to(r), ref),
    putManifest: (r, ref, b, mt, o) => base.putManifest(to(r), ref, b, mt, o),
    deleteManifest: (r, d) => base.deleteManifest(to(r), d),
    getBlob: (r, d, o) => base.getBlob(to(r), d, o),
    headBlob: (r, d) => base.headBlob(to(r), d),
    pushBlob: (r, b, o) => base.pushBlob(to(r), b, o),
    listTags: (r) => base.listTags(to(r)),
    getReferrers: (r, d, o) => base.getReferrers(to(r), d, o),
  };
}

/** Options of {@link LocalRegistryClient}. */
export interface LocalRegistryClientOptions {
  readonly store: MetadataStore;
  /** Blob files (signature envelopes without the annotation copy); without it blobs are not found. */
  readonly blobs?: BlobStore;
  /** Largest manifest parsed (bytes, default 4 MiB). */
  readonly maxManifestBytes?: number;
  /** Most referrers listed for one subject (default 1000). */
  readonly maxReferrers?: number;
}

const readOnly = (what: string): OcitrustError => new OcitrustError('REGISTRY_UNSUPPORTED', `${what}: the enforcement client of the embedded registry only reads`);

/**
 * A read-only {@link RegistryClient} over the embedded registry's database and blob files,
 * for the pull gate (a gate that called its own registry over HTTP would recurse through
 * authentication and itself). Repository names are the registry paths (`team/app`).
 */
export class LocalRegistryClient implements RegistryClient {
  readonly #o: LocalRegistryClientOptions;

  constructor(o: LocalRegistryClientOptions) {
    this.#o = o;
  }

  async #digestOf(repo: RepositoryRef, reference: string): Promise<string | undefined> {
    return isDigest(reference) ? reference : this.#o.store.resolveTag(repo.path, reference);
  }

  async getManifest(repo: RepositoryRef, reference: string): Promise<FetchedManifest> {
    const what = `manifest ${repo.path}${isDigest(reference) ? '@' : ':'}${reference}`;
    const d = await this.#digestOf(repo, reference);
    const row = d === undefined ? undefined : await this.#o.store.getManifest(repo.path, d);
    if (!row) throw new OcitrustError('MANIFEST_NOT_FOUND', `${what}: not found`);
    const bytes = new Uint8Array(row.content);
    const digest = digestOf(bytes, parseDigest(row.digest).algorithm);
    if (digest !== row.digest) throw new OcitrustError('MANIFEST_DIGEST_MISMATCH', `${what}: stored bytes hash to ${digest}`);
    const max = this.#o.maxManifestBytes ?? 4 * 1024 * 1024;
    const manifest = parseManifest(bytes, { contentType: row.mediaType, maxBytes: max, what });
    return { bytes, digest, size: bytes.length, mediaType: manifestMediaType(manifest), manifest };
  }

  async headManifest(repo: RepositoryRef, reference: string): Promise<ManifestInfo | undefined> {
    const d = await this.#digestOf(repo, reference);
    const row = d === undefined ? undefined : await this.#o.store.getManifest(repo.path, d);
    return row ? { size: row.size, mediaType: row.mediaType, claimedDigest: row.digest } : undefined;
  }

  async putManifest(): Promise<PutManifestResult> {
    throw readOnly('PUT manifest');
  }

  async deleteManifest(): Promise<boolean> {
    throw readOnly('DELETE manifest');
  }

  async getBlob(repo: RepositoryRef, digest: string, opts: { size?: number; maxBytes?: number } = {}): Promise<Uint8Array> {
    const what = `blob ${repo.path}@${digest}`;
    parseDigest(digest);
    const size = await this.#o.store.blobSize(repo.path, digest);
    if (size === undefined || !this.#o.blobs) throw new OcitrustError('BLOB_NOT_FOUND', `${what}: not found`);
    if (opts.size !== undefined && size !== opts.size) throw new OcitrustError('BLOB_SIZE_MISMATCH', `${what}: ${size} bytes, descriptor size ${opts.size}`);
    const max = opts.maxBytes ?? 16 * 1024 * 1024;
    if (size > max) throw new OcitrustError('REGISTRY_RESPONSE_TOO_LARGE', `${what}: ${size} bytes exceeds the limit of ${max}`);
    const parts: Buffer[] = [];
    if (size > 0) for await (const c of this.#o.blobs.read(digest, 0, size - 1)) parts.push(c as Buffer);
    const bytes = new Uint8Array(Buffer.concat(parts));
    if (bytes.length !== size || digestOf(bytes, parseDigest(digest).algorithm) !== digest) {
      throw new OcitrustError('BLOB_DIGEST_MISMATCH', `${what}: content does not match its digest`);
    }
    return bytes;
  }

  async headBlob(repo: RepositoryRef, digest: string): Promise<number | undefined> {
    return this.#o.store.blobSize(repo.path, digest);
  }

  async pushBlob(): Promise<PushBlobResult> {
    throw readOnly('push blob');
  }

  async listTags(repo: RepositoryRef): Promise<string[]> {
    return this.#o.store.listTags(repo.path, 100_000, undefined);
  }

  async getReferrers(repo: RepositoryRef, digest: string, opts: { artifactType?: string } = {}): Promise<ReferrersResult> {
    const max = this.#o.maxReferrers ?? 1000;
    const rows = await this.#o.store.referrers(repo.path, digest, opts.artifactType, max, undefined);
    const manifests: Descriptor[] = rows.map((r) => {
      const d: Descriptor = { mediaType: r.mediaType, digest: r.digest, size: r.size };
      if (r.artifactType !== null) d.artifactType = r.artifactType;
      if (r.annotations !== null) {
        try {
          const a = parseJson(r.annotations, { maxBytes: 4 * 1024 * 1024, what: 'stored annotations' });
          if (isJsonObject(a)) d.annotations = Object.fromEntries(Object.entries(a).filter((e): e is [string, string] => typeof e[1] === 'string'));
        } catch {
          // Unreadable annotations: the verifier fetches the envelope blob instead.
        }
      }
      return d;
    });
    return { supported: true, manifests, filtersApplied: opts.artifactType !== undefined };
  }
}
