import { OcitrustError, assertArg, isOcitrustError } from '../errors/index.js';
import { assertClock, formatTime, parseTime, readClock, systemClock, type Clock } from '../clock.js';
import { DEFAULT_LIMITS, type Limits } from '../config.js';
import { Metadata } from '../metadata/metadata.js';
import type { Root } from '../metadata/root.js';
import type { Snapshot } from '../metadata/snapshot.js';
import type { Targets } from '../metadata/targets.js';
import type { Timestamp } from '../metadata/timestamp.js';
import { trustViewFromTargets } from '../metadata/trust-view.js';
import type { TrustedTargets } from '../verify/trust.js';
import { loadFromSource, type MetadataFile, type MetadataSource } from './source.js';
import { MAX_CHAIN_LINKS, trustServerId, type CachedTrust, type TrustCache, type TrustStateKey } from './store.js';
import { rootMeaningFingerprint, type ChainLink } from './root-meaning.js';
import { TrustedSet } from './trusted-set.js';

/** Default maximum age of cached trust metadata used offline: one day. */
export const DEFAULT_MAX_CACHE_AGE_SECONDS = 24 * 60 * 60;

/** Options of {@link Updater}. */
export interface UpdaterOptions {
  /** Collection name (with `server`, names the persisted state; names the view). */
  readonly collection: string;
  /**
   * Bytes of the pinned root from the trust configuration (any version of the chain). Only its
   * meaning counts: when trusted state exists, the pin must mean the same (keys and
   * thresholds) as the root of that version in the trusted chain, else TRUST_PIN_MISMATCH.
   */
  readonly trustedRoot: Uint8Array;
  readonly source: MetadataSource;
  /**
   * The trust server the source reads from (a URL, or a name such as `local`): persisted state
   * is keyed by (server, collection), never by the root's bytes. Default: the source's
   * `description`.
   */
  readonly server?: string;
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

/** Requests made before the trusted state is verified (see Updater.#ask). */
interface EarlyAnswers {
  readonly probe: Promise<Uint8Array | null>;
  readonly probeVersion: number;
  readonly timestamp: Promise<Uint8Array | null>;
}

/**
 * Errors meaning "the source could not be asked": only these may fall back to the cache. A bad
 * answer counts like a broken connection; so does an address answering as something else than
 * a trust server (an ingress' default 404 page while the server restarts).
 */
const SOURCE_ERRORS = new Set(['TUF_SOURCE_UNREACHABLE', 'TUF_SOURCE_TIMEOUT', 'TUF_SOURCE_HTTP_ERROR', 'TUF_SOURCE_BAD_RESPONSE', 'TRUST_SERVER_NOT_OCITRUST']);

/**
 * The TUF client workflow for one collection (tuf-spec v1.0 "Detailed client workflow" 5.1–5.6,
 * tuf-js `Updater`): walk the root chain from the trusted state (or, without one, from the
 * pinned root), then timestamp, snapshot and targets, with the checks of {@link TrustedSet}.
 * The last trusted metadata is persisted per (server, collection) so rollback protection
 * survives restarts and does not depend on the bytes the root is given as (DESIGN §3). When the
 * source cannot be reached (an environment error: never a security or authentication failure),
 * the cached metadata is used if it is unexpired and younger than `maxCacheAgeSeconds` (0: never).
 *
 * @example
 * const u = new Updater({ collection, trustedRoot, source: new HttpMetadataSource(url, collection), cache });
 * const { trusted } = await u.refresh();
 */
export class Updater {
  readonly #o: UpdaterOptions;
  readonly #clock: Clock;
  readonly #limits: Limits;
  readonly #key: TrustStateKey;
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
    const server = opts.server ?? opts.source.description;
    assertArg(typeof server === 'string' && server.length > 0, 'server', 'non-empty trust server', server);
    this.#key = { server: trustServerId(server), collection: opts.collection };
    this.#maxAge = maxAge;
  }

  /**
   * Refreshes trust metadata and returns the trusted view.
   *
   * @throws TUF_THRESHOLD_NOT_MET, TUF_ROOT_ROTATION_INVALID, TUF_ROOT_CHAIN_TOO_LONG, TUF_ROLLBACK, TUF_VERSION_MISMATCH,
   *   TUF_EXPIRED, TUF_HASH_MISMATCH, TUF_LENGTH_MISMATCH, TUF_METADATA_MISSING (exit 1);
   *   TUF_SOURCE_UNREACHABLE, TUF_SOURCE_TIMEOUT, TUF_SOURCE_HTTP_ERROR, TUF_SOURCE_BAD_RESPONSE (malformed,
   *   oversized or unsupported metadata from the source), TRUST_SERVER_NOT_OCITRUST, TUF_CACHE_STALE, TUF_CACHE_IO (exit 3);
   *   TRUST_PIN_MISMATCH (exit 2: the pin means other keys than the trusted chain; the state is kept);
   *   AUTH_* / PERMISSION_DENIED from the source (exit 2, never a fallback to the cache);
   *   METADATA_*, JSON_* for a malformed pinned root
   */
  async refresh(): Promise<RefreshResult> {
    const cached = (await this.#o.cache?.read(this.#key)) ?? null;
    const early = this.#o.offline ? undefined : this.#ask(cached);
    // The pin must at least be a self-signed root, whatever the state says.
    const pinned = new TrustedSet(this.#o.trustedRoot, { clock: this.#clock, limits: this.#limits });
    const pin = link(pinned.root.signed);
    if (this.#o.offline) {
      if (cached) this.#checkPinOffline(pin, cached);
      return this.#fromCache(cached);
    }
    try {
      return await this.#online(cached, pinned, early);
    } catch (e) {
      // Without offline use allowed (maximum age 0), the source's own error says it best.
      if (!isOcitrustError(e) || !SOURCE_ERRORS.has(e.code) || !cached || this.#maxAge === 0) throw e;
      this.#checkPinOffline(pin, cached, e);
      return this.#fromCache(cached, e);
    }
  }

  /**
   * The first root probe and the timestamp, asked for before the pin and the cached root are
   * parsed and verified: the source answers while that CPU work runs (a warm `trust verify`
   * otherwise waits for both in turn). Only the requests move: the answers are used where and
   * as before (in #online), the probe only when it names the version after the
   * verified trusted root. The version is read from the state's chain (its last link is the
   * state's root, see #save); without a state (first contact) nothing is asked early.
   */
  #ask(cached: CachedTrust | null): EarlyAnswers | undefined {
    const { source } = this.#o;
    const L = this.#limits;
    const last = cached?.chain[cached.chain.length - 1]?.version;
    if (last === undefined || !Number.isSafeInteger(last)) return undefined;
    // Observed now: an answer is abandoned when the pin or the state fails to load.
    const probe = source.fetch({ role: 'root', version: last + 1 }, L.maxMetadataBytes);
    probe.catch(() => undefined);
    const timestamp = source.fetch({ role: 'timestamp' }, L.maxSmallMetadataBytes);
    timestamp.catch(() => undefined);
    return { probe, probeVersion: last + 1, timestamp };
  }

  async #online(cached: CachedTrust | null, pinned: TrustedSet, early?: EarlyAnswers): Promise<RefreshResult> {
    const { source } = this.#o;
    const L = this.#limits;
    const pin = link(pinned.root.signed);
    // Trusted state, when there is some, is where the walk starts: the pin is only checked
    // against it, so a pin given as other bytes (or an older pin) can never reset it.
    let set: TrustedSet;
    let chain: ChainLink[];
    let pinAhead = false;
    if (cached) {
      try {
        // The same bytes as the pin (no root rotation since it was pinned): the set already
        // built from them is that root, verified; building it twice only costs start-up time.
        set = sameBytes(cached.root, this.#o.trustedRoot) ? pinned : new TrustedSet(cached.root, { clock: this.#clock, limits: L });
      } catch (e) {
        throw new OcitrustError('TUF_CACHE_IO', `the trusted root of ${this.#o.collection} in the trust cache no longer loads (${(e as Error).message}); the state is kept, not reset: remove it deliberately to start over`, { cause: e });
      }
      chain = cached.chain.length > 0 ? [...cached.chain] : [link(set.root.signed)];
      const where = this.#comparePin(pin, chain);
      if (where === 'ahead') pinAhead = true;
      if (where === 'before') await this.#walkPinTo(pinned, chain[0]!);
    } else {
      set = pinned;
      chain = [pin];
    }
    const startRoot = set.root;

    // The timestamp is asked for together with the first root probe (one round trip, not
    // two); it is used only if no newer root turns up, so 5.4 still runs under the final root.
    // Bytes from the source go through loadFromSource: a malformed answer is a bad response
    // (exit 3), not an input error of the user's.
    const load = <T>(file: MetadataFile, bytes: Uint8Array, update: (b: Uint8Array) => T): T => loadFromSource(source, file, bytes, update);
    const first = set.root.signed.version + 1;
    const probe = early && early.probeVersion === first ? early.probe : source.fetch({ role: 'root', version: first }, L.maxMetadataBytes);
    const earlyTs = early?.timestamp ?? source.fetch({ role: 'timestamp' }, L.maxSmallMetadataBytes);
    earlyTs.catch(() => undefined);

    // 5.3: walk N+1, N+2, … until the source has no newer root.
    for (let steps = 0; ; steps++) {
      const next = set.root.signed.version + 1;
      const bytes = steps === 0 ? await probe : await source.fetch({ role: 'root', version: next }, L.maxMetadataBytes);
      if (bytes === null) break;
      if (steps >= L.maxRootRotations) {
        throw new OcitrustError('TUF_ROOT_CHAIN_TOO_LONG', `more than ${L.maxRootRotations} root versions after v${startRoot.signed.version}; pin a newer root`);
      }
      load({ role: 'root', version: next }, bytes, (b) => set.updateRoot(b));
      chain.push(link(set.root.signed));
    }
    set.checkFinalRoot();
    if (pinAhead) {
      // A pin newer than the trusted state must be a root the walk reached, with its meaning.
      const at = chain.find((l) => l.version === pin.version);
      if (!at || at.fingerprint !== pin.fingerprint) throw this.#mismatch(pin, at ?? chain[chain.length - 1]!);
    }

    // 5.3.11: if timestamp or snapshot keys changed since the cached state was trusted, drop
    // the cached timestamp and snapshot (recovery from a fast-forward attack).
    let cache = cached;
    if (cache && set.root !== startRoot && (rolesDiffer(startRoot.signed, set.root.signed, 'timestamp') || rolesDiffer(startRoot.signed, set.root.signed, 'snapshot'))) {
      cache = { ...cache, timestamp: undefined, snapshot: undefined } as CachedTrust;
    }

    // 5.4: the cached timestamp (even expired) is the baseline for rollback checks.
    if (cache?.timestamp) tryLoad(() => set.updateTimestamp(cache.timestamp!));
    const tsBytes = set.root === startRoot ? await earlyTs : await source.fetch({ role: 'timestamp' }, L.maxSmallMetadataBytes);
    if (tsBytes === null) throw missing(source, 'timestamp.json');
    load({ role: 'timestamp' }, tsBytes, (b) => set.updateTimestamp(b));

    // 5.5: keep the cached snapshot when it is still the one the timestamp names.
    if (cache?.snapshot) tryLoad(() => set.updateSnapshot(cache.snapshot!, { trusted: true }));
    if (!set.hasFinalSnapshot()) {
      const meta = set.timestamp!.signed.snapshotMeta;
      const bytes = await source.fetch({ role: 'snapshot', version: meta.version }, meta.length ?? L.maxSmallMetadataBytes);
      if (bytes === null) throw missing(source, `${meta.version}.snapshot.json`);
      load({ role: 'snapshot', version: meta.version }, bytes, (b) => set.updateSnapshot(b));
    }

    // 5.6
    if (cache?.targets) tryLoad(() => set.updateTargets(cache.targets!));
    if (!set.targets) {
      const meta = set.snapshot!.signed.targetsMeta;
      const bytes = await source.fetch({ role: 'targets', version: meta.version }, meta.length ?? L.maxMetadataBytes);
      if (bytes === null) throw missing(source, `${meta.version}.targets.json`);
      load({ role: 'targets', version: meta.version }, bytes, (b) => set.updateTargets(b));
    }
    // Persisted only as a complete, consistent state: a refresh that fails half-way leaves the
    // previous state (still a valid rollback baseline) and re-walks from it next time.
    const refreshedAt = readClock(this.#clock);
    await this.#save(set, chain, refreshedAt, cached);
    return this.#result(set, false, refreshedAt);
  }

  /**
   * Where the pin stands against the trusted chain: `same` (that version is in the chain
   * with the same meaning), `ahead` (newer than the chain: checked after the walk) or
   * `before` (older than the links kept: checked by walking from it).
   * @throws TRUST_PIN_MISMATCH
   */
  #comparePin(pin: ChainLink, chain: readonly ChainLink[]): 'same' | 'ahead' | 'before' {
    const at = chain.find((l) => l.version === pin.version);
    if (at) {
      if (at.fingerprint !== pin.fingerprint) throw this.#mismatch(pin, at);
      return 'same';
    }
    return pin.version > chain[chain.length - 1]!.version ? 'ahead' : 'before';
  }

  /** Without the source, only a pin whose version is in the kept chain can be checked. */
  #checkPinOffline(pin: ChainLink, cached: CachedTrust, sourceError?: OcitrustError): void {
    const chain = cached.chain.length > 0 ? cached.chain : [link(new TrustedSet(cached.root, { clock: this.#clock, limits: this.#limits }).root.signed)];
    if (this.#comparePin(pin, chain) === 'same') return;
    throw new OcitrustError(
      'TUF_CACHE_STALE',
      `${sourceError ? `${sourceError.message}; ` : ''}the pinned root of ${this.#o.collection} (v${pin.version}) is not in the cached trusted chain (v${chain[0]!.version}–v${chain[chain.length - 1]!.version}), so it can only be checked online`,
      sourceError ? { cause: sourceError } : {},
    );
  }

  /** Walks the source's root chain from an old pin up to the first kept link and compares meanings. */
  async #walkPinTo(pinned: TrustedSet, first: ChainLink): Promise<void> {
    const L = this.#limits;
    if (first.version - pinned.root.signed.version > L.maxRootRotations) {
      throw new OcitrustError('TUF_ROOT_CHAIN_TOO_LONG', `the pinned root v${pinned.root.signed.version} is more than ${L.maxRootRotations} versions older than the trusted root v${first.version}; pin a newer root`);
    }
    while (pinned.root.signed.version < first.version) {
      const file: MetadataFile = { role: 'root', version: pinned.root.signed.version + 1 };
      const bytes = await this.#o.source.fetch(file, L.maxMetadataBytes);
      if (bytes === null) throw this.#mismatch(link(pinned.root.signed), first);
      loadFromSource(this.#o.source, file, bytes, (b) => pinned.updateRoot(b));
    }
    const reached = link(pinned.root.signed);
    if (reached.fingerprint !== first.fingerprint) throw this.#mismatch(reached, first);
  }

  #mismatch(pin: ChainLink, trusted: ChainLink): OcitrustError {
    return new OcitrustError(
      'TRUST_PIN_MISMATCH',
      `the pinned root of ${this.#o.collection} (v${pin.version}, keys sha256:${pin.fingerprint}) does not mean the same as the root this client trusts for it on ${this.#key.server} ` +
        `(v${trusted.version}, keys sha256:${trusted.fingerprint}): other keys or thresholds. Check the pinned root; if the collection was deliberately re-created with new keys, remove its trusted state`,
      { details: { pinned: `sha256:${pin.fingerprint}`, trusted: `sha256:${trusted.fingerprint}`, pinnedVersion: pin.version, trustedVersion: trusted.version } },
    );
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

  /**
   * Persists the state. Skipped when it is what was read at the start, byte for byte, and was
   * refreshed less than {@link REFRESH_RECORD_INTERVAL_SECONDS} ago: the write (a temporary
   * file, two fsyncs, a rename) would only move `refreshedAt`, and costs more than the rest of
   * a warm `trust verify` on many disks. The recorded time then lags by less than that
   * interval, which only makes an offline fallback (judged by its age) stricter.
   */
  async #save(set: TrustedSet, chain: readonly ChainLink[], refreshedAt: Date, read: CachedTrust | null): Promise<void> {
    const cache = this.#o.cache;
    if (!cache) return;
    if (read && unchangedSince(read, set, chain, refreshedAt)) return;
    // Another run may have saved newer state meanwhile: persisted versions never go down.
    const now = await cache.read(this.#key);
    if (now && newerThan(now, set)) return;
    const entry: CachedTrust = {
      refreshedAt: formatTime(refreshedAt),
      chain: chain.slice(-MAX_CHAIN_LINKS),
      root: set.bytes('root')!,
      timestamp: set.bytes('timestamp')!,
      snapshot: set.bytes('snapshot')!,
      targets: set.bytes('targets')!,
    };
    await cache.write(this.#key, entry);
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

/** How often an otherwise unchanged state is written again just to record the refresh time. */
export const REFRESH_RECORD_INTERVAL_SECONDS = 60;

/**
 * True when `read` holds exactly the state of `set` and `chain` and was refreshed at most
 * {@link REFRESH_RECORD_INTERVAL_SECONDS} before `now` (and not after it).
 */
function unchangedSince(read: CachedTrust, set: TrustedSet, chain: readonly ChainLink[], now: Date): boolean {
  const at = parseTime(read.refreshedAt);
  const age = at ? (now.getTime() - at.getTime()) / 1000 : NaN;
  // Written so that an age that is no number never counts as recent.
  if (!(age >= 0 && age < REFRESH_RECORD_INTERVAL_SECONDS)) return false;
  for (const role of ['root', 'timestamp', 'snapshot', 'targets'] as const) {
    const a = read[role];
    const b = set.bytes(role);
    if (!a || !b || !sameBytes(a, b)) return false;
  }
  const kept = chain.slice(-MAX_CHAIN_LINKS);
  return read.chain.length === kept.length && read.chain.every((l, i) => l.version === kept[i]!.version && l.fingerprint === kept[i]!.fingerprint);
}

/** Byte equality of public data (metadata documents): native, not constant-time. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
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

/** The chain link of a root: its version and the fingerprint of its meaning. */
function link(root: Root): ChainLink {
  return { version: root.version, fingerprint: rootMeaningFingerprint(root) };
}

/** True when persisted state has a higher root, timestamp or targets version than `set`. */
function newerThan(c: CachedTrust, set: TrustedSet): boolean {
  const v = (role: 'root' | 'timestamp' | 'targets', b: Uint8Array | undefined): number => {
    if (!b) return 0;
    try {
      return Metadata.fromBytes(role, b).signed.version;
    } catch {
      return 0;
    }
  };
  return v('root', c.root) > set.root.signed.version || v('timestamp', c.timestamp) > set.timestamp!.signed.version || v('targets', c.targets) > set.targets!.signed.version;
}

function missing(source: MetadataSource, file: string): OcitrustError {
  return new OcitrustError('TUF_METADATA_MISSING', `${source.description}: ${file} does not exist`);
}
