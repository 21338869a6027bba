/**
 * The gate (issue 13): the one decision engine every face translates. `check` plans the image
 * under the policy (skip, unmatched, denied tag: no I/O), takes the rule's trust from the trust
 * pool (or the caller's trust provider), resolves the tag once through the manifest memo,
 * verifies once per (digest, repository, tag when bound, rule, policy revision, trust version)
 * through the verdict cache, and classifies the outcome from the error catalogue.
 *
 * The CLI, `verify-manifests`, the admission webhooks and the proxy turn a {@link GateAnswer}
 * into their own shape (an exit code, an AdmissionReview, 200/403); none decides by itself.
 */
import { OcitrustError, assertArg, isOcitrustError, toOcitrustError } from '../errors/index.js';
import { assertClock, readClock, systemClock, type Clock } from '../clock.js';
import { formatReference, parseReference, withDigest, type ImageReference } from '../reference.js';
import type { FetchedManifest, RegistryClient } from '../oci/client.js';
import { MANIFEST_MEDIA_TYPES, isIndex } from '../oci/types.js';
import type { Platform } from '../oci/types.js';
import type { ImageRuleOptions, Policy } from '../policy/types.js';
import { failure } from '../verify/result.js';
import { PreparedEnvelopes, type PreparedStats } from '../verify/prepared.js';
import { planUnderPolicy } from '../usecases/policy-verify.js';
import { asNotSigned, verifyReference, type ReferenceVerification, type TrustSource } from '../usecases/verify.js';
import { ManifestMemo, type MemoStats } from './manifest-memo.js';
import { TrustPool, type GateLog, type TrustPoolOptions, type TrustState } from './trust-pool.js';
import { VerificationCache, verificationCacheKey, type CacheKeyParts, type CacheStats, type VerificationCacheOptions } from './verdict-cache.js';
import { outcomeOfCode, type GateOutcome } from './outcome.js';
import { SCHEMES, combineRequirements, schemeFor, type RequirementOutcome, type SchemeEnv, type SignatureScheme } from '../schemes/index.js';

/**
 * Trust for one rule supplied by the caller instead of the gate's pool: the CLI's per-home
 * trust (first use persisted as a pin, `--offline`). Such checks are not cached by the gate
 * (there is no trust version to key them by).
 */
export type TrustProvider = (options: ImageRuleOptions) => TrustSource;

/** Options of {@link createGate}. */
export interface GateOptions extends Omit<TrustPoolOptions, 'clock' | 'log' | 'onRefresh'> {
  /** The registry client shared by every check. */
  readonly registry: RegistryClient;
  /** The policy, or a getter (hot reload). Without one, `check` needs `ctx.rule`. */
  readonly policy?: Policy | (() => Policy);
  /** Trust from the caller (CLI) instead of the gate's trust pool. */
  readonly trust?: TrustProvider;
  /** How long a tag's digest is reused (seconds, default 30; 0 resolves every time). */
  readonly tagTtlSeconds?: number;
  /** Most manifests and tags kept (default 1024). */
  readonly maxManifests?: number;
  /** Verdict cache (defaults 10 000 entries, 5 min, 10 s negative), or false for none. */
  readonly cache?: Omit<VerificationCacheOptions, 'clock'> | false;
  /** The platform deployed, for `multiArch: platform` (default linux/amd64). */
  readonly platform?: Platform;
  /** Write signatures found only by tag back into a fallback index (default false: a gate decides, it does not write). */
  readonly repairIndex?: boolean;
  readonly clock?: Clock;
  readonly log?: GateLog;
  /** What signature schemes (Notary v1, cosign, Notation) get from this process: trust home, offline. */
  readonly schemeEnv?: SchemeEnv;
  /** The schemes rules may name (default: every scheme, lib/schemes; tests pass their own). */
  readonly schemes?: readonly SignatureScheme[];
  /**
   * Without a policy: the rule for an image, or undefined to let it pass unchecked (the
   * verifying proxy and the embedded registry enforce the trust server's own collections).
   */
  readonly defaultRule?: (ref: ImageReference) => Promise<ImageRuleOptions | undefined>;
  /**
   * A verified index vouches for the manifests it lists (its digest commits to theirs): a later
   * check of one of them by digest, under the same rule, policy revision and trust version, is
   * allowed without verifying it again, until the positive TTL ends. For the verifying proxy,
   * whose clients pull an index's children by digest right after it. Default false.
   */
  readonly indexVouchesForChildren?: boolean;
}

/** Where and how an image is checked. */
export interface CheckContext {
  readonly namespace?: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** The platform deployed (overrides the gate's). */
  readonly platform?: Platform;
  /** Verify under these rule options instead of planning under the policy (CLI flags). */
  readonly rule?: ImageRuleOptions;
  /**
   * The manifest the caller already fetched and hashed (the proxy), read once planning wants
   * it: used instead of a second GET (its digest must be the one `reference` pins), or
   * `'artifact'` for a manifest that is no runnable image (a signature), which is planned like
   * any image but allowed unchecked. What it throws is classified like any error of the check.
   */
  readonly manifest?: () => FetchedManifest | 'artifact';
  /**
   * Extra verdict-cache key material that changes when the image's signatures may have changed
   * (the embedded registry's referrers, a referrer pushed through the proxy); asked after planning.
   */
  readonly keyExtra?: () => string | Promise<string>;
}

/** How the policy bore on an image. */
export type GateMode = 'enforce' | 'warn' | 'skip' | 'unmatched-allow' | 'deny';

/** What the gate decided for one image. */
export interface GateAnswer {
  /** allow (verified, or allowed unmatched), deny, warn (not verified under a warn rule), skip. */
  readonly decision: 'allow' | 'deny' | 'warn' | 'skip';
  /** verified, failed (a verdict), inconclusive (could not decide), or unchecked (skip, unmatched allow). */
  readonly outcome: GateOutcome | 'unchecked';
  /** The manifest digest checked ('' when none was resolved). */
  readonly digest: string;
  /** The rule that applied, and the policy's mode for the image. */
  readonly rule?: string;
  /** The trust collection the image was checked against. */
  readonly collection?: string;
  readonly mode: GateMode;
  /** The code that explains a failed or inconclusive outcome. */
  readonly code?: string;
  /** Set when the check ended in an error instead of a verifier's result (its code decides the outcome). */
  readonly error?: { readonly code: string; readonly message: string };
  /** The full verification result (failures carry every code). */
  readonly result: ReferenceVerification;
  /** Set when the image was allowed because a verified index listed it (`indexVouchesForChildren`). */
  readonly vouchedBy?: string;
}

/** Counters of a gate (metrics, tests, benchmarks). */
export interface GateStats extends MemoStats {
  readonly cache: CacheStats;
  /** TUF refreshes started. */
  trustRefreshes: number;
  /** Envelope work actually done (hashes, parses, DSSE verifications) over every prepared memo. */
  readonly envelopes: PreparedStats;
}

/** A long-lived gate; see {@link createGate}. */
export interface Gate {
  /** Decides one image; never throws for an OcitrustError (it becomes an inconclusive answer). */
  check(reference: string | ImageReference, ctx?: CheckContext): Promise<GateAnswer>;
  /**
   * Verifies one image under rule options already planned (the admission webhooks plan per
   * container themselves). Throws when the outcome cannot be decided.
   */
  verifyRule(ref: ImageReference, options: ImageRuleOptions, platform?: Platform): Promise<ReferenceVerification>;
  /** The trust pool (start-up anchor checks). */
  readonly trust: TrustPool;
  /** Collection `name` was published to: its trust data is read again on the next check. */
  invalidate(name: string): void;
  readonly stats: GateStats;
  /** Forgets verdicts, tags and manifests, and (unless `trust: false`) every trust state. */
  clear(opts?: { readonly trust?: boolean }): void;
}

/** A verification result, and the index that vouched for the image when one did. */
interface Verified {
  readonly result: ReferenceVerification;
  readonly vouchedBy?: string;
}

const DEFAULT_TAG_TTL_SECONDS = 30;
const MAX_APPROVALS = 100_000;
/** Prepared-envelope memos kept (one per trust version × rule; old versions age out). */
const MAX_PREPARED = 64;
const DEFAULT_MAX_MANIFESTS = 1024;

/** Marks a promise handled now (it is abandoned when the trust step fails) and returns it. */
function observed<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

function prefixed(e: unknown, what: string): unknown {
  if (!isOcitrustError(e)) return e;
  return new OcitrustError(e.code, `${what}: ${e.message}`, { cause: e, ...(e.details ? { details: { ...e.details } } : {}) });
}

/** The failure that explains a verdict best: a specific one before the summaries. */
export function mainFailure(failures: readonly { code: string; message: string }[]): { code: string; message: string } | undefined {
  return failures.find((f) => f.code !== 'NO_SIGNATURES' && f.code !== 'CHILD_NOT_VERIFIED') ?? failures[0];
}

/**
 * Builds a gate.
 *
 * @throws OcitrustError INVALID_ARGUMENT for bad option values
 * @example
 * const gate = createGate({ registry: new HttpRegistryClient(), policy: await loadPolicyFile('policy.yaml'), localTrust });
 * const a = await gate.check('registry.example.com/app:v1', { namespace: 'prod' });
 * if (a.decision === 'deny') console.error(a.code);
 */
export function createGate(o: GateOptions): Gate {
  assertArg(typeof o === 'object' && o !== null, 'options', 'GateOptions object', o);
  assertArg(typeof o.registry === 'object' && o.registry !== null, 'registry', 'RegistryClient', o.registry);
  if (o.clock !== undefined) {
    assertClock(o.clock, 'clock');
    readClock(o.clock, 'clock'); // an Invalid Date would switch every expiry check off
  }
  const tagTtl = o.tagTtlSeconds ?? DEFAULT_TAG_TTL_SECONDS;
  const maxManifests = o.maxManifests ?? DEFAULT_MAX_MANIFESTS;
  const refresh = o.refreshSeconds ?? 30;
  assertArg(Number.isFinite(refresh) && refresh >= 0, 'trustRefreshSeconds', 'a non-negative number of seconds', refresh);
  assertArg(Number.isFinite(tagTtl) && tagTtl >= 0, 'tagTtlSeconds', 'a non-negative number of seconds', tagTtl);
  assertArg(Number.isSafeInteger(maxManifests) && maxManifests > 0, 'maxManifests', 'a positive integer', maxManifests);
  const clock = o.clock ?? systemClock;
  const cache = o.cache === false ? undefined : new VerificationCache<ReferenceVerification>({ ...(o.cache ?? {}), clock });
  const stats: GateStats = { cache: cache?.stats ?? { hits: 0, misses: 0, joined: 0, evictions: 0 }, tagHits: 0, tagMisses: 0, manifestHits: 0, trustRefreshes: 0, get envelopes() {
    return envelopeStats();
  } };
  const registry = new ManifestMemo(o.registry, maxManifests, tagTtl * 1000, clock, stats);
  const { registry: _r, policy: _p, trust: _t, tagTtlSeconds: _tt, maxManifests: _m, cache: _c, platform: _pl, repairIndex: _ri, schemeEnv: _se, schemes: _s, defaultRule: _d, indexVouchesForChildren: _iv, ...poolOpts } = o;
  const schemes = o.schemes ?? SCHEMES;
  const pool = new TrustPool({ ...poolOpts, clock, ...(o.log ? { log: o.log } : {}), onRefresh: () => stats.trustRefreshes++ });
  const policyNow = (): Policy | undefined => (typeof o.policy === 'function' ? o.policy() : o.policy);
  const approvals = new Map<string, { readonly until: number; readonly index: string }>();
  const preparedByRule = new Map<string, PreparedEnvelopes>();
  const approvalTtl = o.cache === false ? 0 : (o.cache?.ttlMs ?? 5 * 60_000);

  /**
   * A rule that names other signature schemes: each requirement (ocitrust's own, each scheme)
   * is verified against the same digest and combined by the rule's `require:`. A requirement
   * that could not be decided only matters when the rule is not met without it: then the
   * answer is "could not decide" (its error), never a verdict.
   */
  async function verifyRequirements(ref: ImageReference, options: ImageRuleOptions, platform: Platform | undefined): Promise<ReferenceVerification> {
    const digest = ref.digest ?? (await registry.resolveTag(ref));
    const pinned = ref.digest ? ref : withDigest(ref, digest);
    const parts: RequirementOutcome[] = [];
    const undecided: OcitrustError[] = [];
    let base: ReferenceVerification | undefined;
    const settle = async (name: string, run: () => Promise<Omit<RequirementOutcome, 'name'>>): Promise<void> => {
      try {
        parts.push({ name, ...(await run()) });
      } catch (e) {
        if (!isOcitrustError(e)) throw e;
        const err = toOcitrustError(e);
        if (outcomeOfCode(err.code) === 'failed') parts.push({ name, verified: false, signatures: [], failures: [failure(err.code, `${name}: ${err.message}`)] });
        else {
          // Counted as not met (so that `all` still needs it), and remembered as undecided.
          undecided.push(err);
          parts.push({ name, verified: false, signatures: [], failures: [failure(err.code, `${name}: ${err.message}`)] });
        }
      }
    };
    if (options.ocitrust !== false) {
      await settle('ocitrust', async () => {
        const own = (await verifyOcitrust(pinned, options, platform)).result;
        base = own;
        return own;
      });
    }
    for (const [key, config] of Object.entries(options.schemes ?? {})) {
      const scheme = schemeFor(key, schemes);
      if (!scheme) throw new OcitrustError('INVALID_ARGUMENT', `rule ${options.rule}: expected a known signature scheme (${schemes.map((x) => x.key).join(', ') || 'none'}), got '${key}'`);
      // Other formats sign the index (`cosign sign`, `notation sign`, docker trust on a tag), and a
      // client pulling it then asks for its children by digest: a requirement this gate saw met
      // by the index vouches for them, as ocitrust's own does (indexVouchesForChildren).
      const schemeParts = { repository: ref.repository, digest, rule: options.rule, policyRevision: options.policyRevision, trustVersion: `scheme:${key}` };
      if (approvals.size > 0 && vouched(verificationCacheKey(schemeParts)) !== undefined) {
        parts.push({ name: key, verified: true, signatures: [], failures: [] });
        continue;
      }
      await settle(key, () => scheme.verify(config, { reference: pinned, digest, registry, clock, env: o.schemeEnv ?? {} }));
      if (o.indexVouchesForChildren && parts.at(-1)?.verified) await approveIndexChildren(pinned, digest, schemeParts);
    }
    const combined = combineRequirements(options.require ?? 'all', parts);
    if (!combined.verified && undecided.length > 0) throw undecided[0]!;
    return Object.freeze({
      ...(base ?? {}),
      verified: combined.verified,
      reference: formatReference(pinned),
      digest,
      signatures: combined.signatures,
      failures: combined.failures,
    });
  }

  function verifyRule(ref: ImageReference, options: ImageRuleOptions, platform = o.platform): Promise<ReferenceVerification> {
    return verifyWith(ref, options, platform, undefined).then((r) => r.result);
  }

  function verifyWith(ref: ImageReference, options: ImageRuleOptions, platform: Platform | undefined, keyExtra: string | undefined): Promise<Verified> {
    if (options.schemes !== undefined && Object.keys(options.schemes).length > 0) return verifyRequirements(ref, options, platform).then((result) => ({ result }));
    return verifyOcitrust(ref, options, platform, keyExtra);
  }

  async function verifyOcitrust(ref: ImageReference, options: ImageRuleOptions, platform = o.platform, keyExtra?: string): Promise<Verified> {
    const common = { registry, policy: options.verify, clock, repairIndex: o.repairIndex ?? false, ...(platform ? { platform } : {}) };
    if (o.trust) return { result: await verifyReference({ ...common, reference: ref, trust: o.trust(options) }) };
    // The tag resolves while the trust data refreshes (neither needs the other): the wall time
    // of a due refresh is max(trust, registry), not the sum. A rule without an anchor this pool
    // accepts asks no registry. A trust failure is still the one reported, as before; the
    // abandoned resolution is observed so that its failure is no unhandled rejection.
    const resolving = ref.digest === undefined && anchored(options) ? observed(registry.resolveTag(ref)) : undefined;
    let trust: TrustState;
    try {
      trust = await pool.get(options);
    } catch (e) {
      // No collection for the repository is "not signed" (a verdict with its own code), not an outage.
      throw prefixed(asNotSigned(e), `trust data of collection ${options.collection}`);
    }
    const digest = ref.digest ?? (await (resolving ?? registry.resolveTag(ref)));
    // The verifier gets the reference pinned to the digest the key names (tag kept for tag
    // binding) and the exact trust state the key names: what is cached is what was checked.
    const pinned = ref.digest ? ref : withDigest(ref, digest);
    const parts = { repository: ref.repository, digest, rule: options.rule, policyRevision: options.policyRevision, trustVersion: trust.version };
    if (approvals.size > 0) {
      const by = vouched(verificationCacheKey(parts));
      if (by !== undefined) return { result: Object.freeze({ verified: true, reference: formatReference(pinned), digest, signatures: [], failures: [] }), vouchedBy: by };
    }
    const prepared = preparedFor(trust, options);
    const run = (): Promise<ReferenceVerification> => verifyReference({ ...common, reference: pinned, trust: trust.result.trusted, prepared });
    const result = !cache
      ? await run()
      : await cache.run(
          verificationCacheKey({
            ...parts,
            ...(options.verify.bindTag && ref.tag !== undefined ? { tag: ref.tag } : {}),
            ...(keyExtra !== undefined ? { trustVersion: `${trust.version}|${keyExtra}` } : {}),
          }),
          run,
          (v) => v.verified,
        );
    if (o.indexVouchesForChildren && result.verified && result.children) approve(result, parts);
    return { result };
  }

  /** Whether the pool accepts the rule's trust anchor (no I/O; pool.get reports why not). */
  function anchored(options: ImageRuleOptions): boolean {
    try {
      pool.assertAnchored(options);
      return true;
    } catch {
      return false;
    }
  }

  function envelopeStats(): PreparedStats {
    const t: PreparedStats = { hashed: 0, parsed: 0, authenticated: 0 };
    for (const p of preparedByRule.values()) {
      t.hashed += p.stats.hashed;
      t.parsed += p.stats.parsed;
      t.authenticated += p.stats.authenticated;
    }
    return t;
  }

  /** The prepared envelopes of (trust version, rule): each envelope verified once while they last. */
  function preparedFor(trust: TrustState, options: ImageRuleOptions): PreparedEnvelopes {
    const k = `${trust.version}\0${options.rule}\0${options.policyRevision}`;
    let p = preparedByRule.get(k);
    if (p === undefined || p.keys !== trust.result.trusted.keys) {
      if (preparedByRule.size >= MAX_PREPARED) preparedByRule.delete(preparedByRule.keys().next().value as string);
      p = new PreparedEnvelopes(trust.result.trusted.keys);
      preparedByRule.set(k, p);
    }
    return p;
  }

  /** Records the children of a verified index as vouched for (see `indexVouchesForChildren`). */
  function approve(index: ReferenceVerification, parts: Omit<CacheKeyParts, 'tag'>): void {
    approveChildren(index.digest, index.children ?? [], parts);
  }

  /**
   * When `digest` is an index, records its children as vouched for under `parts` (a scheme
   * requirement met by the index). The manifest is the one just verified (memoized): no fetch.
   */
  async function approveIndexChildren(ref: ImageReference, digest: string, parts: Omit<CacheKeyParts, 'tag'>): Promise<void> {
    const m = await registry.getManifest(ref, digest);
    if (!isIndex(m.manifest)) return;
    approveChildren(digest, m.manifest.manifests, parts);
  }

  function approveChildren(index: string, children: readonly { readonly digest: string; readonly mediaType?: string }[], parts: Omit<CacheKeyParts, 'tag'>): void {
    const until = clock.now().getTime() + approvalTtl;
    for (const c of children) {
      if (c.mediaType !== undefined && !MANIFEST_MEDIA_TYPES.includes(c.mediaType)) continue;
      if (approvals.size >= MAX_APPROVALS) approvals.clear();
      approvals.set(verificationCacheKey({ ...parts, digest: c.digest }), { until, index });
    }
  }

  function vouched(key: string): string | undefined {
    const a = approvals.get(key);
    if (a === undefined) return undefined;
    if (clock.now().getTime() < a.until) return a.index;
    approvals.delete(key);
    return undefined;
  }

  async function check(reference: string | ImageReference, ctx: CheckContext = {}): Promise<GateAnswer> {
    const shown = typeof reference === 'string' ? reference : formatReference(reference);
    let mode: GateMode = 'enforce';
    let rule: string | undefined;
    try {
      const ref = typeof reference === 'string' ? parseReference(reference) : reference;
      let options = ctx.rule;
      const unchecked = (kind: 'skip' | 'allow', ruleName?: string): GateAnswer => {
        const result: ReferenceVerification = Object.freeze({ verified: false, reference: shown, digest: ref.digest ?? '', signatures: [], failures: [] });
        return kind === 'skip'
          ? { decision: 'skip', outcome: 'unchecked', digest: ref.digest ?? '', ...(ruleName !== undefined ? { rule: ruleName } : {}), mode: 'skip', result }
          : { decision: 'allow', outcome: 'unchecked', digest: ref.digest ?? '', mode: 'unmatched-allow', result };
      };
      if (!options) {
        const policy = policyNow();
        if (!policy) {
          if (!o.defaultRule) throw new OcitrustError('INVALID_ARGUMENT', 'gate.check: expected a policy (createGate) or ctx.rule, got neither');
          options = await o.defaultRule(ref);
          if (!options) return unchecked('allow');
        } else {
          const plan = planUnderPolicy(policy, ref, { ...(ctx.namespace !== undefined ? { namespace: ctx.namespace } : {}), ...(ctx.labels ? { labels: { ...ctx.labels } } : {}) });
          if (plan.kind === 'deny') {
            // A denied tag under a warn rule warns (docs/policy.md "Modes"): a verdict either way.
            const warned = plan.mode === 'warn';
            return { decision: warned ? 'warn' : 'deny', outcome: 'failed', digest: ref.digest ?? '', mode: warned ? 'warn' : 'deny', ...(plan.rule !== undefined ? { rule: plan.rule } : {}), code: plan.result.failures[0]!.code, result: plan.result };
          }
          if (plan.kind === 'skip') return unchecked('skip', plan.rule);
          if (plan.kind === 'allow-unmatched') return unchecked('allow');
          options = plan.options;
          mode = plan.mode;
          rule = plan.rule;
        }
      }
      const collection = options.collection;
      const fetched = ctx.manifest?.();
      if (fetched === 'artifact') return { ...unchecked('allow'), mode, ...(rule ? { rule } : {}), collection };
      if (fetched) registry.remember(ref, fetched);
      const keyExtra = ctx.keyExtra ? await ctx.keyExtra() : undefined;
      const { result, vouchedBy } = await verifyWith(ref, options, ctx.platform ?? o.platform, keyExtra);
      if (result.verified) return { decision: 'allow', outcome: 'verified', digest: result.digest, mode, ...(rule ? { rule } : {}), collection, result, ...(vouchedBy ? { vouchedBy } : {}) };
      const main = mainFailure(result.failures);
      return {
        decision: mode === 'warn' ? 'warn' : 'deny',
        // The verifier reached a verdict: a failed outcome whatever the codes.
        outcome: 'failed',
        digest: result.digest,
        mode,
        ...(rule ? { rule } : {}),
        collection,
        ...(main ? { code: main.code } : {}),
        result,
      };
    } catch (err) {
      if (!isOcitrustError(err)) throw err;
      const e = toOcitrustError(err);
      const result: ReferenceVerification = Object.freeze({ verified: false, reference: shown, digest: '', signatures: [], failures: [failure(e.code, e.message)] });
      return { decision: mode === 'warn' ? 'warn' : 'deny', outcome: outcomeOfCode(e.code), digest: '', mode, ...(rule ? { rule } : {}), code: e.code, error: { code: e.code, message: e.message }, result };
    }
  }

  return {
    check,
    verifyRule,
    trust: pool,
    stats,
    invalidate(name) {
      pool.invalidate(name);
    },
    clear(opts = {}) {
      cache?.clear();
      approvals.clear();
      preparedByRule.clear();
      registry.clear();
      if (opts.trust !== false) pool.clear();
    },
  };
}
