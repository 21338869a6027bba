/**
 * The pull decision of the verifying proxy and of the embedded registry's pull gate: a thin
 * translation of the gate's answer (lib/gate) into 200 / 403. The gate plans, anchors trust
 * (one first-use rule, one clock), caches verdicts and classifies outcomes; this file only
 * knows what is particular to a registry face:
 *
 * - without a policy file, a repository is enforced against the trust server's collection
 *   that covers it (its own, or the longest prefix collection); other repositories pass;
 * - artifacts (signature manifests) are served unverified: they are not runnable images;
 * - clients pull an index's children by digest right after it, so a verified index vouches
 *   for them (the gate's `indexVouchesForChildren`);
 * - a referrer pushed through the proxy, or the embedded registry's referrers, are part of
 *   the verdict-cache key, so a pull right after signing verifies again.
 */
import { OcitrustError } from '../../lib/errors/index.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import { DEFAULT_LIMITS, type Limits } from '../../lib/config.js';
import { isDigest } from '../../lib/crypto/hash.js';
import type { ImageReference } from '../../lib/reference.js';
import { parseServed, type FetchedManifest, type RegistryClient } from '../../lib/oci/client.js';
import { manifestMediaType, parseManifest } from '../../lib/oci/types.js';
import type { ImageRuleOptions, Policy } from '../../lib/policy/types.js';
import { planUnderPolicy } from '../../lib/usecases/policy-verify.js';
import type { VerifyFailure } from '../../lib/verify/result.js';
import { createGate, type Gate, type GateAnswer, type LocalTrustStore as GateTrustStore, type VerificationCacheOptions } from '../../lib/gate/index.js';
import { isCollectionName } from '../names.js';
import { classifyManifest } from './artifact.js';
import type { DecideContext, DecideFn, Decision } from './options.js';
import type { TrustFreshness } from '../trust-freshness.js';

/** The part of the trust server's TrustService that enforcement reads: the gate's store, plus "is there such a collection". */
export interface LocalTrustStore extends GateTrustStore {
  /** Versions of a collection, or null when there is no such collection. */
  info(name: string): Promise<{ readonly versions: { readonly root: number; readonly targets: number } } | null>;
}

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

const MAX_REASON = 900;

/** The failures as one line naming each failed check (code first), bounded for an HTTP error body. */
export function summarizeFailures(failures: readonly VerifyFailure[]): string {
  if (failures.length === 0) return 'not verified';
  const shown = failures.slice(0, 3).map((f) => `${f.code}: ${f.message}`);
  const more = failures.length > 3 ? ` (and ${failures.length - 3} more)` : '';
  const s = shown.join('; ') + more;
  return s.length > MAX_REASON ? `${s.slice(0, MAX_REASON)}…` : s;
}

/** Prefixes of a repository name at segment boundaries, longest first (`a/b/c`, `a/b`, `a`). */
export function collectionCandidates(repository: string): string[] {
  const segs = repository.split('/');
  const out: string[] = [];
  for (let n = segs.length; n >= 1; n--) out.push(segs.slice(0, n).join('/'));
  return out.filter(isCollectionName);
}

/**
 * A gate answer as a pull decision. A verdict names its failed checks; "could not decide" is
 * PROXY_VERIFY_UNAVAILABLE with the code of what failed; a `warn` answer is served and logged.
 */
export function decisionOf(a: GateAnswer, withPolicy: boolean): Decision {
  switch (a.decision) {
    case 'skip':
      return { allow: true, reason: `rule ${a.rule ?? ''} skips verification` };
    case 'allow':
      if (a.outcome === 'unchecked') return { allow: true, reason: withPolicy ? 'no policy rule matches (unmatched: allow)' : 'no trust collection covers the repository' };
      return { allow: true, reason: a.vouchedBy ? `listed by a verified index (${a.vouchedBy})` : `verified against ${a.collection ?? ''}` };
    case 'warn':
    case 'deny': {
      const d: Decision =
        a.outcome === 'inconclusive'
          ? { allow: false, code: 'PROXY_VERIFY_UNAVAILABLE', reason: `could not verify (${a.code}: ${a.error?.message ?? ''}); refusing` }
          : { allow: false, code: a.code ?? 'PROXY_PULL_DENIED', reason: summarizeFailures(a.result.failures) };
      return a.decision === 'warn' ? { ...d, allow: true, warning: true } : d;
    }
  }
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
  const lookupTtl = o.collectionLookupTtlMs ?? 1000;
  const known = new Map<string, { exists: boolean; at: number }>();
  // Bumped per image when a referrer of it is pushed; part of the verdict-cache key.
  const epochs = new Map<string, number>();
  const currentPolicy = (): Policy | undefined => (typeof o.policy === 'function' ? o.policy() : o.policy);

  async function exists(name: string): Promise<boolean> {
    const now = clock.now().getTime();
    const hit = known.get(name);
    if (hit && now - hit.at < lookupTtl) return hit.exists;
    const e = (await o.trust.info(name)) !== null;
    if (known.size > 10_000) known.clear();
    known.set(name, { exists: e, at: now });
    return e;
  }

  async function findCollection(repository: string): Promise<string | undefined> {
    for (const c of collectionCandidates(repository)) if (await exists(c)) return c;
    return undefined;
  }

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
    defaultRule: async (ref) => {
      const collection = await findCollection(ref.repository);
      return collection === undefined ? undefined : ({ rule: `collection ${collection}`, policyRevision: 'collections', collection, verify: {} } satisfies ImageRuleOptions);
    },
  });

  // Parsed manifests by digest and media type (the digest is computed from the bytes, so a hit
  // is the same bytes): a warm pull then costs map lookups.
  const parsed = new Map<string, FetchedManifest | 'artifact'>();
  function parse(ctx: DecideContext): FetchedManifest | 'artifact' {
    const k = `${ctx.digest} ${ctx.mediaType}`;
    let hit = parsed.get(k);
    if (hit === undefined) {
      const what = `manifest ${ctx.repository}@${ctx.digest}`;
      // The upstream served these bytes: junk is its bad response (could not verify), not a verdict on the image.
      const manifest = parseServed(what, 'a JSON image manifest or index', ctx.manifestBytes, () => parseManifest(ctx.manifestBytes, { contentType: ctx.mediaType, maxBytes: limits.maxManifestBytes, what }));
      hit = classifyManifest(manifest) === 'artifact' ? 'artifact' : { bytes: ctx.manifestBytes, digest: ctx.digest, size: ctx.manifestBytes.length, mediaType: manifestMediaType(manifest), manifest };
      if (parsed.size >= 1000) parsed.clear();
      parsed.set(k, hit);
    }
    return hit;
  }

  async function decide(ctx: DecideContext): Promise<Decision> {
    const byTag = !isDigest(ctx.reference);
    const ref: ImageReference = { registry: o.registryName, repository: ctx.repository, path: ctx.path, ...(byTag ? { tag: ctx.reference } : {}), digest: ctx.digest };
    let artifact = false;
    const answer = await gate.check(ref, {
      manifest: () => {
        const m = parse(ctx);
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
    if (!policy) return (await findCollection(repository)) ?? repository;
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
    known.delete(name);
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
