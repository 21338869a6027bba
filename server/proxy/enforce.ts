/**
 * The pull decision of the verifying proxy and of the embedded registry's pull gate: the gate's
 * answer (lib/gate) as 200 / 403. The gate plans, anchors trust, caches and classifies; here is
 * only what is particular to a registry: without a policy file the trust server's covering
 * collection is the rule (collections.ts), artifacts are served unverified (artifact.ts), a
 * verified index vouches for its children, and referrers pushed are verdict-cache key material.
 */
import { OcitrustError } from '../../lib/errors/index.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import { DEFAULT_LIMITS, type Limits } from '../../lib/config.js';
import { isDigest } from '../../lib/crypto/hash.js';
import type { ImageReference } from '../../lib/reference.js';
import type { RegistryClient } from '../../lib/oci/client.js';
import type { Policy } from '../../lib/policy/types.js';
import { planUnderPolicy } from '../../lib/usecases/policy-verify.js';
import { createGate, type Gate, type VerificationCacheOptions } from '../../lib/gate/index.js';
import { CollectionFinder, type LocalTrustStore } from './collections.js';
import { decisionOf } from './decision.js';
import { ServedManifests } from './artifact.js';
import type { DecideContext, DecideFn, Decision } from './options.js';
import type { TrustFreshness } from '../trust-freshness.js';

export { collectionCandidates, type LocalTrustStore } from './collections.js';
export { decisionOf, summarizeFailures } from './decision.js';

/** Options of {@link createEnforcer}. */
export interface EnforcerOptions {
  /** The trust server's store (TrustService). */
  readonly trust: LocalTrustStore;
  /** Where signatures are read: the upstream (proxy) or the embedded registry's store. */
  readonly registry: RegistryClient;
  /** Registry host in the names trust data uses (`registry.example.com`). */
  readonly registryName: string;
  /** The policy file, or a getter for hot reload. Default: enforce repositories that have a collection. */
  readonly policy?: Policy | (() => Policy);
  /** Verdict cache options (a refusal is kept 2 s by default). */
  readonly cacheOptions?: Omit<VerificationCacheOptions, 'clock'>;
  readonly clock?: Clock;
  readonly limits?: Limits;
  /** How long "is there a collection for this repository" answers are reused (ms, default 1000). */
  readonly collectionLookupTtlMs?: number;
  /** How often trust data is refreshed (seconds, default 30); a publish to a local collection ({@link Enforcer.invalidate}) counts at once. */
  readonly trustRefreshSeconds?: number;
  /** Where the staleness of trust data is reported (the trust server's metrics and `/readyz`). */
  readonly freshness?: TrustFreshness;
  /** Injected fetch for remote trust servers (tests). */
  readonly fetch?: typeof fetch;
  /**
   * Extra cache-key material for an image, when it is cheap to learn (the embedded registry:
   * its referrers, from its own database). A new signature then changes the key, and a
   * refusal cached a moment before signing is not reused.
   */
  readonly referrersVersion?: (path: string, digest: string) => Promise<string>;
}

/** What the enforcer exposes. */
export interface Enforcer {
  readonly decide: DecideFn;
  /**
   * The collection whose publishers may read unverified manifests of `repository` (the
   * push-then-sign bypass): the rule's or the found collection, else the repository itself.
   */
  collectionFor(repository: string): Promise<string>;
  /** A referrer of `subjectDigest` was pushed (a new signature): verdicts cached for that image are not reused. */
  noteReferrer(repository: string, subjectDigest: string): void;
  /** Collection `name` changed (a publish): its existence and trust data are read again. */
  invalidate(name: string): void;
  /** The gate every decision goes through. */
  readonly gate: Gate;
  /** Verifications actually run (verdict-cache misses). */
  readonly stats: { readonly verifications: number };
}

/**
 * Builds the pull decision.
 *
 * @example
 * const e = createEnforcer({ trust: app.ocitrust.trust, registry: upstreamClient, registryName: 'registry.example.com' });
 * await app.register(proxyPlugin, { upstream, decide: e.decide });
 * @throws OcitrustError INVALID_ARGUMENT for missing options
 */
export function createEnforcer(o: EnforcerOptions): Enforcer {
  if (!o || typeof o.trust?.info !== 'function' || typeof o.registry?.getManifest !== 'function' || typeof o.registryName !== 'string') {
    throw new OcitrustError('INVALID_ARGUMENT', 'enforcer: expected { trust, registry, registryName }');
  }
  const clock = o.clock ?? systemClock;
  const limits = o.limits ?? DEFAULT_LIMITS;
  const collections = new CollectionFinder(o.trust, clock, o.collectionLookupTtlMs ?? 1000);
  // Bumped per image when a referrer of it is pushed; part of the verdict-cache key.
  const epochs = new Map<string, number>();
  const currentPolicy = (): Policy | undefined => (typeof o.policy === 'function' ? o.policy() : o.policy);

  const gate = createGate({
    registry: o.registry,
    ...(o.policy ? { policy: o.policy } : {}),
    localTrust: o.trust,
    face: 'proxy',
    clock,
    limits,
    // A refusal is kept briefly (2 s): long enough to absorb a client's retries, short enough
    // that an image signed right after a refused pull is served on the next try.
    cache: { negativeTtlMs: 2000, ...(o.cacheOptions ?? {}) },
    // The proxy is handed the manifest it fetched; tags are never resolved twice.
    tagTtlSeconds: 0,
    indexVouchesForChildren: true,
    ...(o.trustRefreshSeconds !== undefined ? { refreshSeconds: o.trustRefreshSeconds } : {}),
    ...(o.freshness ? { freshness: o.freshness } : {}),
    ...(o.fetch ? { fetch: o.fetch } : {}),
    defaultRule: (ref) => collections.rule(ref.repository),
  });

  const served = new ServedManifests(limits.maxManifestBytes);

  async function decide(ctx: DecideContext): Promise<Decision> {
    const byTag = !isDigest(ctx.reference);
    const ref: ImageReference = { registry: o.registryName, repository: ctx.repository, path: ctx.path, ...(byTag ? { tag: ctx.reference } : {}), digest: ctx.digest };
    let artifact = false;
    const answer = await gate.check(ref, {
      manifest: () => {
        const m = served.get(ctx);
        artifact = m === 'artifact';
        return m;
      },
      keyExtra: async () => `${epochs.get(`${ctx.repository}@${ctx.digest}`) ?? 0}|${o.referrersVersion ? await o.referrersVersion(ctx.path, ctx.digest) : ''}`,
    });
    if (artifact && answer.decision === 'allow') return { allow: true, reason: 'artifact, not a runnable image' };
    return decisionOf(answer, currentPolicy() !== undefined);
  }

  async function collectionFor(repository: string): Promise<string> {
    const policy = currentPolicy();
    if (!policy) return (await collections.find(repository)) ?? repository;
    const p = planUnderPolicy(policy, { registry: o.registryName, repository, path: repository.slice(o.registryName.length + 1), tag: 'latest' });
    return p.kind === 'verify' ? p.options.collection : repository;
  }

  function noteReferrer(repository: string, subjectDigest: string): void {
    const k = `${repository}@${subjectDigest}`;
    if (epochs.size >= 100_000 && !epochs.has(k)) epochs.clear();
    epochs.set(k, (epochs.get(k) ?? 0) + 1);
  }

  function invalidate(name: string): void {
    gate.invalidate(name);
    collections.forget(name);
  }

  return {
    decide,
    collectionFor,
    noteReferrer,
    invalidate,
    gate,
    get stats() {
      return { verifications: gate.stats.cache.misses };
    },
  };
}
