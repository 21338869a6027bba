/**
 * The gate's trust pool: the one owner of every TUF `Updater` of a long-lived process (admission
 * webhooks, verifying proxy). One entry per (trust server, collection, trust anchor), refreshed
 * at most every `refreshSeconds` (stale-while-revalidate up to twice that, never past the
 * metadata's expiry), one clock for every age and expiry, and one first-use rule:
 *
 * - a rule's pinned `root` anchors it;
 * - without one, only the trust server's own storage may be trusted on first use (it is the
 *   server's own record, not something the network served);
 * - a remote trust server without a pinned root is refused (TRUST_ROOT_NOT_PINNED): a process
 *   that decides for others never trusts what the network serves on first use (DESIGN §3).
 *
 * DESIGN §3 Freeze: when a refresh fails for an environment reason (exit 3) the last good data
 * is kept until it expires or is older than `maxCacheAgeSeconds`, and the staleness is reported
 * to `freshness` (metrics, `/readyz`). Security and authentication failures drop it at once.
 */
import { OcitrustError, isOcitrustError } from '../errors/index.js';
import { systemClock, type Clock } from '../clock.js';
import { limits as mergeLimits, type Limits } from '../config.js';
import { sha256Hex } from '../crypto/hash.js';
import type { ImageRuleOptions } from '../policy/types.js';
import { ruleRootBytes } from '../usecases/policy-verify.js';
import { HttpMetadataSource, type MetadataSource } from '../tuf/source.js';
import { MemoryTrustCache, type TrustCache } from '../tuf/store.js';
import { Updater, DEFAULT_MAX_CACHE_AGE_SECONDS, type RefreshResult } from '../tuf/updater.js';
import { TrustedSet } from '../tuf/trusted-set.js';
import { LocalMetadataSource, type LocalTrustStore } from './local-source.js';

/** Where the staleness of trust data is reported (the trust server's TrustFreshness). */
export interface FreshnessSink {
  succeeded(face: 'hook' | 'proxy', server: string, collection: string, refreshedAt: Date, expiresAt: Date): void;
  failed(face: 'hook' | 'proxy', server: string, collection: string, code: string): void;
  forget(face: 'hook' | 'proxy'): void;
}

/** Logger for first-use pins and failed background refreshes. */
export interface GateLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/** Options of {@link TrustPool}. */
export interface TrustPoolOptions {
  /** Trust metadata of rules without `server`: the trust server hosting this process. */
  readonly localTrust?: LocalTrustStore;
  /** Persistence of trusted metadata per (server, collection) (default: in memory). */
  readonly trustCache?: TrustCache;
  /** How often a collection's trust metadata is refreshed (seconds, default 30). */
  readonly refreshSeconds?: number;
  /** How long the last good data may be used while refreshes fail for environment reasons (seconds, default 1 day). */
  readonly maxCacheAgeSeconds?: number;
  readonly freshness?: FreshnessSink;
  /** The face reported to `freshness` (default `hook`). */
  readonly face?: 'hook' | 'proxy';
  readonly clock?: Clock;
  readonly limits?: Partial<Limits>;
  /** fetch for remote trust servers (request counting in tests). */
  readonly fetch?: typeof fetch;
  readonly log?: GateLog;
  /** Counts refreshes started. */
  readonly onRefresh?: () => void;
}

/** A collection's trusted state, as verifications use it. */
export interface TrustState {
  readonly result: RefreshResult;
  /** Changes whenever the anchor, root or targets change: part of the verdict cache key. */
  readonly version: string;
  /** When it was obtained (ms, by the pool's clock). */
  readonly at: number;
  /** When the source last answered (ms). */
  readonly lastGoodAt: number;
  /** Earliest expiry of the four documents (ms). */
  readonly expiresAt: number;
}

interface PoolEntry {
  readonly source: MetadataSource;
  readonly server: string;
  readonly collection: string;
  readonly pinned?: Uint8Array;
  updater?: Promise<Updater>;
  state?: TrustState;
  inflight?: Promise<TrustState>;
}

const DEFAULT_REFRESH_SECONDS = 30;

/** The message that says how to pin a remote trust server's root (the one first-use rule). */
export function pinRootAdvice(rule: string | undefined, server: string, collection: string): string {
  return (
    `${rule === undefined ? 'the policy' : `policy rule ${JSON.stringify(rule)}`} names trust server ${server} without a pinned root; a service that decides for others never trusts a remote root on first use. ` +
    `Pin it: \`trust root export ${collection} > root.json\` on a machine that trusts it (compare the fingerprint out of band), then set \`root: root.json\` in the rule`
  );
}

/** One owner of every TUF updater of a process; see the module comment. */
export class TrustPool {
  readonly #entries = new Map<string, PoolEntry>();
  readonly #o: TrustPoolOptions;
  readonly #clock: Clock;
  readonly #limits: Limits;
  readonly #refreshMs: number;
  readonly #cache: TrustCache;
  readonly #maxAgeMs: number;
  readonly #face: 'hook' | 'proxy';

  constructor(o: TrustPoolOptions = {}) {
    this.#o = o;
    this.#clock = o.clock ?? systemClock;
    this.#limits = mergeLimits(o.limits);
    this.#refreshMs = (o.refreshSeconds ?? DEFAULT_REFRESH_SECONDS) * 1000;
    this.#cache = o.trustCache ?? new MemoryTrustCache();
    this.#maxAgeMs = (o.maxCacheAgeSeconds ?? DEFAULT_MAX_CACHE_AGE_SECONDS) * 1000;
    this.#face = o.face ?? 'hook';
  }

  /** Forgets every trust state (the persisted rollback baseline in `trustCache` stays). */
  clear(): void {
    this.#entries.clear();
    this.#o.freshness?.forget(this.#face);
  }

  /**
   * Collection `name` of the trust server's own storage was published to (its TRUST_CHANNEL):
   * the next check reads it again instead of using the state until the refresh interval ends,
   * so a removed signer or a revocation counts at once.
   */
  invalidate(name: string): void {
    for (const e of this.#entries.values()) if (e.server === 'local' && e.collection === name) delete e.state;
  }

  /**
   * Whether a rule has a trust anchor this pool accepts, without any I/O (start-up checks).
   * @throws SERVER_CONFIG_INVALID (no source) or TRUST_ROOT_NOT_PINNED (remote, unpinned)
   */
  assertAnchored(options: ImageRuleOptions): void {
    if (options.server === undefined) {
      if (!this.#o.localTrust) {
        throw new OcitrustError('SERVER_CONFIG_INVALID', `policy rule ${JSON.stringify(options.rule)} names no trust server and this process is not hosted by one; set \`server\` and \`root\` in the rule or in \`defaults\``);
      }
      return;
    }
    if (!options.root) throw new OcitrustError('TRUST_ROOT_NOT_PINNED', pinRootAdvice(options.rule, options.server, options.collection));
  }

  /** The trusted state for a rule's collection, refreshed when due. */
  async get(options: ImageRuleOptions): Promise<TrustState> {
    const entry = this.#entry(options);
    const now = this.#clock.now().getTime();
    const s = entry.state;
    if (s && now < s.expiresAt) {
      const age = now - s.at;
      if (age < this.#refreshMs) return s;
      if (age < 2 * this.#refreshMs) {
        // Stale-while-revalidate: this request keeps its latency; the next ones see the refresh.
        this.#refresh(entry).catch(() => undefined);
        return s;
      }
    }
    try {
      return await this.#refresh(entry);
    } catch (e) {
      const last = entry.state;
      const t = this.#clock.now().getTime();
      if (last && isOcitrustError(e) && e.exitCode === 3 && t < last.expiresAt && t - last.lastGoodAt <= this.#maxAgeMs) return last;
      throw e;
    }
  }

  #entry(options: ImageRuleOptions): PoolEntry {
    this.assertAnchored(options);
    const pinned = ruleRootBytes(options);
    const sourceId = options.server ?? 'local';
    const key = JSON.stringify([sourceId, options.collection, pinned ? sha256Hex(pinned) : 'local-record']);
    let e = this.#entries.get(key);
    if (!e) {
      const source =
        options.server !== undefined
          ? new HttpMetadataSource(options.server, options.collection, { limits: this.#limits, ...(this.#o.fetch ? { fetch: this.#o.fetch } : {}) })
          : new LocalMetadataSource(this.#o.localTrust!, options.collection);
      e = { source, server: sourceId, collection: options.collection, ...(pinned ? { pinned } : {}) };
      this.#entries.set(key, e);
    }
    return e;
  }

  #refresh(entry: PoolEntry): Promise<TrustState> {
    if (entry.inflight) return entry.inflight;
    this.#o.onRefresh?.();
    const p = (async (): Promise<TrustState> => {
      entry.updater ??= this.#updater(entry);
      let updater: Updater;
      try {
        updater = await entry.updater;
      } catch (e) {
        delete entry.updater;
        throw e;
      }
      const result = await updater.refresh();
      const m = result.metadata;
      const expiresAt = Math.min(m.root.signed.expiresAt.getTime(), m.timestamp.signed.expiresAt.getTime(), m.snapshot.signed.expiresAt.getTime(), m.targets.signed.expiresAt.getTime());
      const anchor = entry.pinned ? sha256Hex(entry.pinned).slice(0, 16) : 'local-record';
      const state: TrustState = {
        result,
        version: `${anchor}.${result.versions.root}.${result.versions.targets}`,
        at: this.#clock.now().getTime(),
        lastGoodAt: result.refreshedAt.getTime(),
        expiresAt,
      };
      entry.state = state;
      this.#o.freshness?.succeeded(this.#face, entry.server, entry.collection, result.refreshedAt, new Date(expiresAt));
      return state;
    })();
    entry.inflight = p;
    p.then(
      () => {
        delete entry.inflight;
      },
      (e: unknown) => {
        delete entry.inflight;
        // A security failure or a refused credential withdraws the old state at once; an
        // environment failure leaves it until it expires.
        if (!isOcitrustError(e) || e.exitCode !== 3) delete entry.state;
        this.#o.freshness?.failed(this.#face, entry.server, entry.collection, isOcitrustError(e) ? e.code : 'INTERNAL');
        this.#o.log?.warn({ err: e, collection: entry.collection, source: entry.source.description }, 'gate: trust metadata refresh failed');
      },
    );
    return p;
  }

  async #updater(entry: PoolEntry): Promise<Updater> {
    const trustedRoot = entry.pinned ?? (await this.#localRecordRoot(entry));
    return new Updater({
      collection: entry.collection,
      trustedRoot,
      source: entry.source,
      // State keyed by (server, collection): a re-encoded pinned root (a policy reload) finds
      // the same rollback baseline, and a pin with other keys is refused.
      server: entry.server,
      cache: this.#cache,
      clock: this.#clock,
      limits: this.#limits,
      // No silent fallback inside the Updater: the pool keeps the last good data itself (get).
      maxCacheAgeSeconds: 0,
    });
  }

  /**
   * Version 1 of a collection's root from the trust server's own storage: the server's own
   * record (the only first use a deciding process accepts; every later root chains from it).
   */
  async #localRecordRoot(entry: PoolEntry): Promise<Uint8Array> {
    const bytes = await entry.source.fetch({ role: 'root', version: 1 }, this.#limits.maxMetadataBytes);
    if (bytes === null) throw new OcitrustError('COLLECTION_NOT_FOUND', `${entry.source.description}: no trust data for collection ${entry.collection}`);
    // Fails with the metadata's own error when it is not a self-signed root.
    new TrustedSet(bytes, { clock: this.#clock, limits: this.#limits });
    return bytes;
  }
}
