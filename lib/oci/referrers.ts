/**
 * Referrers: discovery and publication of artifacts that point at an image (`subject`).
 *
 * Discovery uses the referrers API (distribution-spec "Listing Referrers"); on 404 it falls
 * back to the referrers tag schema: an image index under tag `sha256-<hex>`. Publication
 * pushes the manifest and, when the registry does not answer with `OCI-Subject`, maintains
 * the fallback.
 *
 * A read-modify-write of one index loses entries on registries without conditional writes
 * (measured on distribution 2.8.2, DESIGN §4), so on a fallback registry each signature
 * manifest also gets its own tag `sha256-<subject hex>.<first 16 hex of its digest>.sig`.
 * Tags are race-free and keep the manifest safe from `garbage-collect --delete-untagged`;
 * the index stays the fast path. `listSignatures(…, {complete: true})` also scans those
 * tags (one tags/list call), and {@link repairIndex} writes what it finds back into the index.
 * Nothing here deletes an old index or manifest, so registries refusing DELETE lose nothing.
 */
import { OcitrustError, isOcitrustError } from '../errors/index.js';
import { parseDigest } from '../crypto/hash.js';
import { DEFAULT_LIMITS } from '../config.js';
import { isMalformedContent, type FetchedManifest, type RegistryClient, type RepositoryRef } from './client.js';
import { buildSignatureManifest, referrerDescriptor, type BuildSignatureOptions } from './signature-artifact.js';
import {
  INDEX_MEDIA_TYPES,
  OCI_INDEX,
  OCI_MANIFEST,
  DOCKER_MANIFEST,
  SIGNATURE_ARTIFACT_TYPE,
  emptyBlob,
  isIndex,
  type Descriptor,
  type ImageIndex,
} from './types.js';

/**
 * The referrers tag schema tag of a digest: algorithm (≤ 32 chars) + `-` + encoded part
 * (≤ 64 chars), characters not allowed in tags replaced by `-` (spec "Referrers Tag Schema").
 */
export function fallbackTag(digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  const clean = (s: string): string => s.replace(/[^A-Za-z0-9_.-]/g, '-');
  return `${clean(algorithm).slice(0, 32)}-${clean(hex).slice(0, 64)}`;
}

/**
 * cosign's tag schema (not referrers): the signatures (`sig`) or attestations (`att`) of an
 * image stored under `sha256-<hex>.<suffix>`. Read by the cosign scheme, carried by copy/save.
 */
export function cosignTag(digest: string, suffix: 'sig' | 'att'): string {
  return `${fallbackTag(digest)}.${suffix}`;
}

/** The per-signature tag of signature manifest `manifestDigest` on `subjectDigest`. */
export function signatureTag(subjectDigest: string, manifestDigest: string): string {
  return `${fallbackTag(subjectDigest)}.${parseDigest(manifestDigest).hex.slice(0, 16)}.sig`;
}

/** The 16-hex digest prefix a per-signature tag names for `subjectDigest`, else undefined. */
export function parseSignatureTag(tag: string, subjectDigest: string): string | undefined {
  const base = fallbackTag(subjectDigest);
  if (!tag.startsWith(`${base}.`) || !tag.endsWith('.sig')) return undefined;
  const mid = tag.slice(base.length + 1, -4);
  return /^[0-9a-f]{16}$/.test(mid) ? mid : undefined;
}

/** Options of {@link listReferrers}. */
export interface ListReferrersOptions {
  /** Only referrers of this artifact type. */
  readonly artifactType?: string;
  /**
   * On fallback registries, also scan the per-signature tags (one tags/list call plus one
   * manifest GET per signature missing from the index). Ask for it only when the fast
   * path did not satisfy the policy.
   */
  readonly complete?: boolean;
  /** Most referrers returned / manifests fetched (default DEFAULT_LIMITS.maxSignatures). */
  readonly maxReferrers?: number;
  /** Force the tag-schema path even if the API exists (tests, broken registries). */
  readonly forceFallback?: boolean;
}

/** What a listing found. */
export interface ReferrerListing {
  readonly descriptors: readonly Descriptor[];
  /** `api`: the referrers API; `fallback`: the tag schema (and tags, when complete). */
  readonly source: 'api' | 'fallback';
  /** Fallback only: referrers found through their own tags that the index lacked. */
  readonly missingFromIndex: readonly Descriptor[];
  /** Fallback only: whether the per-signature tags were scanned. */
  readonly scannedTags: boolean;
}

const MANIFEST_TYPES = new Set([OCI_MANIFEST, DOCKER_MANIFEST]);


/**
 * One referrer whose manifest cannot be used (malformed, oversized, not matching its digest) is
 * skipped like any invalid signature: a hostile entry must not stop the verification of the
 * others. Unreachable or refusing registries still end the listing (could not decide).
 */
function unusableReferrer(e: unknown): boolean {
  if (isMalformedContent(e)) return true;
  return e instanceof OcitrustError && (/^(MANIFEST_|INPUT_TOO_LARGE)/.test(e.code) || e.code === 'REGISTRY_BAD_RESPONSE' || e.code === 'REGISTRY_RESPONSE_TOO_LARGE');
}

async function getOptional(client: RegistryClient, repo: RepositoryRef, reference: string): Promise<FetchedManifest | undefined> {
  try {
    return await client.getManifest(repo, reference);
  } catch (e) {
    if (isOcitrustError(e, 'MANIFEST_NOT_FOUND')) return undefined;
    throw e;
  }
}

/** Reads the fallback index; undefined when absent or not a valid index (spec: assume none). */
async function readFallbackIndex(
  client: RegistryClient,
  repo: RepositoryRef,
  subjectDigest: string,
): Promise<{ index?: ImageIndex; fetched?: FetchedManifest; invalid: boolean }> {
  let fetched: FetchedManifest | undefined;
  try {
    fetched = await getOptional(client, repo, fallbackTag(subjectDigest));
  } catch (e) {
    if (isMalformedContent(e)) return { invalid: true };
    throw e;
  }
  if (!fetched) return { invalid: false };
  if (!isIndex(fetched.manifest) || !INDEX_MEDIA_TYPES.includes(fetched.mediaType)) return { fetched, invalid: true };
  return { index: fetched.manifest, fetched, invalid: false };
}

/**
 * A descriptor for a referrer listed without `artifactType` (indexes written by other tools,
 * e.g. go-containerregistry): fetch the manifest to learn its type and annotations.
 */
async function completeDescriptor(
  client: RegistryClient,
  repo: RepositoryRef,
  d: Descriptor,
  subjectDigest: string,
): Promise<Descriptor | undefined> {
  let m: FetchedManifest | undefined;
  try {
    m = await getOptional(client, repo, d.digest);
  } catch (e) {
    if (unusableReferrer(e)) return undefined;
    throw e;
  }
  if (!m || m.manifest.subject?.digest !== subjectDigest) return undefined;
  return referrerDescriptor(m);
}

/**
 * Lists the referrers of `subjectDigest`: the API when the registry has it, else the
 * fallback index (and, with `complete`, the per-signature tags).
 *
 * @throws OcitrustError REFERRERS_TOO_MANY, REGISTRY_* (environment)
 */
export async function listReferrers(
  client: RegistryClient,
  repo: RepositoryRef,
  subjectDigest: string,
  opts: ListReferrersOptions = {},
): Promise<ReferrerListing> {
  parseDigest(subjectDigest);
  const max = opts.maxReferrers ?? DEFAULT_LIMITS.maxSignatures;
  const want = (d: Descriptor): boolean => opts.artifactType === undefined || d.artifactType === opts.artifactType;
  if (!opts.forceFallback) {
    // The complete listing asks the registry again even if the client remembers it without the API.
    const api = await client.getReferrers(repo, subjectDigest, { ...(opts.artifactType ? { artifactType: opts.artifactType } : {}), ...(opts.complete ? { fresh: true } : {}) });
    if (api.supported) {
      return { descriptors: api.manifests.filter(want), source: 'api', missingFromIndex: [], scannedTags: false };
    }
  }
  let read = await transient(() => readFallbackIndex(client, repo, subjectDigest));
  // A concurrent signer may be rewriting the tag (distribution answers 500 meanwhile): retry briefly.
  for (let i = 1; read === undefined && i < 4; i++) {
    await sleep(50 * i);
    read = await transient(() => readFallbackIndex(client, repo, subjectDigest));
  }
  if (read === undefined) read = await readFallbackIndex(client, repo, subjectDigest);
  const { index } = read;
  const found = new Map<string, Descriptor>();
  let fetches = 0;
  for (const d of index?.manifests ?? []) {
    if (found.has(d.digest) || !MANIFEST_TYPES.has(d.mediaType)) continue;
    if (d.artifactType !== undefined) {
      if (want(d)) found.set(d.digest, d);
      continue;
    }
    if (++fetches > max) throw new OcitrustError('REFERRERS_TOO_MANY', `fallback index of ${subjectDigest}: more than ${max} entries without artifactType`);
    const full = await completeDescriptor(client, repo, d, subjectDigest);
    if (full && want(full)) found.set(full.digest, full);
  }
  const missing: Descriptor[] = [];
  if (opts.complete) {
    const known = [...found.keys()].map((k) => parseDigest(k).hex.slice(0, 16));
    const tags = (await client.listTags(repo)).filter((t) => {
      const p = parseSignatureTag(t, subjectDigest);
      return p !== undefined && !known.includes(p);
    });
    if (tags.length > max) throw new OcitrustError('REFERRERS_TOO_MANY', `${subjectDigest}: more than ${max} signature tags`);
    for (const tag of tags.sort()) {
      const m = await getOptional(client, repo, tag).catch((e: unknown) => {
        if (unusableReferrer(e)) return undefined;
        throw e;
      });
      // The tag must name this manifest's digest prefix and this subject; else it is not ours.
      if (!m || parseDigest(m.digest).hex.slice(0, 16) !== parseSignatureTag(tag, subjectDigest)) continue;
      if (m.manifest.subject?.digest !== subjectDigest) continue;
      const d = referrerDescriptor(m);
      if (!want(d) || found.has(d.digest)) continue;
      found.set(d.digest, d);
      missing.push(d);
    }
  }
  const descriptors = [...found.values()];
  if (descriptors.length > max * 16) throw new OcitrustError('REFERRERS_TOO_MANY', `${subjectDigest}: more than ${max * 16} referrers`);
  return { descriptors, source: 'fallback', missingFromIndex: missing, scannedTags: !!opts.complete };
}

/**
 * Lists ocitrust signature referrers of `subjectDigest`. The verifier asks with
 * `complete: false` first and, only when the policy is not satisfied, again with
 * `complete: true` (DESIGN §4).
 *
 * @throws OcitrustError REFERRERS_TOO_MANY, REGISTRY_* (environment)
 * @example const { descriptors } = await listSignatures(client, ref, digest, { complete: false });
 */
export function listSignatures(
  client: RegistryClient,
  repo: RepositoryRef,
  subjectDigest: string,
  opts: { complete?: boolean; maxReferrers?: number; forceFallback?: boolean } = {},
): Promise<ReferrerListing> {
  return listReferrers(client, repo, subjectDigest, { ...opts, artifactType: SIGNATURE_ARTIFACT_TYPE });
}

/** Options of {@link updateFallbackIndex}. */
export interface UpdateIndexOptions {
  /** Descriptors to add (skipped when their digest is already listed). */
  readonly add?: readonly Descriptor[];
  /** Digests to remove. */
  readonly remove?: readonly string[];
  /** Attempts before giving up (default 12). */
  readonly maxAttempts?: number;
  /** From the second attempt on, also merge referrers found through their own tags (heals lost entries). */
  readonly healFromTags?: boolean;
  /** Backoff unit between attempts (ms, default 25), multiplied by the attempt and jittered. */
  readonly backoffMs?: number;
}

/** Result of {@link updateFallbackIndex}. */
export interface UpdateIndexResult {
  /** Attempts used (1 = no race observed). */
  readonly attempts: number;
  /** Digest of the index now under the fallback tag (undefined if nothing was written). */
  readonly indexDigest?: string;
  /** Entries in the index as read back. */
  readonly entries: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Runs one step of the index update; a lost conditional write (412) or a transient registry
 * error yields undefined (the attempt counts as lost). distribution 2.8 answers 500 when a
 * tag is read while another writer rewrites it (its filesystem driver is not atomic).
 */
async function transient<T>(step: () => Promise<T>): Promise<T | undefined> {
  try {
    return await step();
  } catch (e) {
    if (isOcitrustError(e, 'REGISTRY_CONFLICT') || isOcitrustError(e, 'REGISTRY_ERROR')) return undefined;
    throw e;
  }
}

/**
 * Read-modify-write of the fallback index (spec "Pushing Manifests with Subject", steps
 * 1–6): pull, start empty on 404, stop if it is not an index, skip duplicates, append, push
 * (with `If-Match` when the registry gave an ETag), then read back; a lost race (412 or the
 * read-back lacking our change) is retried with jittered backoff, bounded.
 *
 * @throws OcitrustError REFERRERS_UPDATE_FAILED, REGISTRY_* (environment)
 */
export async function updateFallbackIndex(
  client: RegistryClient,
  repo: RepositoryRef,
  subjectDigest: string,
  opts: UpdateIndexOptions = {},
): Promise<UpdateIndexResult> {
  const tag = fallbackTag(subjectDigest);
  const add = opts.add ?? [];
  const remove = new Set(opts.remove ?? []);
  const maxAttempts = opts.maxAttempts ?? 12;
  const unit = opts.backoffMs ?? 25;
  let extra: Descriptor[] = [];
  const satisfied = (idx: ImageIndex | undefined): boolean => {
    const have = new Set((idx?.manifests ?? []).map((d) => d.digest));
    return add.every((d) => have.has(d.digest)) && [...remove].every((r) => !have.has(r));
  };
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    if (attempt > 1) {
      if (opts.healFromTags) {
        const listing = await transient(() => listReferrers(client, repo, subjectDigest, { complete: true, forceFallback: true }));
        if (listing) extra = listing.missingFromIndex.filter((d) => !remove.has(d.digest));
      }
      await sleep(Math.floor(Math.random() * unit * attempt * 2));
    }
    const cur = await transient(() => readFallbackIndex(client, repo, subjectDigest));
    if (!cur) continue;
    if (cur.invalid) {
      // Spec step 2: something other than an index under the tag — report and stop.
      throw new OcitrustError('REFERRERS_UPDATE_FAILED', `${repo.registry}/${repo.path}:${tag} holds something other than an image index; not overwriting it`);
    }
    const existing = cur.index?.manifests ?? [];
    const merged: Descriptor[] = existing.filter((d) => !remove.has(d.digest));
    const have = new Set(merged.map((d) => d.digest));
    for (const d of [...add, ...extra]) {
      if (!have.has(d.digest) && !remove.has(d.digest)) {
        merged.push(d);
        have.add(d.digest);
      }
    }
    if (satisfied(cur.index) && merged.length === existing.length) {
      return { attempts: attempt, entries: existing.length, ...(cur.fetched ? { indexDigest: cur.fetched.digest } : {}) };
    }
    const { manifests: _old, ...rest } = cur.index ?? {};
    const next = { ...rest, schemaVersion: 2, mediaType: OCI_INDEX, manifests: merged };
    const bytes = new TextEncoder().encode(JSON.stringify(next));
    const put = await transient(() =>
      client.putManifest(repo, tag, bytes, OCI_INDEX, cur.fetched?.etag ? { ifMatch: cur.fetched.etag } : {}),
    );
    if (!put) continue;
    const back = await transient(() => readFallbackIndex(client, repo, subjectDigest));
    if (back && satisfied(back.index)) {
      return { attempts: attempt, entries: back.index?.manifests.length ?? 0, ...(back.fetched ? { indexDigest: back.fetched.digest } : {}) };
    }
  }
  throw new OcitrustError('REFERRERS_UPDATE_FAILED', `${repo.registry}/${repo.path}:${tag}: lost the index update race ${maxAttempts} times`);
}

/** Options of {@link pushSignature}. */
export interface PushSignatureOptions extends Omit<BuildSignatureOptions, 'subject' | 'envelope'> {
  /** Treat the registry as lacking the referrers API even if it answers `OCI-Subject`. */
  readonly forceFallback?: boolean;
  /** Index update attempts (default 12). */
  readonly maxIndexAttempts?: number;
}

/** Result of {@link pushSignature}. */
export interface PushSignatureResult {
  /** Digest of the signature manifest. */
  readonly digest: string;
  readonly descriptor: Descriptor;
  /** `api`: the registry indexes referrers; `fallback`: tag schema + per-signature tag. */
  readonly mode: 'api' | 'fallback';
  /** Fallback: the per-signature tag the manifest was pushed under. */
  readonly tag?: string;
  /** Fallback: whether the shared index lists the signature (it is findable through its tag either way). */
  readonly indexUpdated: boolean;
  /** Fallback: why the index was not updated. */
  readonly indexError?: OcitrustError;
}

/**
 * Pushes a signature envelope for `subject` as an OCI referrer (DESIGN §4): empty config
 * blob, envelope blob, signature manifest by digest; without `OCI-Subject` in the answer,
 * the manifest also goes under its own tag and into the fallback index.
 *
 * @throws OcitrustError REGISTRY_*, BLOB_UPLOAD_FAILED, INPUT_TOO_LARGE — the signature is
 * stored once this returns; an index failure is reported in the result, not thrown.
 */
export async function pushSignature(
  client: RegistryClient,
  repo: RepositoryRef,
  subject: Descriptor,
  envelope: Uint8Array,
  opts: PushSignatureOptions = {},
): Promise<PushSignatureResult> {
  const sig = buildSignatureManifest({ ...opts, subject, envelope });
  let put: Awaited<ReturnType<RegistryClient['putManifest']>> | undefined;
  for (let attempt = 1; put === undefined; attempt++) {
    // distribution 2.8 refuses a manifest whose config blob is missing: upload it first.
    await client.pushBlob(repo, emptyBlob(), attempt > 1 ? { fresh: true } : {});
    // A new envelope (its signature and signedAt make it unique): no existence check.
    await client.pushBlob(repo, sig.envelope.bytes, { fresh: true });
    try {
      put = await client.putManifest(repo, sig.digest, sig.bytes, OCI_MANIFEST);
    } catch (e) {
      // distribution's filesystem driver rewrites a blob link non-atomically while another
      // writer commits the same blob (here: the empty config of concurrent signers), and can
      // answer MANIFEST_BLOB_UNKNOWN meanwhile; upload both blobs again and retry, bounded.
      const codes = isOcitrustError(e, 'REGISTRY_ERROR') ? (e.details?.codes as readonly string[] | undefined) : undefined;
      if (attempt >= 3 || !codes?.includes('MANIFEST_BLOB_UNKNOWN')) throw e;
      await sleep(25 * attempt);
    }
  }
  if (put.ociSubject === subject.digest && !opts.forceFallback) {
    return { digest: sig.digest, descriptor: sig.descriptor, mode: 'api', indexUpdated: true };
  }
  const tag = signatureTag(subject.digest, sig.digest);
  await client.putManifest(repo, tag, sig.bytes, OCI_MANIFEST);
  try {
    await updateFallbackIndex(client, repo, subject.digest, {
      add: [sig.descriptor],
      maxAttempts: opts.maxIndexAttempts,
      healFromTags: true,
    });
    return { digest: sig.digest, descriptor: sig.descriptor, mode: 'fallback', tag, indexUpdated: true };
  } catch (e) {
    // The signature is stored under its own tag already; a refused index write (immutable
    // tags, denied rewrite, lost races) is reported, not thrown, so nothing is lost or retried twice.
    if (!(e instanceof OcitrustError)) throw e;
    const indexError = e.code === 'REFERRERS_UPDATE_FAILED' ? e : new OcitrustError('REFERRERS_UPDATE_FAILED', `fallback index not updated: ${e.message}`, { cause: e });
    return { digest: sig.digest, descriptor: sig.descriptor, mode: 'fallback', tag, indexUpdated: false, indexError };
  }
}

/**
 * Writes every signature found through its own tag back into the fallback index (after
 * races, or when the verifier's complete listing found the index incomplete). Needs push
 * rights. A no-op on registries with the referrers API.
 *
 * @throws OcitrustError REFERRERS_UPDATE_FAILED, REGISTRY_*
 */
export async function repairIndex(
  client: RegistryClient,
  repo: RepositoryRef,
  subjectDigest: string,
  opts: { forceFallback?: boolean; maxAttempts?: number } = {},
): Promise<{ added: number; entries: number }> {
  const listing = await listReferrers(client, repo, subjectDigest, { complete: true, forceFallback: opts.forceFallback });
  if (listing.source === 'api' || listing.missingFromIndex.length === 0) {
    return { added: 0, entries: listing.descriptors.length };
  }
  const r = await updateFallbackIndex(client, repo, subjectDigest, {
    add: listing.missingFromIndex,
    maxAttempts: opts.maxAttempts,
    healFromTags: true,
  });
  return { added: listing.missingFromIndex.length, entries: r.entries };
}

/**
 * Removes a referrer: from the fallback index (when the registry has no referrers API) and,
 * where the registry allows it, the manifest itself (which also drops its per-signature tag).
 * Deleting is not revocation (DESIGN §6); registries refusing DELETE keep the manifest.
 *
 * @throws OcitrustError REFERRERS_UPDATE_FAILED, REGISTRY_*
 */
export async function removeReferrer(
  client: RegistryClient,
  repo: RepositoryRef,
  subjectDigest: string,
  manifestDigest: string,
  opts: { forceFallback?: boolean } = {},
): Promise<{ indexUpdated: boolean; deleted: boolean }> {
  parseDigest(manifestDigest);
  let indexUpdated = false;
  const api = opts.forceFallback ? { supported: false as const } : await client.getReferrers(repo, subjectDigest);
  if (!api.supported) {
    await updateFallbackIndex(client, repo, subjectDigest, { remove: [manifestDigest] });
    indexUpdated = true;
  }
  let deleted = false;
  try {
    deleted = await client.deleteManifest(repo, manifestDigest);
  } catch (e) {
    if (!isOcitrustError(e, 'REGISTRY_UNSUPPORTED')) throw e;
  }
  return { indexUpdated, deleted };
}
