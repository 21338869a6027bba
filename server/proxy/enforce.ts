/**
 * The default pull decision of the proxy and of the embedded registry's pull gate.
 *
 * - Without a policy file: every repository that has a trust collection on this server (the
 *   repository's own, or the longest prefix collection) is enforced against that collection;
 *   every other repository passes.
 * - With a policy file (lib/policy): the rule for the repository decides (enforce, warn,
 *   skip, unmatched deny/allow, denied tags), with its collection, pinned root, trust server
 *   and verifier options.
 *
 * Verification is lib/usecases verifyReference (the same verifier as `trust verify` and the
 * admission webhooks), cached as in the admission hook: digest × rule × policy revision ×
 * trust-metadata version, single-flight. On a hit no registry round trip is made beyond the
 * manifest fetch the proxy does anyway; on a miss the manifest already fetched is reused.
 */
import { OcitrustError, isOcitrustError } from '../../lib/errors/index.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import { DEFAULT_LIMITS, type Limits } from '../../lib/config.js';
import { isDigest } from '../../lib/crypto/hash.js';
import type { ImageReference } from '../../lib/reference.js';
import { parseServed, type FetchedManifest, type RegistryClient } from '../../lib/oci/client.js';
import { isIndex, manifestMediaType, parseManifest, MANIFEST_MEDIA_TYPES, type Manifest, type Platform } from '../../lib/oci/types.js';
import type { ImageRuleOptions, Policy } from '../../lib/policy/types.js';
import { planUnderPolicy, ruleRootBytes } from '../../lib/usecases/policy-verify.js';
import { asNotSigned, verifyReference, type ReferenceVerification } from '../../lib/usecases/verify.js';
import type { VerifyFailure } from '../../lib/verify/result.js';
import { VerificationCache, verificationCacheKey, type CacheKeyParts, type VerificationCacheOptions } from '../../lib/gate/index.js';
import { isCollectionName } from '../names.js';
import { classifyManifest } from './artifact.js';
import { primeManifests } from './clients.js';
import type { DecideContext, DecideFn, Decision } from './options.js';
import { TrustHandles, type LocalTrustStore, type TrustHandle } from './trust.js';
import type { TrustFreshness } from '../trust-freshness.js';

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
  /** A shared verification cache; default: a new one with `cacheOptions`. */
  readonly cache?: VerificationCache<ReferenceVerification>;
  readonly cacheOptions?: VerificationCacheOptions;
  readonly clock?: Clock;
  readonly limits?: Limits;
  /** How long "is there a collection for this repository" answers are reused (ms, default 1000). */
  readonly collectionLookupTtlMs?: number;
  /** How often a remote trust server named by a rule is refreshed (ms, default 30 000). */
  readonly remoteRefreshMs?: number;
  /** Where the staleness of remote trust data is reported (the trust server's metrics and `/readyz`). */
  readonly freshness?: TrustFreshness;
  /**
   * How long a local collection's metadata versions are reused (ms, default 1000). Call
   * {@link Enforcer.invalidate} when the collection is published to (the trust server's
   * TRUST_CHANNEL), so a removed signer is noticed at once.
   */
  readonly trustVersionTtlMs?: number;
  /** Injected fetch for remote trust servers (tests). */
  readonly fetch?: typeof fetch;
  /** Platform for rules with `multiArch: platform` (default linux/amd64). */
  readonly platform?: Platform;
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
  /**
   * A referrer of `subjectDigest` was pushed (a new signature): verdicts cached for that
   * image are not reused, so a pull right after signing verifies again.
   */
  noteReferrer(repository: string, subjectDigest: string): void;
  /** Collection `name` changed (a publish): its versions and existence are read again. */
  invalidate(name: string): void;
  readonly cache: VerificationCache<ReferenceVerification>;
  /** Verifications actually run (cache misses that verified). */
  readonly stats: { verifications: number };
}

type Plan =
  | { readonly kind: 'pass'; readonly reason: string }
  | { readonly kind: 'deny'; readonly code: string; readonly reason: string }
  | { readonly kind: 'verify'; readonly options: ImageRuleOptions; readonly mode: 'enforce' | 'warn'; readonly handle: TrustHandle };

/** Codes meaning "there is nothing that could verify": a verdict, not an outage. */
const VERDICT_CODES = new Set(['NOT_SIGNED', 'COLLECTION_NOT_FOUND', 'METADATA_NOT_FOUND', 'MANIFEST_INVALID', 'MANIFEST_UNSUPPORTED', 'MANIFEST_DIGEST_MISMATCH', 'REFERENCE_INVALID']);

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
 * Builds the default pull decision.
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
  // A refusal is kept briefly (2 s): long enough to absorb a client's retries, short enough
  // that an image signed right after a refused pull is served on the next try.
  const cache = o.cache ?? new VerificationCache<ReferenceVerification>({ negativeTtlMs: 2000, ...(o.cacheOptions ?? {}), clock: o.cacheOptions?.clock ?? clock });
  const handles = new TrustHandles({
    store: o.trust,
    clock,
    limits,
    ...(o.remoteRefreshMs !== undefined ? { remoteRefreshMs: o.remoteRefreshMs } : {}),
    ...(o.trustVersionTtlMs !== undefined ? { versionTtlMs: o.trustVersionTtlMs } : {}),
    ...(o.fetch ? { fetch: o.fetch } : {}),
    ...(o.freshness ? { freshness: o.freshness } : {}),
  });
  const lookupTtl = o.collectionLookupTtlMs ?? 1000;
  const known = new Map<string, { exists: boolean; at: number }>();
  const stats = { verifications: 0 };
  const approved = new Map<string, number>();
  const approvalTtl = o.cacheOptions?.ttlMs ?? 5 * 60_000;
  // Bumped per image when a referrer of it is pushed; part of the cache key.
  const epochs = new Map<string, number>();
  const epochOf = (repository: string, digest: string): number => epochs.get(`${repository}@${digest}`) ?? 0;
  const currentPolicy = (): Policy | undefined => (typeof o.policy === 'function' ? o.policy() : o.policy);
  // Per-pull work that depends only on its input, kept: a warm pull then costs map lookups.
  // Parsed manifests by digest and served media type (the digest is computed from the bytes,
  // so a hit is the same bytes), and the candidate collection names of a repository.
  const parsed = new Map<string, { readonly manifest: Manifest; readonly kind: 'image' | 'index' | 'artifact' }>();
  const candidatesOf = new Map<string, readonly string[]>();
  // Cache keys (a SHA-256 over canonical JSON) by their parts: the same image pulled again
  // costs a JSON.stringify instead.
  const keys = new Map<string, string>();
  function cacheKey(p: CacheKeyParts): string {
    const k = JSON.stringify([p.repository, p.digest, p.tag ?? null, p.rule, p.policyRevision, p.trustVersion]);
    let v = keys.get(k);
    if (v === undefined) {
      v = verificationCacheKey(p);
      if (keys.size >= 10_000) keys.clear();
      keys.set(k, v);
    }
    return v;
  }

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
    let candidates = candidatesOf.get(repository);
    if (candidates === undefined) {
      candidates = collectionCandidates(repository);
      if (candidatesOf.size >= 10_000) candidatesOf.clear();
      candidatesOf.set(repository, candidates);
    }
    for (const c of candidates) if (await exists(c)) return c;
    return undefined;
  }

  /** The manifest parsed and classified, once per digest and media type. */
  function parse(ctx: DecideContext): { readonly manifest: Manifest; readonly kind: 'image' | 'index' | 'artifact' } {
    const k = `${ctx.digest} ${ctx.mediaType}`;
    let hit = parsed.get(k);
    if (hit === undefined) {
      const what = `manifest ${ctx.repository}@${ctx.digest}`;
      // The upstream served these bytes: junk is its bad response (could not verify), not a verdict on the image.
      const manifest = parseServed(what, 'a JSON image manifest or index', ctx.manifestBytes, () => parseManifest(ctx.manifestBytes, { contentType: ctx.mediaType, maxBytes: limits.maxManifestBytes, what }));
      hit = { manifest, kind: classifyManifest(manifest) };
      if (parsed.size >= 1000) parsed.clear();
      parsed.set(k, hit);
    }
    return hit;
  }

  function defaultOptions(collection: string): ImageRuleOptions {
    return { rule: `collection ${collection}`, policyRevision: 'collections', collection, verify: {} };
  }

  async function plan(ref: ImageReference): Promise<Plan> {
    const policy = currentPolicy();
    if (!policy) {
      const collection = await findCollection(ref.repository);
      if (collection === undefined) return { kind: 'pass', reason: 'no trust collection covers the repository' };
      return { kind: 'verify', options: defaultOptions(collection), mode: 'enforce', handle: handles.get({ collection }) };
    }
    const p = planUnderPolicy(policy, ref);
    switch (p.kind) {
      case 'allow-unmatched':
        return { kind: 'pass', reason: 'no policy rule matches (unmatched: allow)' };
      case 'skip':
        return { kind: 'pass', reason: `rule ${p.rule} skips verification` };
      case 'deny': {
        const f = p.result.failures[0];
        return { kind: 'deny', code: f?.code ?? 'PROXY_PULL_DENIED', reason: summarizeFailures(p.result.failures) };
      }
      case 'verify': {
        const root = ruleRootBytes(p.options);
        const handle = handles.get({ collection: p.options.collection, ...(root ? { root } : {}), ...(p.options.server !== undefined ? { server: p.options.server } : {}) });
        return { kind: 'verify', options: p.options, mode: p.mode, handle };
      }
    }
  }

  function fromError(e: unknown, mode: 'enforce' | 'warn'): Decision {
    const code = isOcitrustError(e) ? e.code : 'INTERNAL';
    const message = isOcitrustError(e) ? e.message : 'internal error';
    const verdict = VERDICT_CODES.has(code);
    const reason = verdict ? `${code}: ${message}` : `could not verify (${code}: ${message}); refusing`;
    const decision: Decision = { allow: false, code: verdict ? code : 'PROXY_VERIFY_UNAVAILABLE', reason };
    return mode === 'warn' ? { ...decision, allow: true, warning: true } : decision;
  }

  /**
   * An index that verified vouches for the manifests it lists (its digest commits to theirs):
   * clients pull them next, by digest. Approvals expire with the positive TTL and are keyed by
   * rule, policy revision and metadata version like verdicts.
   */
  function approveChildren(index: Manifest, parts: { repository: string; rule: string; policyRevision: string; trustVersion: string }): void {
    if (!isIndex(index)) return;
    const until = clock.now().getTime() + approvalTtl;
    for (const d of index.manifests) {
      if (!MANIFEST_MEDIA_TYPES.includes(d.mediaType)) continue;
      if (approved.size >= 100_000) approved.clear();
      approved.set(verificationCacheKey({ ...parts, digest: d.digest }), until);
    }
  }

  function isApproved(key: string): boolean {
    const until = approved.get(key);
    if (until === undefined) return false;
    if (until > clock.now().getTime()) return true;
    approved.delete(key);
    return false;
  }

  async function decide(ctx: DecideContext): Promise<Decision> {
    const byTag = !isDigest(ctx.reference);
    const ref: ImageReference = {
      registry: o.registryName,
      repository: ctx.repository,
      path: ctx.path,
      ...(byTag ? { tag: ctx.reference } : {}),
      digest: ctx.digest,
    };
    let p: Plan;
    try {
      p = await plan(ref);
    } catch (e) {
      // A rule that cannot be applied (no pinned root for a remote server, an unloaded root
      // file) or a lookup that failed: nothing verified, so nothing is served.
      return fromError(e, 'enforce');
    }
    if (p.kind === 'pass') return { allow: true, reason: p.reason };
    if (p.kind === 'deny') return { allow: false, code: p.code, reason: p.reason };

    let manifest: Manifest;
    try {
      const m = parse(ctx);
      if (m.kind === 'artifact') return { allow: true, reason: 'artifact, not a runnable image' };
      manifest = m.manifest;
    } catch (e) {
      return fromError(e, p.mode);
    }

    let trustVersion: string;
    try {
      trustVersion = await p.handle.version();
    } catch (e) {
      // No collection for the repository: "not signed", a verdict (lib/usecases/verify.ts).
      return fromError(asNotSigned(e), p.mode);
    }
    const parts = { repository: ctx.repository, rule: p.options.rule, policyRevision: p.options.policyRevision, trustVersion };
    if (approved.size > 0 && isApproved(cacheKey({ ...parts, digest: ctx.digest }))) return { allow: true, reason: 'listed by a verified index' };
    let referrers = '';
    try {
      referrers = o.referrersVersion ? await o.referrersVersion(ctx.path, ctx.digest) : '';
    } catch (e) {
      return fromError(e, p.mode);
    }
    const key = cacheKey({
      ...parts,
      trustVersion: `${trustVersion}|${epochOf(ctx.repository, ctx.digest)}|${referrers}`,
      digest: ctx.digest,
      ...(p.options.verify.bindTag && byTag ? { tag: ctx.reference } : {}),
    });
    const fetched: FetchedManifest = { bytes: ctx.manifestBytes, digest: ctx.digest, size: ctx.manifestBytes.length, mediaType: manifestMediaType(manifest), manifest };
    let result: ReferenceVerification;
    try {
      result = await cache.run(
        key,
        async () => {
          stats.verifications++;
          return verifyReference({
            reference: ref,
            // The bytes just fetched and hashed stand in for a second manifest GET.
            registry: primeManifests(o.registry, [fetched]),
            trust: p.handle,
            policy: p.options.verify,
            clock,
            // Enforcement reads; it never writes to the registry.
            repairIndex: false,
            ...(o.platform ? { platform: o.platform } : {}),
          });
        },
        (r) => r.verified,
      );
    } catch (e) {
      return fromError(e, p.mode);
    }
    if (result.verified) {
      approveChildren(manifest, parts);
      return { allow: true, reason: `verified against ${p.options.collection}` };
    }
    const decision: Decision = { allow: false, code: result.failures[0]?.code ?? 'PROXY_PULL_DENIED', reason: summarizeFailures(result.failures) };
    return p.mode === 'warn' ? { ...decision, allow: true, warning: true } : decision;
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
    handles.invalidate(name);
    known.delete(name);
  }

  return { decide, collectionFor, noteReferrer, invalidate, cache, stats };
}
