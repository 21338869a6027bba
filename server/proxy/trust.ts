/**
 * Where pull enforcement gets trusted targets from (DESIGN §5 step 1): the trust server's own
 * store (the collections it serves), anchored at a root (the current one, or a rule's pinned
 * root), or another trust server named by a policy rule. Each is walked with the TUF client
 * (lib/tuf Updater), so the verifier sees exactly what `trust verify` would.
 *
 * A handle also gives a cheap "metadata version" for the verification cache key: for the
 * local store, the collection's root and targets versions (a signer removed or a revocation
 * published bumps targets, so an old verdict is never reused); for a remote server, the
 * versions of the last refresh, refreshed at most every `refreshMs`.
 */
import { OcitrustError, isOcitrustError } from '../../lib/errors/index.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import { DEFAULT_LIMITS, type Limits } from '../../lib/config.js';
import { sha256Hex } from '../../lib/crypto/hash.js';
import { HttpMetadataSource, type MetadataSource } from '../../lib/tuf/source.js';
import { LocalMetadataSource, pinRootAdvice, type LocalTrustStore as GateTrustStore } from '../../lib/gate/index.js';
import { MemoryTrustCache, type TrustCache } from '../../lib/tuf/store.js';
import { Updater, type RefreshResult } from '../../lib/tuf/updater.js';
import type { TrustFreshness } from '../trust-freshness.js';

/** The part of the trust server's TrustService that enforcement reads: the gate's store, plus versions. */
export interface LocalTrustStore extends GateTrustStore {
  /** Versions of a collection, or null when there is no such collection. */
  info(name: string): Promise<{ readonly versions: { readonly root: number; readonly targets: number } } | null>;
}

export { LocalMetadataSource };

/** Trusted targets of one collection for the verifier, plus a version for cache keys. */
export interface TrustHandle {
  /** Changes whenever the trusted root or targets can have changed. @throws as the source does */
  version(): Promise<string>;
  /** TUF refresh (DESIGN §5 step 1); the `TrustSource` of verifyReference. */
  refresh(): Promise<RefreshResult>;
}

/** Options of {@link TrustHandles}. */
export interface TrustHandlesOptions {
  readonly store: LocalTrustStore;
  readonly clock?: Clock;
  readonly limits?: Limits;
  /** How often a remote collection is refreshed for its version (ms, default 30 000). */
  readonly remoteRefreshMs?: number;
  /** Injected fetch for remote trust servers (tests). */
  readonly fetch?: typeof fetch;
  /** Where the staleness of remote trust data is reported (metrics, `/readyz`). */
  readonly freshness?: TrustFreshness;
  /** Most handles kept (default 1000). */
  readonly maxHandles?: number;
  /**
   * How long a local collection's versions are reused (ms, default 1000, as the trust
   * server's own head cache); {@link TrustHandles.invalidate} drops them at once on a publish.
   */
  readonly versionTtlMs?: number;
}

/** Where a rule's trust comes from. */
export interface TrustLocation {
  readonly collection: string;
  /** Bytes of a pinned root; default (local only): the store's newest root. */
  readonly root?: Uint8Array;
  /** Another trust server's base URL; default: this server's store. */
  readonly server?: string;
}

/**
 * Handles per (collection, anchor, server), reused across pulls so that the TUF state (and
 * with it rollback protection) lives as long as the process.
 */
export class TrustHandles {
  readonly #o: TrustHandlesOptions;
  readonly #handles = new Map<string, TrustHandle>();
  readonly #versions = new Map<string, { version: string; at: number }>();
  /**
   * The trusted state of every (server, collection), shared by all handles: a handle made for
   * a rule whose pinned root is re-encoded (a policy reload) finds the same rollback baseline.
   */
  readonly #state: TrustCache = new MemoryTrustCache();

  constructor(o: TrustHandlesOptions) {
    this.#o = o;
  }

  /** Forgets the cached versions of a local collection (it was published to). */
  invalidate(collection: string): void {
    this.#versions.delete(collection);
  }

  /**
   * The handle of a trust location.
   * @throws OcitrustError PROXY_VERIFY_UNAVAILABLE for a remote server without a pinned root
   */
  get(loc: TrustLocation): TrustHandle {
    if (loc.server !== undefined && loc.root === undefined) {
      // Trusting another server's root on first use, in a long-running service, would let
      // whoever answers first decide: a pinned root is required.
      // The gate's one first-use rule and its advice (lib/gate/trust-pool.ts).
      throw new OcitrustError('TRUST_ROOT_NOT_PINNED', pinRootAdvice(undefined, loc.server, loc.collection));
    }
    const key = `${loc.server ?? ''}\0${loc.collection}\0${loc.root ? sha256Hex(loc.root) : ''}`;
    let h = this.#handles.get(key);
    if (!h) {
      if (this.#handles.size >= (this.#o.maxHandles ?? 1000)) this.#handles.clear();
      h = loc.server !== undefined ? this.#remote(loc.server, loc.collection, loc.root!) : this.#local(loc.collection, loc.root);
      this.#handles.set(key, h);
    }
    return h;
  }

  #updater(collection: string, root: Uint8Array, source: MetadataSource, server: string): Updater {
    return new Updater({
      collection,
      trustedRoot: root,
      source,
      // The last trusted state lives as long as the process, per (server, collection), never
      // per root bytes: rollback protection across pulls and policy reloads.
      server,
      cache: this.#state,
      clock: this.#o.clock ?? systemClock,
      limits: this.#o.limits ?? DEFAULT_LIMITS,
      // No silent fallback in the Updater: a remote handle keeps its last good data itself and
      // reports it stale; the local store is this server's own database.
      maxCacheAgeSeconds: 0,
    });
  }

  #local(collection: string, pinned: Uint8Array | undefined): TrustHandle {
    const store = this.#o.store;
    const versions = this.#versions;
    const ttl = this.#o.versionTtlMs ?? 1000;
    const clock = this.#o.clock ?? systemClock;
    let updater: Promise<Updater> | undefined;
    const make = async (): Promise<Updater> => {
      const root = pinned ?? (await store.file(collection, 'root', null)).body;
      // The store is this server's own database: "unreachable" cannot happen, so no offline use.
      return this.#updater(collection, new Uint8Array(root), new LocalMetadataSource(store, collection), 'local');
    };
    return {
      async version() {
        const hit = versions.get(collection);
        const now = clock.now().getTime();
        if (hit && now - hit.at < ttl) return hit.version;
        const info = await store.info(collection);
        if (!info) throw new OcitrustError('COLLECTION_NOT_FOUND', `no collection named ${collection} on this server`);
        if (info.versions.root === 0) throw new OcitrustError('METADATA_NOT_FOUND', `collection ${collection} has no published trust metadata`);
        const version = `local:${info.versions.root}.${info.versions.targets}`;
        if (versions.size > 10_000) versions.clear();
        if (ttl > 0) versions.set(collection, { version, at: now });
        return version;
      },
      async refresh() {
        updater ??= make();
        try {
          return await (await updater).refresh();
        } catch (e) {
          // A failed start (no root yet) must not stick: try again next time.
          if (!pinned) updater = undefined;
          throw e;
        }
      },
    };
  }

  #remote(server: string, collection: string, root: Uint8Array): TrustHandle {
    const source = new HttpMetadataSource(server, collection, {
      limits: this.#o.limits ?? DEFAULT_LIMITS,
      ...(this.#o.fetch ? { fetch: this.#o.fetch } : {}),
    });
    const updater = this.#updater(collection, root, source, server);
    const every = this.#o.remoteRefreshMs ?? 30_000;
    const freshness = this.#o.freshness;
    const clock = this.#o.clock ?? systemClock;
    let last: { result: RefreshResult; at: number; expiresAt: number } | undefined;
    let inflight: Promise<RefreshResult> | undefined;
    const refresh = (): Promise<RefreshResult> => {
      inflight ??= updater
        .refresh()
        .then((result) => {
          const m = result.metadata;
          const expiresAt = Math.min(m.root.signed.expiresAt.getTime(), m.timestamp.signed.expiresAt.getTime(), m.snapshot.signed.expiresAt.getTime(), m.targets.signed.expiresAt.getTime());
          last = { result, at: clock.now().getTime(), expiresAt };
          freshness?.succeeded('proxy', server, collection, result.refreshedAt, new Date(expiresAt));
          return result;
        })
        .catch((e: unknown) => {
          freshness?.failed('proxy', server, collection, isOcitrustError(e) ? e.code : 'INTERNAL');
          // DESIGN §3 Freeze: when the server cannot be asked (exit 3), the last good data is
          // kept until it expires (and reported stale); anything else withdraws it.
          if (last && isOcitrustError(e) && e.exitCode === 3 && clock.now().getTime() < last.expiresAt) {
            // Retried after `every` again, not on every pull (a black-holed server costs a timeout each time).
            last = { ...last, at: clock.now().getTime() };
            return last.result;
          }
          last = undefined;
          throw e;
        })
        .finally(() => {
          inflight = undefined;
        });
      return inflight;
    };
    const current = async (): Promise<RefreshResult> => (last && clock.now().getTime() - last.at < every ? last.result : refresh());
    return {
      async version() {
        const r = await current();
        return `remote:${r.versions.root}.${r.versions.targets}`;
      },
      refresh: current,
    };
  }
}
