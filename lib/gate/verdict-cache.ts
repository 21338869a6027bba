/**
 * The gate's verdict cache (every face: admission webhooks, proxy, CLI): bounded (LRU), with a TTL for successes, a
 * short TTL for failures (negative cache), and single-flight so that concurrent requests for
 * the same key share one verification.
 *
 * Keys come from {@link verificationCacheKey}: the manifest digest, the repository it is
 * deployed as, the tag when the rule binds tags, the rule, the policy revision and the
 * trust-metadata version. A new policy revision or a new targets version (a signer removed, a
 * revocation published) therefore never hits an entry computed under the old one.
 */
import { systemClock, type Clock } from '../clock.js';
import { assertArg } from '../errors/index.js';
import { sha256Hex } from '../crypto/hash.js';
import { jcs } from '../crypto/canonical.js';

/** Options of {@link VerificationCache}. */
export interface VerificationCacheOptions {
  /** Most entries kept (least recently used evicted first). Default 10 000. */
  readonly maxEntries?: number;
  /** Lifetime of a positive result (ms). Default 5 minutes. */
  readonly ttlMs?: number;
  /** Lifetime of a negative result (ms). Default 10 seconds. */
  readonly negativeTtlMs?: number;
  readonly clock?: Clock;
}

/** Counters for metrics and tests. */
export interface CacheStats {
  hits: number;
  misses: number;
  /** Calls that joined a verification already in flight. */
  joined: number;
  evictions: number;
}

interface Entry<V> {
  readonly value: V;
  readonly expiresAt: number;
}

/**
 * A bounded TTL cache with single-flight.
 *
 * @example
 * const cache = new VerificationCache<{ verified: boolean }>({ ttlMs: 60_000 });
 * const r = await cache.run(key, () => verify(ref), (v) => v.verified);
 */
export class VerificationCache<V> {
  readonly #entries = new Map<string, Entry<V>>();
  readonly #inflight = new Map<string, Promise<V>>();
  readonly #max: number;
  readonly #ttl: number;
  readonly #negTtl: number;
  readonly #clock: Clock;
  readonly stats: CacheStats = { hits: 0, misses: 0, joined: 0, evictions: 0 };

  /** @throws OcitrustError INVALID_ARGUMENT on non-positive sizes or negative TTLs */
  constructor(opts: VerificationCacheOptions = {}) {
    this.#max = opts.maxEntries ?? 10_000;
    this.#ttl = opts.ttlMs ?? 5 * 60_000;
    this.#negTtl = opts.negativeTtlMs ?? 10_000;
    this.#clock = opts.clock ?? systemClock;
    assertArg(Number.isSafeInteger(this.#max) && this.#max > 0, 'maxEntries', 'a positive integer', this.#max);
    assertArg(Number.isFinite(this.#ttl) && this.#ttl >= 0, 'ttlMs', 'a non-negative number', this.#ttl);
    assertArg(Number.isFinite(this.#negTtl) && this.#negTtl >= 0, 'negativeTtlMs', 'a non-negative number', this.#negTtl);
  }

  /** Entries currently held (expired ones included until touched). */
  get size(): number {
    return this.#entries.size;
  }

  /** Verifications in flight. */
  get inflight(): number {
    return this.#inflight.size;
  }

  #now(): number {
    return this.#clock.now().getTime();
  }

  /** The cached value for `key` if present and unexpired (marks it recently used). */
  get(key: string): V | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    // "Not before expiry", so that a time that is no number (a broken clock) can only expire.
    if (!(this.#now() < e.expiresAt)) {
      this.#entries.delete(key);
      return undefined;
    }
    this.#entries.delete(key);
    this.#entries.set(key, e);
    return e.value;
  }

  /** Stores a value; `positive` chooses the TTL. */
  set(key: string, value: V, positive: boolean): void {
    const ttl = positive ? this.#ttl : this.#negTtl;
    this.#entries.delete(key);
    if (ttl <= 0) return;
    this.#entries.set(key, { value, expiresAt: this.#now() + ttl });
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
      this.stats.evictions++;
    }
  }

  /** Forgets everything (e.g. after a policy reload, although keys already carry the revision). */
  clear(): void {
    this.#entries.clear();
  }

  /**
   * The cached value, or the result of `compute` — run at most once at a time per key: callers
   * arriving while it runs get the same promise. Values are cached with the positive or the
   * negative TTL according to `isPositive`; a thrown error is not cached (the next call
   * retries) and reaches every joined caller.
   */
  run(key: string, compute: () => Promise<V>, isPositive: (v: V) => boolean): Promise<V> {
    const hit = this.get(key);
    if (hit !== undefined) {
      this.stats.hits++;
      return Promise.resolve(hit);
    }
    const running = this.#inflight.get(key);
    if (running) {
      this.stats.joined++;
      return running;
    }
    this.stats.misses++;
    const p = Promise.resolve()
      .then(compute)
      .then((v) => {
        this.set(key, v, isPositive(v));
        return v;
      })
      .finally(() => {
        this.#inflight.delete(key);
      });
    this.#inflight.set(key, p);
    return p;
  }
}

/** The parts of a verification cache key. */
export interface CacheKeyParts {
  /** Normalized repository the image is deployed as (signatures name repositories). */
  readonly repository: string;
  /** Resolved manifest digest. */
  readonly digest: string;
  /** The tag, when the rule binds tags (otherwise the same digest verifies for every tag). */
  readonly tag?: string;
  /** Rule name (two rules may ask for different roles). */
  readonly rule: string;
  readonly policyRevision: string;
  /** Version of the trusted targets metadata (or any string that changes when it does). */
  readonly trustVersion: string | number;
}

/** A fixed-length key for {@link VerificationCache} from its parts. */
export function verificationCacheKey(p: CacheKeyParts): string {
  return sha256Hex(
    jcs([p.repository, p.digest, p.tag ?? null, p.rule, p.policyRevision, typeof p.trustVersion === 'number' ? String(p.trustVersion) : p.trustVersion]),
  );
}
