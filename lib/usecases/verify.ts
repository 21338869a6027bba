/**
 * Verifying an image reference end to end (DESIGN §5): trust metadata, tag → digest once
 * (recomputed from the bytes), signature referrers (bounded), the pure verifier, and the
 * multi-architecture rule. Everything security-relevant happens in lib/verify; this module
 * only fetches and composes.
 *
 * "Could not decide" is never reported as "verification failed": registry and server errors
 * (exit 3) are thrown, security failures of the trust metadata (exit 1) become a failed result.
 */
import { OcitrustError, assertArg, isOcitrustError } from '../errors/index.js';
import { assertClock, readClock, systemClock, type Clock } from '../clock.js';
import { referenceArg, type ImageReference } from '../reference.js';
import type { FetchedManifest, RegistryClient } from '../oci/client.js';
import { listSignatures, updateFallbackIndex } from '../oci/referrers.js';
import { collectEnvelopes, type SignatureEnvelope, type DroppedSignature } from '../oci/signature-artifact.js';
import { isIndex, INDEX_MEDIA_TYPES, MANIFEST_MEDIA_TYPES, type Descriptor, type Platform } from '../oci/types.js';
import { verifyImage, verifyIndex, type VerifyReference } from '../verify/verifier.js';
import { normalizePolicy, type VerifyPolicy, type VerifyPolicyOptions } from '../verify/policy.js';
import { failure, type VerifyFailure, type VerifyResult } from '../verify/result.js';
import { PreparedEnvelopes } from '../verify/prepared.js';
import type { TrustedTargets } from '../verify/trust.js';

/** Anything that yields trusted targets after a TUF refresh (an `Updater`, a collection opener). */
export interface TrustSource {
  refresh(): Promise<{ readonly trusted: TrustedTargets }>;
}

/**
 * A trust source's "no such collection" as the verdict it is for a verifier: nothing in that
 * repository is signed, so the image is not verified (NOT_SIGNED, exit 1) — not an input
 * error, and not advice to create the collection. Any other error is returned unchanged.
 * Every face (CLI, admission webhooks, proxy) maps through this one function.
 */
export function asNotSigned(e: unknown): unknown {
  if (!isOcitrustError(e, 'COLLECTION_NOT_FOUND')) return e;
  return new OcitrustError('NOT_SIGNED', `not signed: ${e.message.replace(/^trust data of collection [^:]*: /, '')}`, { cause: e, ...(e.details ? { details: { ...e.details } } : {}) });
}

/** Options of {@link verifyReference}. */
export interface VerifyReferenceOptions {
  readonly reference: string | ImageReference;
  readonly registry: RegistryClient;
  /** Trusted targets, or a source refreshed first (DESIGN §5 step 1). */
  readonly trust: TrustedTargets | TrustSource;
  readonly policy?: VerifyPolicyOptions | VerifyPolicy;
  readonly clock?: Clock;
  /** The platform being deployed, for `multiArch: 'platform'` (default linux/amd64). */
  readonly platform?: Platform;
  /**
   * On a fallback registry, write signatures found only through their own tags back into the
   * fallback index (needs push rights; failures are ignored). Default true.
   */
  readonly repairIndex?: boolean;
  /** Most children of an index that are verified (default 64). */
  readonly maxChildren?: number;
  /**
   * Envelopes already prepared for the trusted keys (the gate keeps one per trust version and
   * rule). Default: one for this call, so each envelope is hashed, parsed and verified once.
   */
  readonly prepared?: PreparedEnvelopes;
}

/** The verdict for a reference: DESIGN §5.7 plus the manifest facts; children for an index. */
export interface ReferenceVerification extends VerifyResult {
  readonly mediaType?: string;
  readonly size?: number;
  /** The platform of a child manifest, as its index lists it. */
  readonly platform?: Platform;
  readonly children?: readonly ReferenceVerification[];
}

const DEFAULT_MAX_CHILDREN = 64;

/**
 * Verifies one image reference. Returns the verdict; throws only when the outcome could not be
 * decided (registry or trust server unreachable, bad input).
 *
 * @example const r = await verifyReference({ reference: 'registry.example.com/app:v1', registry, trust: updater });
 * @throws REFERENCE_INVALID, MANIFEST_NOT_FOUND (exit 2); REGISTRY_*, TUF_SOURCE_*, TUF_CACHE_* (exit 3); POLICY_INVALID
 */
export async function verifyReference(o: VerifyReferenceOptions): Promise<ReferenceVerification> {
  assertArg(typeof o === 'object' && o !== null, 'options', 'VerifyReferenceOptions object', o);
  const ref = referenceArg(o.reference);
  assertArg(typeof o.registry?.getManifest === 'function', 'registry', 'RegistryClient', o.registry);
  assertArg(typeof o.trust === 'object' && o.trust !== null, 'trust', 'TrustedTargets or TrustSource {refresh()}', o.trust);
  // Only an absent policy is the default one; null or another wrong value is POLICY_INVALID.
  const policy = normalizePolicy(o.policy === undefined ? {} : o.policy);
  if (o.clock !== undefined) assertClock(o.clock, 'clock');
  const clock = o.clock ?? systemClock;
  readClock(clock); // fail before any network traffic; verifyImage reads it again for each check
  assertArg(o.repairIndex === undefined || typeof o.repairIndex === 'boolean', 'repairIndex', 'boolean', o.repairIndex);
  assertArg(o.maxChildren === undefined || (Number.isSafeInteger(o.maxChildren) && o.maxChildren >= 0), 'maxChildren', 'integer ≥ 0', o.maxChildren);
  assertArg(
    o.platform === undefined || (typeof o.platform === 'object' && o.platform !== null && typeof o.platform.os === 'string' && typeof o.platform.architecture === 'string'),
    'platform',
    'Platform {os, architecture, variant?}',
    o.platform,
  );
  const reference: VerifyReference = { repository: ref.repository, ...(ref.tag !== undefined ? { tag: ref.tag } : {}), ...(ref.digest !== undefined ? { digest: ref.digest } : {}) };

  // Steps 2–3 do not depend on the trust metadata, so the registry round trips run while it
  // refreshes (wall time max(trust, registry), not the sum). Errors keep their order: a trust
  // failure is reported first, as if the registry had not been asked.
  const top = ref.digest === undefined ? settle(o.registry.getManifest(ref, ref.tag ?? 'latest')) : undefined;
  const discovery = settle(top ? top.then((m) => discover(o.registry, ref, m.digest, policy.maxSignatures)) : discover(o.registry, ref, ref.digest!, policy.maxSignatures));

  // Step 1: trust metadata. A security failure here is a verdict (exit 1), not an exception.
  let trust: TrustedTargets;
  try {
    trust = isTrustSource(o.trust) ? (await o.trust.refresh()).trusted : o.trust;
  } catch (err) {
    const e = asNotSigned(err);
    if (isOcitrustError(e) && e.exitCode === 1) {
      return Object.freeze({
        verified: false,
        reference: display(ref),
        digest: ref.digest ?? '',
        signatures: [],
        failures: [failure(e.code, e.code === 'NOT_SIGNED' ? e.message : `trust metadata: ${e.message}`)],
      });
    }
    throw e;
  }
  const prepared = o.prepared !== undefined && o.prepared.keys === trust.keys ? o.prepared : new PreparedEnvelopes(trust.keys);
  const ctx: Ctx = { o, ref, policy, clock, trust, prepared };

  // A digest reference needs no manifest when trusted signatures settle it: the digest pins
  // the bytes, and what they are (media type, size) is part of what the signers signed.
  if (ref.digest !== undefined) {
    const settled = decideByDigest(ctx, reference, ref.digest, await discovery);
    if (settled) return settled;
  }

  // Step 2: resolve once; by digest when the reference pins one (the registry must return those bytes).
  const manifest = await (top ?? o.registry.getManifest(ref, ref.digest!));
  const result = await verifyManifest(ctx, manifest, reference, await discovery);
  if (!isIndex(manifest.manifest) || !INDEX_MEDIA_TYPES.includes(manifest.mediaType)) return result;

  // Step 6: multi-architecture. Children are always verified for the report; whether they
  // must pass is the policy's call (verifyIndex).
  const max = o.maxChildren ?? DEFAULT_MAX_CHILDREN;
  const descs = childManifests(manifest.manifest);
  const extra: VerifyFailure[] = [];
  if (descs.length > max) extra.push(failure('CHILD_MISSING', `index lists ${descs.length} manifests; only the first ${max} were verified`));
  const children: ReferenceVerification[] = [];
  for (const d of descs.slice(0, max)) {
    const child = await o.registry.getManifest(ref, d.digest);
    const r = await verifyManifest(ctx, child, { repository: ref.repository, digest: d.digest });
    children.push(Object.freeze({ ...r, ...(d.platform ? { platform: d.platform } : {}) }));
  }
  let counted: ReferenceVerification[] = children;
  let expected: string[] | undefined;
  if (policy.multiArch === 'platform') {
    const want = o.platform ?? { os: 'linux', architecture: 'amd64' };
    counted = children.filter((c) => c.platform && platformMatches(c.platform, want));
    if (counted.length === 0) {
      extra.push(failure('CHILD_MISSING', `index has no manifest for platform ${formatPlatform(want)}`));
    }
  } else if (policy.multiArch === 'all-children') {
    expected = descs.map((d) => d.digest);
  }
  const combined = verifyIndex(result, counted, policy.multiArch, expected);
  const failures = [...combined.failures, ...extra];
  return Object.freeze({
    ...combined,
    verified: combined.verified && (policy.multiArch === 'index' || extra.length === 0),
    failures: Object.freeze(failures),
    // Report every child, not only the ones that counted.
    children: Object.freeze(children),
  });
}

interface Ctx {
  readonly o: VerifyReferenceOptions;
  readonly ref: ImageReference;
  readonly policy: VerifyPolicy;
  readonly clock: Clock;
  readonly trust: TrustedTargets;
  readonly prepared: PreparedEnvelopes;
}

/** What step 3 found for one digest: the fast-path listing and the envelopes it carried. */
interface Discovery {
  readonly listing: Awaited<ReturnType<typeof listSignatures>>;
  readonly first: { envelopes: SignatureEnvelope[]; dropped: DroppedSignature[] };
}

/** Step 3, fast path: the referrers API (or the fallback index) and the envelopes it carries. */
async function discover(registry: RegistryClient, ref: ImageReference, digest: string, max: number): Promise<Discovery> {
  const listing = await listSignatures(registry, ref, digest, { maxReferrers: max });
  const first = await collectEnvelopes(registry, ref, digest, listing.descriptors, { maxSignatures: max });
  return { listing, first };
}

/** Marks a promise handled now (it may be abandoned when the trust step fails) and returns it. */
function settle<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

/**
 * A digest reference verified without its manifest: each media type and size the envelopes
 * claim for the digest is tried as the subject; when exactly one verifies and it is not an
 * index (whose children the report covers), that is the verdict. Anything else (no claim
 * verifies, signers disagree, an index) returns undefined and the caller fetches the manifest,
 * so failures are reported exactly as before.
 */
function decideByDigest(ctx: Ctx, reference: VerifyReference, digest: string, d: Discovery): ReferenceVerification | undefined {
  const claims = new Map<string, { mediaType: string; size: number }>();
  for (const e of d.first.envelopes) {
    const c = claimOf(ctx.prepared, e.envelope);
    if (c && MANIFEST_MEDIA_TYPES.includes(c.mediaType) && !INDEX_MEDIA_TYPES.includes(c.mediaType)) claims.set(`${c.mediaType} ${c.size}`, c);
    if (claims.size > 2) return undefined;
  }
  const verified: ReferenceVerification[] = [];
  for (const c of claims.values()) {
    const r = run(ctx, { digest, ...c }, reference, d.first.envelopes);
    if (r.verified) verified.push(Object.freeze({ ...r, failures: Object.freeze([...r.failures, ...droppedFailures(d.first.dropped)]), ...c }));
  }
  return verified.length === 1 ? verified[0] : undefined;
}

/** The media type and size an ocitrust signature envelope claims (unverified; a guess to try). */
function claimOf(prepared: PreparedEnvelopes, bytes: Uint8Array): { mediaType: string; size: number } | undefined {
  try {
    const st = prepared.statement(bytes, prepared.envelope(bytes));
    return st.kind === 'signature' ? { mediaType: st.signature.mediaType, size: st.signature.size } : undefined;
  } catch {
    return undefined;
  }
}

function droppedFailures(dropped: readonly DroppedSignature[]): VerifyFailure[] {
  return dropped.map((d) => failure(d.code, `signature ${d.digest}: ${d.message}`));
}

/** Steps 3–5 and 7 for one manifest. */
async function verifyManifest(
  ctx: Ctx,
  m: FetchedManifest,
  reference: VerifyReference,
  found?: Discovery,
): Promise<ReferenceVerification> {
  const { o, ref, policy } = ctx;
  const max = policy.maxSignatures;
  // Step 3: the fast path (referrers API, or the fallback index).
  const { listing, first } = found ?? (await discover(o.registry, ref, m.digest, max));
  let envelopes: SignatureEnvelope[] = first.envelopes;
  let dropped: DroppedSignature[] = first.dropped;
  let result = run(ctx, m, reference, envelopes);
  if (!result.verified && listing.source === 'fallback') {
    // DESIGN §4: on a fallback registry the shared index can lose entries to racing writers;
    // each signature also has its own tag. Look there before failing, and repair the index.
    const full = await listSignatures(o.registry, ref, m.digest, { complete: true, maxReferrers: max });
    if (full.source === 'api') {
      // The client had remembered this registry as one without the referrers API; it has it now.
      const again = await collectEnvelopes(o.registry, ref, m.digest, full.descriptors, { maxSignatures: max });
      envelopes = again.envelopes;
      dropped = again.dropped;
      result = run(ctx, m, reference, envelopes);
    } else if (full.missingFromIndex.length > 0) {
      const more = await collectEnvelopes(o.registry, ref, m.digest, full.missingFromIndex, { maxSignatures: max });
      envelopes = [...envelopes, ...more.envelopes];
      dropped = [...dropped, ...more.dropped];
      result = run(ctx, m, reference, envelopes);
      if (o.repairIndex !== false) {
        await updateFallbackIndex(o.registry, ref, m.digest, { add: full.missingFromIndex, maxAttempts: 3 }).catch((e: unknown) => {
          if (!(e instanceof OcitrustError)) throw e;
        });
      }
    }
  }
  const failures = [...result.failures, ...droppedFailures(dropped)];
  return Object.freeze({ ...result, failures: Object.freeze(failures), mediaType: m.mediaType, size: m.size });
}

function run(ctx: Ctx, m: { readonly digest: string; readonly mediaType: string; readonly size: number }, reference: VerifyReference, envelopes: readonly SignatureEnvelope[]): VerifyResult {
  return verifyImage({
    reference,
    digest: m.digest,
    subject: { mediaType: m.mediaType, size: m.size },
    // The digest the registry named for each envelope (its layer descriptor, or the listing's
    // annotation): the verifier hashes the bytes and compares (ENVELOPE_DIGEST_MISMATCH).
    envelopes: envelopes.map((e) => ({ bytes: e.envelope, digest: e.digest ?? ctx.prepared.digest(e.envelope) })),
    trust: ctx.trust,
    policy: ctx.policy,
    clock: ctx.clock,
    prepared: ctx.prepared,
  });
}

function isTrustSource(t: TrustedTargets | TrustSource): t is TrustSource {
  return typeof (t as TrustSource).refresh === 'function';
}

function display(ref: ImageReference): string {
  return `${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** `os/architecture[/variant]` */
export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/**
 * Parses `os/architecture[/variant]` (e.g. `linux/arm64/v8`).
 * @throws INVALID_ARGUMENT
 */
export function parsePlatform(s: string): Platform {
  const parts = s.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9._-]{1,32}$/i.test(p))) {
    throw new OcitrustError('INVALID_ARGUMENT', `platform: expected os/architecture[/variant] such as linux/amd64, got ${JSON.stringify(s.slice(0, 60))}`);
  }
  return { os: parts[0]!, architecture: parts[1]!, ...(parts[2] ? { variant: parts[2] } : {}) };
}

function platformMatches(have: Platform, want: Platform): boolean {
  return have.os === want.os && have.architecture === want.architecture && (want.variant === undefined || have.variant === want.variant);
}

/** Children of an index that are image manifests (what `sign --recursive` and multi-arch verification walk). */
export function childManifests(index: { manifests: readonly Descriptor[] }): Descriptor[] {
  return index.manifests.filter((d) => MANIFEST_MEDIA_TYPES.includes(d.mediaType) && !INDEX_MEDIA_TYPES.includes(d.mediaType));
}
