import { OcitrustError, assertArg, isOcitrustError } from '../errors/index.js';
import { assertClock, formatTime, parseTime, readClock, systemClock, type Clock } from '../clock.js';
import { DEFAULT_LIMITS, type Limits } from '../config.js';
import { sha256Hex } from '../crypto/hash.js';
import type { Metadata } from '../metadata/metadata.js';
import type { Root } from '../metadata/root.js';
import type { Snapshot } from '../metadata/snapshot.js';
import type { Targets } from '../metadata/targets.js';
import type { Timestamp } from '../metadata/timestamp.js';
import { trustViewFromTargets } from '../metadata/trust-view.js';
import type { TrustedTargets } from '../verify/trust.js';
import type { MetadataSource } from './source.js';
import type { CachedTrust, TrustCache } from './store.js';
import { TrustedSet } from './trusted-set.js';

/** Default maximum age of cached trust metadata used offline: one day. */
export const DEFAULT_MAX_CACHE_AGE_SECONDS = 24 * 60 * 60;

/** Options of {@link Updater}. */
export interface UpdaterOptions {
  /** Collection name (names the cache entry and the view). */
  readonly collection: string;
  /** Bytes of the pinned root from the trust configuration (any version of the chain). */
  readonly trustedRoot: Uint8Array;
  readonly source: MetadataSource;
  /** Where the last trusted metadata is kept between runs (rollback protection, offline use). */
  readonly cache?: TrustCache;
  readonly clock?: Clock;
  readonly limits?: Limits;
  /**
   * How old cached metadata may be when the source cannot be reached (seconds, default
   * {@link DEFAULT_MAX_CACHE_AGE_SECONDS}). 0 disables offline use.
   */
  readonly maxCacheAgeSeconds?: number;
  /** Do not contact the source; use the cache under the same rules as when it is unreachable. */
  readonly offline?: boolean;
}

/** The outcome of a successful {@link Updater.refresh}. */
export interface RefreshResult {
  /** The verifier's view of the trusted targets metadata. */
  readonly trusted: TrustedTargets;
  readonly versions: { readonly root: number; readonly timestamp: number; readonly snapshot: number; readonly targets: number };
  /** The trusted documents (for building the next version, or showing them). */
  readonly metadata: {
    readonly root: Metadata<Root>;
    readonly timestamp: Metadata<Timestamp>;
    readonly snapshot: Metadata<Snapshot>;
    readonly targets: Metadata<Targets>;
  };
  /** True when the source was not (or could not be) asked and the cache was used. */
  readonly fromCache: boolean;
  /** When the metadata was last fetched from the source. */
  readonly refreshedAt: Date;
  /** With `fromCache`, the environment error that made the source unusable (absent with `offline`). */
  readonly sourceError?: OcitrustError;
}

/** Errors meaning "the source could not be asked": only these may fall back to the cache. */
const SOURCE_ERRORS = new Set(['TUF_SOURCE_UNREACHABLE', 'TUF_SOURCE_TIMEOUT', 'TUF_SOURCE_HTTP_ERROR']);

/**
 * The TUF client workflow for one collection (tuf-spec v1.0 "Detailed client workflow" 5.1–5.6,
 * tuf-js `Updater`): walk the root chain from the pinned (or cached) root, then timestamp,
 * snapshot and targets, with the checks of {@link TrustedSet}. The last trusted metadata is
 * persisted in the cache so rollback protection survives restarts. When the source cannot be
 * reached (an environment error, never a security failure), the cached metadata is used if it
 * is unexpired and younger than `maxCacheAgeSeconds`.
 *
 * @example
 * const u = new Updater({ collection, trustedRoot, source: new HttpMetadataSource(url, collection), cache });
 * const { trusted } = await u.refresh();
 */
export class Updater {
  readonly #o: UpdaterOptions;
  readonly #clock: Clock;
  readonly #limits: Limits;
  readonly #anchor: string;
  readonly #maxAge: number;

  /** @throws INVALID_ARGUMENT */
  constructor(opts: UpdaterOptions) {
    assertArg(typeof opts === 'object' && opts !== null, 'opts', 'UpdaterOptions object', opts);
    assertArg(typeof opts?.collection === 'string' && opts.collection.length > 0, 'collection', 'non-empty string', opts?.collection);
    assertArg(opts.trustedRoot instanceof Uint8Array, 'trustedRoot', 'Uint8Array (root.json bytes)', opts.trustedRoot);
    assertArg(typeof opts.source?.fetch === 'function', 'source', 'MetadataSource', opts.source);
    const maxAge = opts.maxCacheAgeSeconds ?? DEFAULT_MAX_CACHE_AGE_SECONDS;
    assertArg(Number.isSafeInteger(maxAge) && maxAge >= 0, 'maxCacheAgeSeconds', 'integer ≥ 0', maxAge);
    assertArg(opts.offline === undefined || typeof opts.offline === 'boolean', 'offline', 'boolean', opts.offline);
    assertArg(opts.cache === undefined || (typeof opts.cache?.read === 'function' && typeof opts.cache?.write === 'function'), 'cache', 'TrustCache', opts.cache);
    assertArg(opts.limits === undefined || (typeof opts.limits === 'object' && opts.limits !== null), 'limits', 'Limits object', opts.limits);
    if (opts.clock !== undefined) assertClock(opts.clock, 'clock');
    this.#o = opts;
    this.#clock = opts.clock ?? systemClock;
    this.#limits = opts.limits ?? DEFAULT_LIMITS;
    this.#anchor = sha256Hex(opts.trustedRoot);
    this.#maxAge = maxAge;
  }

  /**
   * Refreshes trust metadata and returns the trusted view.
   *
   * @throws TUF_THRESHOLD_NOT_MET, TUF_ROOT_ROTATION_INVALID, TUF_ROOT_CHAIN_TOO_LONG, TUF_ROLLBACK, TUF_VERSION_MISMATCH,
   *   TUF_EXPIRED, TUF_HASH_MISMATCH, TUF_LENGTH_MISMATCH, TUF_METADATA_MISSING (exit 1);
   *   TUF_SOURCE_UNREACHABLE, TUF_SOURCE_TIMEOUT, TUF_SOURCE_HTTP_ERROR, TUF_CACHE_STALE, TUF_CACHE_IO (exit 3);
   *   METADATA_*, JSON_*, INPUT_TOO_LARGE for malformed metadata
   */
  async refresh(): Promise<RefreshResult> {
    const cached = await this.#readCache();
    if (this.#o.offline) return this.#fromCache(cached);
    try {
      return await this.#online(cached);
    } catch (e) {
      if (!isOcitrustError(e) || !SOURCE_ERRORS.has(e.code) || !cached) throw e;
      return this.#fromCache(cached, e);
    }
  }

  async #readCache(): Promise<CachedTrust | null> {
    const c = await this.#o.cache?.read(this.#o.collection);
    // A cache built from another pinned root belongs to another trust configuration.
    return c && c.anchor === this.#anchor ? c : null;
  }

  async #online(cached: CachedTrust | null): Promise<RefreshResult> {
    const { source } = this.#o;
    const L = this.#limits;
    const set = this.#startSet(cached);
    const startRoot = set.root;

    // The timestamp is asked for together with the first root probe (one round trip, not
    // two); it is used only if no newer root turns up, so 5.4 still runs under the final root.
    const probe = source.fetch({ role: 'root', version: set.root.signed.version + 1 }, L.maxMetadataBytes);
    const early = source.fetch({ role: 'timestamp' }, L.maxSmallMetadataBytes);
    early.catch(() => undefined);

    // 5.3: walk N+1, N+2, … until the source has no newer root.
    for (let steps = 0; ; steps++) {
      const next = set.root.signed.version + 1;
      const bytes = steps === 0 ? await probe : await source.fetch({ role: 'root', version: next }, L.maxMetadataBytes);
      if (bytes === null) break;
      if (steps >= L.maxRootRotations) {
        throw new OcitrustError('TUF_ROOT_CHAIN_TOO_LONG', `more than ${L.maxRootRotations} root versions after v${startRoot.signed.version}; pin a newer root`);
      }
      set.updateRoot(bytes);
    }
    set.checkFinalRoot();

    // 5.3.11: if timestamp or snapshot keys changed since the cached state was trusted, drop
    // the cached timestamp and snapshot (recovery from a fast-forward attack).
    let cache = cached;
    if (cache && set.root !== startRoot && (rolesDiffer(startRoot.signed, set.root.signed, 'timestamp') || rolesDiffer(startRoot.signed, set.root.signed, 'snapshot'))) {
      cache = { ...cache, timestamp: undefined, snapshot: undefined } as CachedTrust;
    }

    // 5.4: the cached timestamp (even expired) is the baseline for rollback checks.
    if (cache?.timestamp) tryLoad(() => set.updateTimestamp(cache.timestamp!));
    const tsBytes = set.root === startRoot ? await early : await source.fetch({ role: 'timestamp' }, L.maxSmallMetadataBytes);
    if (tsBytes === null) throw missing(source, 'timestamp.json');
    set.updateTimestamp(tsBytes);

    // 5.5: keep the cached snapshot when it is still the one the timestamp names.
    if (cache?.snapshot) tryLoad(() => set.updateSnapshot(cache.snapshot!, { trusted: true }));
    if (!set.hasFinalSnapshot()) {
      const meta = set.timestamp!.signed.snapshotMeta;
      const bytes = await source.fetch({ role: 'snapshot', version: meta.version }, meta.length ?? L.maxSmallMetadataBytes);
      if (bytes === null) throw missing(source, `${meta.version}.snapshot.json`);
      set.updateSnapshot(bytes);
    }

    // 5.6
    if (cache?.targets) tryLoad(() => set.updateTargets(cache.targets!));
    if (!set.targets) {
      const meta = set.snapshot!.signed.targetsMeta;
      const bytes = await source.fetch({ role: 'targets', version: meta.version }, meta.length ?? L.maxMetadataBytes);
      if (bytes === null) throw missing(source, `${meta.version}.targets.json`);
      set.updateTargets(bytes);
    }
    // Persisted only as a complete, consistent state: a refresh that fails half-way leaves the
    // previous state (still a valid rollback baseline) and re-walks from it next time.
    const refreshedAt = readClock(this.#clock);
    await this.#save(set, refreshedAt);
    return this.#result(set, false, refreshedAt);
  }

  /** The set starting from the cached root when it is newer than the pinned one (it descends from it). */
  #startSet(cached: CachedTrust | null): TrustedSet {
    const opts = { clock: this.#clock, limits: this.#limits };
    const pinned = new TrustedSet(this.#o.trustedRoot, opts);
    if (!cached) return pinned;
    try {
      const fromCache = new TrustedSet(cached.root, opts);
      if (fromCache.root.signed.version > pinned.root.signed.version) return fromCache;
    } catch {
      // An unreadable cached root is ignored: the walk from the pinned root re-establishes it.
    }
    return pinned;
  }

  /** Verification against the cache alone (offline, or the source unreachable). */
  #fromCache(cached: CachedTrust | null, sourceError?: OcitrustError): RefreshResult {
    const stale = (why: string, cause?: unknown): never => {
      throw new OcitrustError('TUF_CACHE_STALE', `${sourceError ? `${sourceError.message}; ` : ''}cached trust data for ${this.#o.collection} cannot be used: ${why}`, {
        cause: cause ?? sourceError,
      });
    };
    if (this.#maxAge === 0) return stale('offline use is disabled (maximum cache age 0)');
    if (!cached || !cached.timestamp || !cached.snapshot || !cached.targets) return stale('there is none');
    const refreshedAt = parseTime(cached.refreshedAt);
    if (!refreshedAt) return stale('it has no valid refresh time');
    const now = readClock(this.#clock);
    const age = Math.floor((now.getTime() - refreshedAt.getTime()) / 1000);
    // Written so that an age that is no number can never pass.
    if (!(age <= this.#maxAge)) return stale(`it is ${age} s old, more than the allowed ${this.#maxAge} s`);
    const set = new TrustedSet(cached.root, { clock: this.#clock, limits: this.#limits });
    try {
      set.checkFinalRoot();
      set.updateTimestamp(cached.timestamp);
      set.updateSnapshot(cached.snapshot, { trusted: true });
      set.updateTargets(cached.targets);
    } catch (e) {
      if (isOcitrustError(e, 'TUF_EXPIRED')) return stale(e.message, e);
      throw e;
    }
    return this.#result(set, true, refreshedAt, sourceError);
  }

  async #save(set: TrustedSet, refreshedAt: Date): Promise<void> {
    if (!this.#o.cache) return;
    const entry: CachedTrust = {
      anchor: this.#anchor,
      refreshedAt: formatTime(refreshedAt),
      root: set.bytes('root')!,
      timestamp: set.bytes('timestamp')!,
      snapshot: set.bytes('snapshot')!,
      targets: set.bytes('targets')!,
    };
    await this.#o.cache.write(this.#o.collection, entry);
  }

  #result(set: TrustedSet, fromCache: boolean, refreshedAt: Date, sourceError?: OcitrustError): RefreshResult {
    const root = set.root;
    const timestamp = set.timestamp!;
    const snapshot = set.snapshot!;
    const targets = set.targets!;
    return Object.freeze({
      trusted: trustViewFromTargets(targets.signed, this.#o.collection),
      versions: Object.freeze({ root: root.signed.version, timestamp: timestamp.signed.version, snapshot: snapshot.signed.version, targets: targets.signed.version }),
      metadata: Object.freeze({ root, timestamp, snapshot, targets }),
      fromCache,
      refreshedAt,
      ...(sourceError ? { sourceError } : {}),
    });
  }
}

/** Loads a cached document as a rollback baseline; a cached copy that no longer verifies is dropped. */
function tryLoad(load: () => unknown): void {
  try {
    load();
  } catch (e) {
    if (!isOcitrustError(e)) throw e;
  }
}

function rolesDiffer(a: Root, b: Root, role: 'timestamp' | 'snapshot'): boolean {
  const ra = a.role(role);
  const rb = b.role(role);
  return ra.threshold !== rb.threshold || ra.keyids.length !== rb.keyids.length || ra.keyids.some((k) => !rb.keyids.includes(k));
}

function missing(source: MetadataSource, file: string): OcitrustError {
  return new OcitrustError('TUF_METADATA_MISSING', `${source.description}: ${file} does not exist`);
}
