/**
 * The gate's manifest memo: manifests fetched once per digest (bytes already hashed to that
 * digest, so reuse is sound: content addressing) and tag → digest answers kept for a short
 * time, so a cold image costs two registry round trips (the manifest and the referrers list)
 * and a warm one none.
 */
import type { Clock } from '../clock.js';
import { isDigest } from '../crypto/hash.js';
import type { ImageReference } from '../reference.js';
import type { FetchedManifest, RegistryClient, RepositoryRef } from '../oci/client.js';

/** Counters of a {@link ManifestMemo}. */
export interface MemoStats {
  /** Tag resolutions answered from the tag cache / from the registry. */
  tagHits: number;
  tagMisses: number;
  /** Manifests served from the memo instead of the registry. */
  manifestHits: number;
}

interface TagEntry {
  readonly digest: string;
  readonly expiresAt: number;
}

/**
 * A RegistryClient that remembers manifests it fetched, by digest (bytes already hashed to that
 * digest, so reuse is sound: content addressing), and tag → digest answers for a short time.
 * Everything else goes to the shared client unchanged.
 */
export class ManifestMemo implements RegistryClient {
  readonly #inner: RegistryClient;
  readonly #manifests = new Map<string, FetchedManifest>();
  readonly #tags = new Map<string, TagEntry>();
  readonly #tagResolving = new Map<string, Promise<string>>();
  readonly #max: number;
  readonly #tagTtl: number;
  readonly #clock: Clock;
  readonly #stats: MemoStats;

  constructor(inner: RegistryClient, max: number, tagTtlMs: number, clock: Clock, stats: MemoStats) {
    this.#inner = inner;
    this.#max = max;
    this.#tagTtl = tagTtlMs;
    this.#clock = clock;
    this.#stats = stats;
  }

  /** Forgets every manifest and tag. */
  clear(): void {
    this.#manifests.clear();
    this.#tags.clear();
  }

  /** Keeps a manifest the caller fetched and hashed itself (the proxy's), by its digest. */
  remember(repo: RepositoryRef, m: FetchedManifest): void {
    const k = `${repo.registry}/${repo.path}@${m.digest}`;
    this.#manifests.delete(k);
    this.#manifests.set(k, m);
    while (this.#manifests.size > this.#max) this.#manifests.delete(this.#manifests.keys().next().value as string);
  }

  /** The digest a tag points at now (cached for the tag TTL; one registry request per miss and tag). */
  resolveTag(ref: ImageReference): Promise<string> {
    const tag = ref.tag ?? 'latest';
    const k = `${ref.registry}/${ref.path}:${tag}`;
    const hit = this.#tags.get(k);
    if (hit && hit.expiresAt > this.#clock.now().getTime()) {
      this.#stats.tagHits++;
      return Promise.resolve(hit.digest);
    }
    let p = this.#tagResolving.get(k);
    if (!p) {
      this.#stats.tagMisses++;
      p = this.getManifest(ref, tag).then((m) => {
        if (this.#tagTtl > 0) this.#tags.set(k, { digest: m.digest, expiresAt: this.#clock.now().getTime() + this.#tagTtl });
        while (this.#tags.size > this.#max) this.#tags.delete(this.#tags.keys().next().value as string);
        return m.digest;
      });
      const done = p;
      this.#tagResolving.set(k, done);
      void done.then(
        () => this.#tagResolving.delete(k),
        () => this.#tagResolving.delete(k),
      );
    }
    return p;
  }

  async getManifest(repo: RepositoryRef, reference: string): Promise<FetchedManifest> {
    if (isDigest(reference)) {
      const hit = this.#manifests.get(`${repo.registry}/${repo.path}@${reference}`);
      if (hit) {
        this.#stats.manifestHits++;
        return hit;
      }
    }
    const m = await this.#inner.getManifest(repo, reference);
    this.remember(repo, m);
    return m;
  }

  headManifest(...a: Parameters<RegistryClient['headManifest']>): ReturnType<RegistryClient['headManifest']> {
    return this.#inner.headManifest(...a);
  }
  putManifest(...a: Parameters<RegistryClient['putManifest']>): ReturnType<RegistryClient['putManifest']> {
    return this.#inner.putManifest(...a);
  }
  deleteManifest(...a: Parameters<RegistryClient['deleteManifest']>): ReturnType<RegistryClient['deleteManifest']> {
    return this.#inner.deleteManifest(...a);
  }
  getBlob(...a: Parameters<RegistryClient['getBlob']>): ReturnType<RegistryClient['getBlob']> {
    return this.#inner.getBlob(...a);
  }
  headBlob(...a: Parameters<RegistryClient['headBlob']>): ReturnType<RegistryClient['headBlob']> {
    return this.#inner.headBlob(...a);
  }
  pushBlob(...a: Parameters<RegistryClient['pushBlob']>): ReturnType<RegistryClient['pushBlob']> {
    return this.#inner.pushBlob(...a);
  }
  listTags(...a: Parameters<RegistryClient['listTags']>): ReturnType<RegistryClient['listTags']> {
    return this.#inner.listTags(...a);
  }
  getReferrers(...a: Parameters<RegistryClient['getReferrers']>): ReturnType<RegistryClient['getReferrers']> {
    return this.#inner.getReferrers(...a);
  }
}
