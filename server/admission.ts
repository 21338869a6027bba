/**
 * The admission webhooks of the trust server (issue 6, DESIGN §8): the real `verifyImage`
 * behind hook/routes.ts, built from the policy file and lib/usecases `verifyReference`.
 *
 * What makes it fast and predictable:
 * - one shared registry client, so registry tokens and connections are reused;
 * - one TUF `Updater` (and in-memory trust cache) per collection and trust anchor, refreshed at
 *   most every `trustRefreshSeconds` (stale-while-revalidate up to twice that, never past the
 *   metadata's expiry);
 * - the tag → digest answer kept for `tagTtlSeconds`, and the manifest bytes fetched to resolve
 *   the tag reused by the verification (content-addressed, digest computed from the bytes), so a
 *   cold image costs two registry round trips: the manifest and the referrers list;
 * - verdicts cached by digest × repository × rule × policy revision × trust-metadata version in
 *   hook/cache.ts (single-flight per key, failures cached briefly).
 *
 * Fail closed: every environment error (registry, trust source, missing configuration)
 * becomes a thrown OcitrustError, which reviewAdmission turns into a denial naming the image
 * and the code (or a warning under a `warn` rule). The deadline below the webhook timeout is
 * hook/admission.ts's.
 */
import type { FastifyInstance } from 'fastify';
import { CATALOGUE, OcitrustError, assertArg, isOcitrustError, type ErrorCode } from '../lib/errors/index.js';
import { assertClock, systemClock, type Clock } from '../lib/clock.js';
import { limits as mergeLimits, type Limits } from '../lib/config.js';
import { isDigest, sha256Hex } from '../lib/crypto/hash.js';
import { parseReference, type ImageReference } from '../lib/reference.js';
import { HttpRegistryClient, type FetchedManifest, type RegistryClient, type RepositoryRef } from '../lib/oci/client.js';
import { loadPolicyFile } from '../lib/policy/load.js';
import { watchPolicyFile, type WatchedPolicy } from './policy-reload.js';
import type { ImageRuleOptions, Policy, RuleSettings } from '../lib/policy/types.js';
import { HttpMetadataSource, metadataFileName, type MetadataFile, type MetadataSource } from '../lib/tuf/source.js';
import { MemoryTrustCache, type TrustCache } from '../lib/tuf/store.js';
import { Updater, type RefreshResult } from '../lib/tuf/updater.js';
import { TrustedSet } from '../lib/tuf/trusted-set.js';
import { ruleRootBytes } from '../lib/usecases/policy-verify.js';
import { asNotSigned, verifyReference } from '../lib/usecases/verify.js';
import type { Platform } from '../lib/oci/types.js';
import type { AdmissionVerifyImage, AdmissionOutcome, AdmissionAction, NamespaceLabelsFn, VerifyResultLike } from '../hook/admission.js';
import { VerificationCache, verificationCacheKey, type CacheStats } from '../hook/cache.js';
import { admissionRoutes } from '../hook/routes.js';
import type { ServerMetrics } from './metrics.js';
import { inClusterNamespaceLabels } from './k8s-namespaces.js';
import type { WebhookEvents } from './webhooks/index.js';
import { admissionDeniedEvents, RepeatFilter } from './webhooks/denials.js';
import type { TrustService } from './trust/service.js';
import type { TrustFreshness } from './trust-freshness.js';
import { DEFAULT_MAX_CACHE_AGE_SECONDS } from '../lib/tuf/updater.js';

/** Where trust metadata comes from when a rule names no `server`: the trust server's own storage. */
export type LocalTrust = Pick<TrustService, 'timestamp' | 'file'>;

/** Logger used for first-use pins and background refresh failures. */
export interface AdmissionLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/** Options of {@link createAdmissionVerifier}. */
export interface AdmissionVerifierOptions {
  /** The registry client shared by every verification (default: one HttpRegistryClient with Docker credentials). */
  readonly registry?: RegistryClient;
  /** Plain HTTP for these registries (or all) when the default client is made. Loopback is always plain. */
  readonly plainHttp?: boolean | readonly string[];
  /** Trust metadata of rules without `server` (the trust server hosting the webhook). */
  readonly localTrust?: LocalTrust;
  /** Persistence of trusted metadata per collection (default: in memory, one per verifier). */
  readonly trustCache?: TrustCache;
  /** How often a collection's trust metadata is refreshed (seconds, default 30). */
  readonly trustRefreshSeconds?: number;
  /**
   * How long the last good trust data of a collection may be used when refreshing it fails for
   * an environment reason (seconds, default 1 day); never past the data's own expiry. A
   * security failure (rollback, bad signatures) or an authentication failure drops it at once.
   */
  readonly maxCacheAgeSeconds?: number;
  /** Where staleness is reported (metrics, `/readyz`); the trust server passes its own. */
  readonly freshness?: TrustFreshness;
  /** How long a tag's digest is reused (seconds, default 30; 0 resolves every time). */
  readonly tagTtlSeconds?: number;
  /** Verdict cache: entries, positive and negative lifetimes (ms). Defaults 10 000, 5 min, 10 s. */
  readonly cache?: { readonly maxEntries?: number; readonly ttlMs?: number; readonly negativeTtlMs?: number };
  /** Most manifests kept for reuse between tag resolution and verification (default 1024). */
  readonly maxManifests?: number;
  /** The platform deployed, for `multiArch: platform` (default linux/amd64). */
  readonly platform?: Platform;
  readonly clock?: Clock;
  readonly limits?: Partial<Limits>;
  /** fetch for trust servers (request counting in tests). */
  readonly fetch?: typeof fetch;
  readonly log?: AdmissionLog;
}

/** Counters of an {@link AdmissionVerifier}, for metrics, tests and the benchmark. */
export interface AdmissionVerifierStats {
  /** Verdict cache counters. */
  readonly cache: CacheStats;
  /** Tag resolutions answered from the tag cache / from the registry. */
  tagHits: number;
  tagMisses: number;
  /** Manifests served from the manifest memo instead of the registry. */
  manifestHits: number;
  /** TUF refreshes started (blocking or in the background). */
  trustRefreshes: number;
}

/** The verifier the admission routes call, with its caches. */
export interface AdmissionVerifier {
  readonly verifyImage: AdmissionVerifyImage;
  readonly stats: AdmissionVerifierStats;
  /**
   * Forgets every cached verdict, tag and manifest, and (unless `trust: false`) every trust
   * state; first-use pins are kept for the life of the verifier.
   */
  clear(opts?: { readonly trust?: boolean }): void;
}

const DEFAULT_TRUST_REFRESH_SECONDS = 30;
const DEFAULT_TAG_TTL_SECONDS = 30;
const DEFAULT_MAX_MANIFESTS = 1024;

// ---------------------------------------------------------------------------------------------
// Trust metadata: the local source, and one Updater per collection and anchor.

/**
 * A MetadataSource over the trust server's own storage (no HTTP): the webhook hosted by the
 * trust server reads the same consistent-snapshot files the server serves.
 */
export class LocalMetadataSource implements MetadataSource {
  readonly description: string;
  readonly #trust: LocalTrust;
  readonly #collection: string;

  constructor(trust: LocalTrust, collection: string) {
    this.#trust = trust;
    this.#collection = collection;
    this.description = `local trust data of ${collection}`;
  }

  async fetch(file: MetadataFile, maxBytes: number): Promise<Uint8Array | null> {
    let body: Buffer;
    try {
      body = file.role === 'timestamp' ? (await this.#trust.timestamp(this.#collection)).body : (await this.#trust.file(this.#collection, file.role, file.version)).body;
    } catch (e) {
      if (isOcitrustError(e, 'COLLECTION_NOT_FOUND') || isOcitrustError(e, 'METADATA_NOT_FOUND')) return null;
      // The storage could not be asked: "could not decide", never "verification failed".
      throw new OcitrustError('TUF_SOURCE_UNREACHABLE', `${this.description}: ${metadataFileName(file)}: ${(e as Error).message}`, { cause: e });
    }
    if (body.length > maxBytes) throw new OcitrustError('INPUT_TOO_LARGE', `${this.description}: ${metadataFileName(file)}: ${body.length} bytes, limit ${maxBytes}`);
    return new Uint8Array(body);
  }
}

/** A collection's trusted state, as verifications use it. */
interface TrustState {
  readonly result: RefreshResult;
  /** Changes whenever the anchor, root or targets change: part of the verdict cache key. */
  readonly version: string;
  /** When it was obtained (ms). */
  readonly at: number;
  /** When the source last answered (ms): `at` of the first success; kept while refreshes fail. */
  readonly lastGoodAt: number;
  /** Earliest expiry of the four documents (ms). */
  readonly expiresAt: number;
}

interface PoolEntry {
  readonly source: MetadataSource;
  /** The trust server (or `local`): with the collection, the key of persisted trust state. */
  readonly server: string;
  readonly collection: string;
  readonly pinned?: Uint8Array;
  updater?: Promise<Updater>;
  state?: TrustState;
  inflight?: Promise<TrustState>;
}

class TrustPool {
  readonly #entries = new Map<string, PoolEntry>();
  /** First-use roots by source and collection: pinned once per process, like the CLI's TOFU pin. */
  readonly #firstUse = new Map<string, Promise<Uint8Array>>();
  readonly #o: AdmissionVerifierOptions;
  readonly #clock: Clock;
  readonly #limits: Limits;
  readonly #refreshMs: number;
  readonly #cache: TrustCache;
  readonly #stats: AdmissionVerifierStats;
  readonly #maxAgeMs: number;

  constructor(o: AdmissionVerifierOptions, stats: AdmissionVerifierStats) {
    this.#o = o;
    this.#clock = o.clock ?? systemClock;
    this.#limits = mergeLimits(o.limits);
    this.#refreshMs = (o.trustRefreshSeconds ?? DEFAULT_TRUST_REFRESH_SECONDS) * 1000;
    this.#cache = o.trustCache ?? new MemoryTrustCache();
    this.#stats = stats;
    this.#maxAgeMs = (o.maxCacheAgeSeconds ?? DEFAULT_MAX_CACHE_AGE_SECONDS) * 1000;
  }

  clear(): void {
    this.#entries.clear();
    this.#o.freshness?.forget('hook');
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
      // DESIGN §3 Freeze: a service that decides for others keeps its last good trust data when
      // the source cannot be asked (exit 3), until the data expires (or is older than the
      // allowed maximum), and reports the staleness (trust-freshness.ts). Security and
      // authentication failures are never papered over: #refresh dropped the state for those.
      const last = entry.state;
      const t = this.#clock.now().getTime();
      if (last && isOcitrustError(e) && e.exitCode === 3 && t < last.expiresAt && t - last.lastGoodAt <= this.#maxAgeMs) return last;
      throw e;
    }
  }

  #entry(options: ImageRuleOptions): PoolEntry {
    const pinned = ruleRootBytes(options);
    const sourceId = options.server ?? 'local';
    const key = JSON.stringify([sourceId, options.collection, pinned ? sha256Hex(pinned) : 'first-use']);
    let e = this.#entries.get(key);
    if (!e) {
      e = { source: this.#source(options), server: sourceId, collection: options.collection, ...(pinned ? { pinned } : {}) };
      this.#entries.set(key, e);
    }
    return e;
  }

  #source(options: ImageRuleOptions): MetadataSource {
    if (options.server !== undefined) {
      return new HttpMetadataSource(options.server, options.collection, { limits: this.#limits, ...(this.#o.fetch ? { fetch: this.#o.fetch } : {}) });
    }
    if (this.#o.localTrust) return new LocalMetadataSource(this.#o.localTrust, options.collection);
    throw new OcitrustError(
      'SERVER_CONFIG_INVALID',
      `policy rule ${JSON.stringify(options.rule)} names no trust server and this webhook is not hosted by one; set \`server\` in the rule or in \`defaults\``,
    );
  }

  #refresh(entry: PoolEntry): Promise<TrustState> {
    if (entry.inflight) return entry.inflight;
    this.#stats.trustRefreshes++;
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
      const anchor = entry.pinned ? sha256Hex(entry.pinned).slice(0, 16) : 'first-use';
      const at = this.#clock.now().getTime();
      const state: TrustState = {
        result,
        version: `${anchor}.${result.versions.root}.${result.versions.targets}`,
        at,
        lastGoodAt: result.refreshedAt.getTime(),
        expiresAt,
      };
      entry.state = state;
      this.#o.freshness?.succeeded('hook', entry.server, entry.collection, result.refreshedAt, new Date(expiresAt));
      return state;
    })();
    entry.inflight = p;
    p.then(
      () => {
        delete entry.inflight;
      },
      (e: unknown) => {
        delete entry.inflight;
        // A security failure (rollback, bad signatures) or a refused credential withdraws the
        // old state at once; an environment failure leaves it until it expires.
        if (!isOcitrustError(e) || e.exitCode !== 3) delete entry.state;
        this.#o.freshness?.failed('hook', entry.server, entry.collection, isOcitrustError(e) ? e.code : 'INTERNAL');
        this.#o.log?.warn({ err: e, collection: entry.collection, source: entry.source.description }, 'admission: trust metadata refresh failed');
      },
    );
    return p;
  }

  async #updater(entry: PoolEntry): Promise<Updater> {
    const trustedRoot = entry.pinned ?? (await this.#firstUseRoot(entry));
    return new Updater({
      collection: entry.collection,
      trustedRoot,
      source: entry.source,
      // State keyed by (server, collection): a rule whose pinned root is re-encoded (a policy
      // reload) finds the same rollback baseline, and a pin with other keys is refused.
      server: entry.server,
      cache: this.#cache,
      clock: this.#clock,
      limits: this.#limits,
      // No silent fallback inside the Updater: the pool keeps the last good data itself (get),
      // so staleness is visible.
      maxCacheAgeSeconds: 0,
    });
  }

  /**
   * Version 1 of the collection's root, trusted on first use and kept for the life of the
   * process (every later root must chain from it, TUF 5.3). For the trust server's own storage
   * this is the server's own record; for a remote server, pin `root` in the policy instead.
   */
  #firstUseRoot(entry: PoolEntry): Promise<Uint8Array> {
    const key = JSON.stringify([entry.source.description, entry.collection]);
    let p = this.#firstUse.get(key);
    if (!p) {
      p = (async () => {
        const bytes = await entry.source.fetch({ role: 'root', version: 1 }, this.#limits.maxMetadataBytes);
        if (bytes === null) {
          throw new OcitrustError('COLLECTION_NOT_FOUND', `${entry.source.description}: no trust data for collection ${entry.collection}`);
        }
        // Fails with the metadata's own error when it is not a self-signed root.
        new TrustedSet(bytes, { clock: this.#clock, limits: this.#limits });
        this.#o.log?.warn(
          { collection: entry.collection, source: entry.source.description, fingerprint: `sha256:${sha256Hex(bytes)}` },
          'admission: trusting the root of this collection on first use; pin it with `root:` in the policy file',
        );
        return bytes;
      })();
      this.#firstUse.set(key, p);
      p.catch(() => this.#firstUse.delete(key));
    }
    return p;
  }
}

// ---------------------------------------------------------------------------------------------
// Registry: tag cache and manifest reuse over one shared client.

interface TagEntry {
  readonly digest: string;
  readonly expiresAt: number;
}

/**
 * A RegistryClient that remembers manifests it fetched, by digest (bytes already hashed to that
 * digest, so reuse is sound: content addressing), and tag → digest answers for a short time.
 * Everything else goes to the shared client unchanged.
 */
class ManifestMemo implements RegistryClient {
  readonly #inner: RegistryClient;
  readonly #manifests = new Map<string, FetchedManifest>();
  readonly #tags = new Map<string, TagEntry>();
  readonly #tagResolving = new Map<string, Promise<string>>();
  readonly #max: number;
  readonly #tagTtl: number;
  readonly #clock: Clock;
  readonly #stats: AdmissionVerifierStats;

  constructor(inner: RegistryClient, max: number, tagTtlMs: number, clock: Clock, stats: AdmissionVerifierStats) {
    this.#inner = inner;
    this.#max = max;
    this.#tagTtl = tagTtlMs;
    this.#clock = clock;
    this.#stats = stats;
  }

  clear(): void {
    this.#manifests.clear();
    this.#tags.clear();
  }

  #remember(repo: RepositoryRef, m: FetchedManifest): void {
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
    this.#remember(repo, m);
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

// ---------------------------------------------------------------------------------------------
// The verifier.

function prefixed(e: unknown, what: string): unknown {
  if (!isOcitrustError(e)) return e;
  return new OcitrustError(e.code, `${what}: ${e.message}`, { cause: e, ...(e.details ? { details: { ...e.details } } : {}) });
}

/**
 * Builds the `verifyImage` of the admission routes: trust metadata per rule (its `server`, or
 * the hosting trust server; its pinned `root`, or version 1 on first use), the tag resolved
 * once, the verdict cached, `verifyReference` doing the checks. Throws (→ a denial naming the
 * code) whenever the outcome cannot be decided.
 *
 * @throws OcitrustError INVALID_ARGUMENT for bad option values
 * @example const v = createAdmissionVerifier({ localTrust: app.ocitrust.trust }); await app.register(admissionRoutes, { policy, verifyImage: v.verifyImage });
 */
export function createAdmissionVerifier(o: AdmissionVerifierOptions = {}): AdmissionVerifier {
  assertArg(typeof o === 'object' && o !== null, 'options', 'AdmissionVerifierOptions object', o);
  if (o.clock !== undefined) assertClock(o.clock, 'clock');
  const refresh = o.trustRefreshSeconds ?? DEFAULT_TRUST_REFRESH_SECONDS;
  const tagTtl = o.tagTtlSeconds ?? DEFAULT_TAG_TTL_SECONDS;
  const maxManifests = o.maxManifests ?? DEFAULT_MAX_MANIFESTS;
  assertArg(Number.isFinite(refresh) && refresh >= 0, 'trustRefreshSeconds', 'a non-negative number of seconds', refresh);
  assertArg(Number.isFinite(tagTtl) && tagTtl >= 0, 'tagTtlSeconds', 'a non-negative number of seconds', tagTtl);
  assertArg(Number.isSafeInteger(maxManifests) && maxManifests > 0, 'maxManifests', 'a positive integer', maxManifests);
  const clock = o.clock ?? systemClock;
  const cache = new VerificationCache<VerifyResultLike>({ ...(o.cache ?? {}), clock });
  const stats: AdmissionVerifierStats = { cache: cache.stats, tagHits: 0, tagMisses: 0, manifestHits: 0, trustRefreshes: 0 };
  const shared =
    o.registry ??
    new HttpRegistryClient({
      userAgent: 'ocitrust-admission',
      ...(o.plainHttp !== undefined ? { plainHttp: o.plainHttp } : {}),
      ...(o.limits ? { limits: o.limits } : {}),
    });
  const registry = new ManifestMemo(shared, maxManifests, tagTtl * 1000, clock, stats);
  const pool = new TrustPool(o, stats);

  const verifyImage: AdmissionVerifyImage = async (ref, options) => {
    let trust: TrustState;
    try {
      trust = await pool.get(options);
    } catch (e) {
      // No collection for the repository is "not signed" (a denial with its own code), not an outage.
      throw prefixed(asNotSigned(e), `trust data of collection ${options.collection}`);
    }
    const digest = ref.digest ?? (await registry.resolveTag(ref));
    const key = verificationCacheKey({
      repository: ref.repository,
      digest,
      ...(options.verify.bindTag && ref.tag !== undefined ? { tag: ref.tag } : {}),
      rule: options.rule,
      policyRevision: options.policyRevision,
      trustVersion: trust.version,
    });
    // The verifier gets the reference pinned to the digest the key names (tag kept for tag
    // binding), and the exact trust state the key names: what is cached is what was checked.
    const pinned = ref.digest ? ref : parseReference(`${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ''}@${digest}`);
    return cache.run(
      key,
      async () => {
        const r = await verifyReference({
          reference: pinned,
          registry,
          trust: trust.result.trusted,
          policy: options.verify,
          clock,
          // Webhooks declare sideEffects: None; they never write to a registry.
          repairIndex: false,
          ...(o.platform ? { platform: o.platform } : {}),
        });
        return { verified: r.verified, digest: r.digest || digest, failures: r.failures.map((f) => ({ code: f.code, message: f.message })) };
      },
      (v) => v.verified,
    );
  };

  return {
    verifyImage,
    stats,
    clear(opts = {}) {
      cache.clear();
      registry.clear();
      if (opts.trust !== false) pool.clear();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Mounting on the trust server.

/** The `admission` option of buildApp: serve `/admission/validate` and `/admission/mutate`. */
export interface AdmissionServerOptions extends Omit<AdmissionVerifierOptions, 'localTrust' | 'log' | 'clock'> {
  /** The policy, a path to the policy file, or a getter (hot reload). */
  readonly policy: Policy | string | (() => Policy);
  /** The webhook configurations' timeoutSeconds (1-30, default 10); the deadline is 80 % of it. */
  readonly timeoutSeconds?: number;
  /** Explicit deadline in ms (below the timeout). */
  readonly deadlineMs?: number;
  /** Namespace labels, needed when the policy selects rules by label (default: the Kubernetes API, in a cluster). */
  readonly namespaceLabels?: NamespaceLabelsFn;
  /** Called after each review, after the metrics are counted. */
  readonly onOutcome?: (outcome: AdmissionOutcome, action: AdmissionAction) => void;
  /** Receives the verifier once built (tests and benchmarks read its stats). */
  readonly onVerifier?: (v: AdmissionVerifier) => void;
  /** With a policy path: how often the file is polled for edits (ms, default 2000). */
  readonly policyReloadIntervalMs?: number;
  /** With a policy path: receives the watcher (tests reload on demand). */
  readonly onPolicyWatch?: (w: WatchedPolicy) => void;
}

/** Rule settings that verify (not `skip`) and have no trust source when the webhook has no local one. */
function rulesWithoutSource(policy: Policy): string[] {
  const d: RuleSettings = policy.defaults;
  return policy.rules.filter((r) => (r.mode ?? d.mode ?? 'enforce') !== 'skip' && (r.server ?? d.server) === undefined).map((r) => r.name);
}

/**
 * Registers the admission webhooks on a trust server: loads the policy (a path is read now, so a
 * broken policy stops the server from starting), builds the verifier over the server's own trust
 * data and counts outcomes in `ocitrust_verify_outcomes_total{source="hook"}`.
 *
 * @throws OcitrustError POLICY_FILE_* for an unusable policy file; SERVER_CONFIG_INVALID when the
 *   policy selects namespaces by label and no label source is given, or when a rule has no trust
 *   source; INVALID_ARGUMENT for bad option values
 */
export async function mountAdmission(
  app: FastifyInstance,
  ctx: { readonly trust?: LocalTrust; readonly metrics?: Pick<ServerMetrics, 'verifyOutcome'> & Partial<Pick<ServerMetrics, 'trustFreshness'>>; readonly webhooks?: Pick<WebhookEvents, 'emit'> },
  o: AdmissionServerOptions,
  clock: Clock = systemClock,
): Promise<AdmissionVerifier> {
  let policy: Policy | (() => Policy) = typeof o.policy === 'string' ? await loadPolicyFile(o.policy) : o.policy;
  const current = typeof policy === 'function' ? policy() : policy;
  // Label-selected rules need the namespace's labels: in a cluster, from the API server.
  const namespaceLabels = o.namespaceLabels ?? (current.usesNamespaceLabels ? await inClusterNamespaceLabels() : undefined);
  if (current.usesNamespaceLabels && !namespaceLabels) {
    throw new OcitrustError(
      'SERVER_CONFIG_INVALID',
      'the admission policy selects namespaces by label, but the server has no source of namespace labels (it reads them from the Kubernetes API when it runs in a cluster); select by namespace names instead',
    );
  }
  if (!ctx.trust) {
    const missing = rulesWithoutSource(current);
    if (missing.length > 0) {
      throw new OcitrustError('SERVER_CONFIG_INVALID', `admission policy rules ${missing.join(', ')} name no trust server; set \`server\` in them or in \`defaults\``);
    }
  }
  if (typeof o.policy === 'string') {
    // A policy file is followed: edits take effect without a restart once they load and pass
    // the same checks as at start-up; a broken edit keeps the last good policy (policy-reload.ts).
    const path = o.policy;
    const watched = watchPolicyFile(path, current, {
      ...(o.policyReloadIntervalMs !== undefined ? { intervalMs: o.policyReloadIntervalMs } : {}),
      check: (next) => {
        if (next.usesNamespaceLabels && !namespaceLabels) {
          throw new OcitrustError('SERVER_CONFIG_INVALID', 'the new policy selects namespaces by label, and this server has no source of namespace labels');
        }
        const missing = ctx.trust ? [] : rulesWithoutSource(next);
        if (missing.length > 0) throw new OcitrustError('SERVER_CONFIG_INVALID', `admission policy rules ${missing.join(', ')} name no trust server`);
      },
      onReload: (r) => {
        if (r.ok) app.log.info({ policy: path, revision: r.revision }, 'admission policy reloaded');
        else app.log.warn({ policy: path, code: isOcitrustError(r.error) ? r.error.code : 'INTERNAL', err: r.error instanceof Error ? r.error.message : String(r.error) }, 'admission policy not reloaded; the previous policy stays in force');
      },
    });
    app.addHook('onClose', async () => watched.stop());
    o.onPolicyWatch?.(watched);
    policy = watched.get;
  }
  const { policy: _p, timeoutSeconds, deadlineMs, namespaceLabels: _n, onOutcome, onVerifier, policyReloadIntervalMs: _r, onPolicyWatch: _w, ...verifierOpts } = o;
  const verifier = createAdmissionVerifier({
    ...verifierOpts,
    ...(ctx.trust ? { localTrust: ctx.trust } : {}),
    ...(ctx.metrics?.trustFreshness ? { freshness: ctx.metrics.trustFreshness } : {}),
    clock,
    log: { warn: (obj, msg) => app.log.warn(obj, msg), info: (obj, msg) => app.log.info(obj, msg) },
  });
  onVerifier?.(verifier);
  const metrics = ctx.metrics;
  const repeats = new RepeatFilter();
  await app.register(admissionRoutes, {
    policy,
    verifyImage: verifier.verifyImage,
    clock,
    ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
    ...(deadlineMs !== undefined ? { deadlineMs } : {}),
    ...(namespaceLabels ? { namespaceLabels } : {}),
    onOutcome: (outcome, action, review) => {
      // Only the validating webhook reports denials: a cluster calling both would report each twice.
      if (ctx.webhooks && action === 'validate' && !outcome.review.response.allowed) {
        for (const e of admissionDeniedEvents(outcome, review)) {
          if (!repeats.fresh(JSON.stringify([e.data.namespace, e.data.image, e.data.codes]))) continue;
          ctx.webhooks.emit(e).catch((err: unknown) => app.log.warn({ err }, 'admission: webhook event not written'));
        }
      }
      if (metrics) {
        for (const v of outcome.verdicts) {
          if (v.decision === 'skipped' || v.code === 'POLICY_FILE_NO_MATCH' || v.code === 'POLICY_FILE_TAG_DENIED') continue;
          if (v.decision === 'allowed' && v.digest === undefined) continue;
          metrics.verifyOutcome('hook', v.decision === 'allowed' ? 'verified' : isEnvironmentCode(v.code) ? 'error' : 'failed');
        }
      }
      onOutcome?.(outcome, action);
    },
  });
  return verifier;
}

/** True for codes meaning "could not decide" (exit 3): counted as errors, not failures. */
function isEnvironmentCode(code: string | undefined): boolean {
  if (code === undefined || !Object.prototype.hasOwnProperty.call(CATALOGUE, code)) return false;
  return CATALOGUE[code as ErrorCode].exit === 3;
}
