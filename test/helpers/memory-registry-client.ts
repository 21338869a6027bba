/**
 * An in-memory {@link RegistryClient} for unit tests of code built on the client (referrers,
 * signature artifacts, verification). It behaves like a registry with or without the
 * referrers API and with or without ETags, and counts calls per method. It is a fake: tests
 * of the HTTP client itself run against real registries (test/integration/oci-*.test.ts).
 */
import { OcitrustError } from '../../lib/errors/index.js';
import { digestOf, isDigest } from '../../lib/crypto/hash.js';
import type {
  FetchedManifest,
  ManifestInfo,
  PushBlobResult,
  PutManifestResult,
  ReferrersResult,
  RegistryClient,
  RepositoryRef,
} from '../../lib/oci/client.js';
import { parseManifest, manifestMediaType, effectiveArtifactType, type Descriptor } from '../../lib/oci/types.js';

/** Options of {@link MemoryRegistryClient}. */
export interface MemoryRegistryOptions {
  /** Serve the referrers API and answer `OCI-Subject` (default false: a fallback registry). */
  readonly referrersApi?: boolean;
  /** Give ETags on manifest GET and honour If-Match (default false, like distribution 2.8). */
  readonly etags?: boolean;
  /** Refuse manifest DELETE (default false). */
  readonly refuseDelete?: boolean;
  /** Refuse to move an existing tag to another manifest, like immutable-tag registries (default false). */
  readonly immutableTags?: boolean;
}

interface Repo {
  manifests: Map<string, Uint8Array>;
  tags: Map<string, string>;
  blobs: Map<string, Uint8Array>;
}

/** The fake registry. `calls` counts method calls; `repos` can be inspected or tampered with. */
export class MemoryRegistryClient implements RegistryClient {
  readonly calls: Record<string, number> = {};
  readonly repos = new Map<string, Repo>();
  constructor(readonly opts: MemoryRegistryOptions = {}) {}

  #count(m: string): void {
    this.calls[m] = (this.calls[m] ?? 0) + 1;
  }

  /** Total calls. */
  get totalCalls(): number {
    return Object.values(this.calls).reduce((a, b) => a + b, 0);
  }

  repo(r: RepositoryRef): Repo {
    const k = `${r.registry}/${r.path}`;
    let v = this.repos.get(k);
    if (!v) {
      v = { manifests: new Map(), tags: new Map(), blobs: new Map() };
      this.repos.set(k, v);
    }
    return v;
  }

  #resolve(r: Repo, reference: string): string | undefined {
    return isDigest(reference) ? (r.manifests.has(reference) ? reference : undefined) : r.tags.get(reference);
  }

  async getManifest(repo: RepositoryRef, reference: string): Promise<FetchedManifest> {
    this.#count('getManifest');
    const r = this.repo(repo);
    const d = this.#resolve(r, reference);
    if (!d) throw new OcitrustError('MANIFEST_NOT_FOUND', `${reference}: not found`);
    const bytes = r.manifests.get(d)!;
    const digest = digestOf(bytes);
    if (isDigest(reference) && digest !== reference) throw new OcitrustError('MANIFEST_DIGEST_MISMATCH', `${reference}: tampered`);
    const manifest = parseManifest(bytes);
    return { bytes, digest, size: bytes.length, mediaType: manifestMediaType(manifest), manifest, ...(this.opts.etags ? { etag: `"${digest}"` } : {}) };
  }

  async headManifest(repo: RepositoryRef, reference: string): Promise<ManifestInfo | undefined> {
    this.#count('headManifest');
    const r = this.repo(repo);
    const d = this.#resolve(r, reference);
    if (!d) return undefined;
    return { size: r.manifests.get(d)!.length, claimedDigest: d };
  }

  async putManifest(repo: RepositoryRef, reference: string, bytes: Uint8Array, mediaType: string, opts: { ifMatch?: string } = {}): Promise<PutManifestResult> {
    this.#count('putManifest');
    const r = this.repo(repo);
    const manifest = parseManifest(bytes, { contentType: mediaType });
    if (manifestMediaType(manifest) !== mediaType) throw new OcitrustError('REGISTRY_ERROR', 'Content-Type differs from mediaType');
    const digest = digestOf(bytes);
    if (isDigest(reference) && reference !== digest) throw new OcitrustError('INVALID_ARGUMENT', 'digest mismatch');
    if (this.opts.etags && opts.ifMatch !== undefined && !isDigest(reference)) {
      const cur = r.tags.get(reference);
      if (cur === undefined || `"${cur}"` !== opts.ifMatch) throw new OcitrustError('REGISTRY_CONFLICT', 'precondition failed');
    }
    if (this.opts.immutableTags && !isDigest(reference) && r.tags.has(reference) && r.tags.get(reference) !== digest) {
      throw new OcitrustError('REGISTRY_DENIED', `tag ${reference} is immutable`);
    }
    r.manifests.set(digest, bytes);
    if (!isDigest(reference)) r.tags.set(reference, digest);
    const subject = (manifest as { subject?: Descriptor }).subject;
    return { digest, ...(this.opts.referrersApi && subject ? { ociSubject: subject.digest } : {}) };
  }

  async deleteManifest(repo: RepositoryRef, digest: string): Promise<boolean> {
    this.#count('deleteManifest');
    if (this.opts.refuseDelete) throw new OcitrustError('REGISTRY_UNSUPPORTED', 'delete disabled');
    const r = this.repo(repo);
    if (!r.manifests.delete(digest)) return false;
    for (const [t, d] of r.tags) if (d === digest) r.tags.delete(t);
    return true;
  }

  async getBlob(repo: RepositoryRef, digest: string, opts: { size?: number; maxBytes?: number } = {}): Promise<Uint8Array> {
    this.#count('getBlob');
    const b = this.repo(repo).blobs.get(digest);
    if (!b) throw new OcitrustError('BLOB_NOT_FOUND', `${digest}: not found`);
    if (opts.maxBytes !== undefined && b.length > opts.maxBytes) throw new OcitrustError('REGISTRY_RESPONSE_TOO_LARGE', 'too large');
    if (opts.size !== undefined && b.length !== opts.size) throw new OcitrustError('BLOB_SIZE_MISMATCH', 'size');
    if (digestOf(b) !== digest) throw new OcitrustError('BLOB_DIGEST_MISMATCH', 'digest');
    return b;
  }

  async headBlob(repo: RepositoryRef, digest: string): Promise<number | undefined> {
    this.#count('headBlob');
    return this.repo(repo).blobs.get(digest)?.length;
  }

  async pushBlob(repo: RepositoryRef, bytes: Uint8Array): Promise<PushBlobResult> {
    this.#count('pushBlob');
    const digest = digestOf(bytes);
    const r = this.repo(repo);
    const how = r.blobs.has(digest) ? 'exists' : 'uploaded';
    r.blobs.set(digest, bytes);
    return { digest, size: bytes.length, how };
  }

  async listTags(repo: RepositoryRef): Promise<string[]> {
    this.#count('listTags');
    return [...this.repo(repo).tags.keys()];
  }

  async getReferrers(repo: RepositoryRef, digest: string, opts: { artifactType?: string } = {}): Promise<ReferrersResult> {
    this.#count('getReferrers');
    if (!this.opts.referrersApi) return { supported: false };
    const out: Descriptor[] = [];
    for (const [d, bytes] of this.repo(repo).manifests) {
      const m = parseManifest(bytes);
      if (m.subject?.digest !== digest) continue;
      const at = effectiveArtifactType(m);
      if (opts.artifactType && at !== opts.artifactType) continue;
      out.push({ mediaType: manifestMediaType(m), digest: d, size: bytes.length, ...(at ? { artifactType: at } : {}), ...(m.annotations ? { annotations: m.annotations } : {}) });
    }
    return { supported: true, manifests: out, filtersApplied: !!opts.artifactType };
  }
}
