/**
 * Verifying one image under a `cosign:` rule (the scheme in scheme.ts imports this on first
 * use): classic `sha256-<hex>.sig` signatures, then Sigstore bundle referrers, each under the
 * rule's keys or keyless identities.
 */
import { OcitrustError, isOcitrustError, type ErrorCode } from '../errors/index.js';
import { DEFAULT_LIMITS } from '../config.js';
import { isMalformedContent, type FetchedManifest, type RegistryClient } from '../oci/client.js';
import { listReferrers } from '../oci/referrers.js';
import { isIndex, type Descriptor } from '../oci/types.js';

import type { SchemeInput, SchemeVerification } from '../schemes/types.js';
import { failure, type VerifiedSignature, type VerifyFailure } from '../verify/result.js';
import { BUNDLE_ARTIFACT_TYPE, BUNDLE_MEDIA_TYPES, MAX_BUNDLE_BYTES, verifyBundle } from './bundle.js';
import type { CosignConfig } from './config.js';
import { BUNDLE_FORMAT, COSIGN_FORMAT, cosignSignatureTag } from './scheme.js';
import { MAX_PAYLOAD_BYTES, SIMPLE_SIGNING_MEDIA_TYPE, checkReference, readSimpleSignature } from './simple-signing.js';
import { loadTrust, withIntermediates, type CosignTrust } from './trust.js';
import { verifyEntity, type EntityVerdict, type SignerPolicy } from './verify-entity.js';

// The trust of a rule is read once per validated block (a new policy revision is a new object).
const trustCache = new WeakMap<CosignConfig, CosignTrust>();
function trustOf(c: CosignConfig): CosignTrust {
  let t = trustCache.get(c);
  if (!t) {
    t = loadTrust({
      ...(c.trustedRoot ? { trustedRoot: c.trustedRoot } : {}),
      ...(c.keys ? { keys: c.keys } : {}),
      ...(c.caCerts ? { caCerts: c.caCerts } : {}),
      ...(c.rekorKeys ? { rekorKeys: c.rekorKeys } : {}),
      ...(c.ctKeys ? { ctKeys: c.ctKeys } : {}),
    });
    trustCache.set(c, t);
  }
  return t;
}

function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function counted(v: Extract<EntityVerdict, { ok: true }>, format: string): VerifiedSignature {
  return {
    role: format,
    keyid: v.keyid,
    signedAt: v.signedAt ? isoSeconds(v.signedAt) : '',
    format,
    ...(v.identity ? { identity: v.identity } : {}),
  };
}

/**
 * An artifact the registry serves broken (missing or mismatching blob, malformed or oversized
 * manifest) is a signature that does not count: a verdict under the artifact's own code (the
 * registry's code kept in the message). An unreachable or refusing registry is not: undefined.
 */
function unusable(e: unknown, code: ErrorCode): VerifyFailure | undefined {
  if (isMalformedContent(e)) return failure(code, `${e.code}: ${e.message}`);
  if (e instanceof OcitrustError && /^(BLOB_|MANIFEST_|INPUT_TOO_LARGE|REGISTRY_RESPONSE_TOO_LARGE)/.test(e.code)) return failure(code, `${e.code}: ${e.message}`);
  return undefined;
}

interface Ctx {
  readonly input: SchemeInput;
  readonly config: CosignConfig;
  readonly trust: CosignTrust;
  readonly policy: SignerPolicy;
  readonly now: Date;
  readonly signatures: VerifiedSignature[];
  readonly failures: VerifyFailure[];
}

function fail(ctx: Ctx, code: ErrorCode, message: string): void {
  ctx.failures.push(failure(code, message));
}

async function fetchBlob(ctx: Ctx, d: Descriptor, max: number, what: string): Promise<Uint8Array | undefined> {
  if (!Number.isSafeInteger(d.size) || d.size < 0 || d.size > max) {
    fail(ctx, what === 'bundle' ? 'SIGSTORE_BUNDLE_INVALID' : 'COSIGN_PAYLOAD_INVALID', `${what} ${d.digest}: expected at most ${max} bytes, got ${d.size}`);
    return undefined;
  }
  try {
    return await ctx.input.registry.getBlob(ctx.input.reference, d.digest, { size: d.size, maxBytes: max });
  } catch (e) {
    const f = unusable(e, what === 'bundle' ? 'SIGSTORE_BUNDLE_INVALID' : 'COSIGN_PAYLOAD_INVALID');
    if (!f) throw e;
    ctx.failures.push(failure(f.code, `${what} ${d.digest}: ${f.message}`));
    return undefined;
  }
}

/** Classic signatures: the layers of `sha256-<hex>.sig`. */
async function classic(ctx: Ctx): Promise<void> {
  const { input } = ctx;
  const tag = cosignSignatureTag(input.digest);
  let sig: FetchedManifest;
  try {
    sig = await input.registry.getManifest(input.reference, tag);
  } catch (e) {
    if (isOcitrustError(e, 'MANIFEST_NOT_FOUND')) return;
    const f = unusable(e, 'COSIGN_SIG_NOT_MANIFEST');
    if (!f) throw e;
    fail(ctx, f.code, `${tag}: ${f.message}`);
    return;
  }
  if (isIndex(sig.manifest)) {
    fail(ctx, 'COSIGN_SIG_NOT_MANIFEST', `${tag}: expected an image manifest of signature layers, got an index (${sig.mediaType}); not verified`);
    return;
  }
  let layers = sig.manifest.layers;
  if (!Array.isArray(layers)) {
    fail(ctx, 'COSIGN_SIG_NOT_MANIFEST', `${tag}: expected a manifest with layers, got none`);
    return;
  }
  if (layers.length > DEFAULT_LIMITS.maxSignatures) {
    fail(ctx, 'SIGNATURE_LIMIT_EXCEEDED', `${tag}: expected at most ${DEFAULT_LIMITS.maxSignatures} signature layers, got ${layers.length}; only the first were examined`);
    layers = layers.slice(0, DEFAULT_LIMITS.maxSignatures);
  }
  for (const layer of layers) {
    // Other media types are attachments (SBOMs, text), not signatures: ignored as cosign does.
    if (layer?.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) continue;
    const payload = await fetchBlob(ctx, layer, MAX_PAYLOAD_BYTES, 'payload');
    if (!payload) continue;
    const annotations = layer.annotations && typeof layer.annotations === 'object' ? layer.annotations : {};
    const read = readSimpleSignature(payload, annotations);
    if (!('entity' in read)) {
      fail(ctx, read.code, `${tag} layer ${layer.digest}: ${read.message}`);
      continue;
    }
    const v = verifyEntity(read.entity, withIntermediates(ctx.trust, read.chain), ctx.policy, ctx.now);
    if (!v.ok) {
      fail(ctx, v.code, `${tag} layer ${layer.digest}: ${v.message}`);
      continue;
    }
    if (read.manifestDigest !== input.digest) {
      fail(ctx, 'COSIGN_DIGEST_MISMATCH', `${tag} layer ${layer.digest}: expected a payload signing ${input.digest}, got ${read.manifestDigest}`);
      continue;
    }
    const ref = checkReference(read.dockerReference, input.reference, ctx.config.matchReference ?? 'ignore');
    if (ref) {
      fail(ctx, ref.code, `${tag} layer ${layer.digest}: ${ref.message}`);
      continue;
    }
    ctx.signatures.push(counted(v, COSIGN_FORMAT));
  }
}

/** Sigstore bundles stored as referrers of the image (API or fallback index). */
async function bundles(ctx: Ctx, subject: Uint8Array): Promise<void> {
  const { input } = ctx;
  const max = DEFAULT_LIMITS.maxSignatures;
  const listing = await listReferrers(input.registry, input.reference, input.digest, { artifactType: BUNDLE_ARTIFACT_TYPE, maxReferrers: max });
  let descriptors = listing.descriptors;
  if (descriptors.length > max) {
    fail(ctx, 'SIGNATURE_LIMIT_EXCEEDED', `expected at most ${max} Sigstore bundle referrers, got ${descriptors.length}; only the first were examined`);
    descriptors = descriptors.slice(0, max);
  }
  for (const d of descriptors) {
    let m: FetchedManifest;
    try {
      m = await input.registry.getManifest(input.reference, d.digest);
    } catch (e) {
      const f = unusable(e, 'COSIGN_SIG_NOT_MANIFEST');
      if (!f) throw e;
      fail(ctx, f.code, `bundle referrer ${d.digest}: ${f.message}`);
      continue;
    }
    if (isIndex(m.manifest) || !Array.isArray(m.manifest.layers)) {
      fail(ctx, 'COSIGN_SIG_NOT_MANIFEST', `bundle referrer ${d.digest}: expected an image manifest with a bundle layer, got ${m.mediaType}; not verified`);
      continue;
    }
    const layers = m.manifest.layers.filter((l) => typeof l?.mediaType === 'string' && BUNDLE_MEDIA_TYPES.includes(l.mediaType)).slice(0, 4);
    if (layers.length === 0) {
      fail(ctx, 'SIGSTORE_BUNDLE_INVALID', `bundle referrer ${d.digest}: expected a layer of media type ${BUNDLE_ARTIFACT_TYPE}, got none`);
      continue;
    }
    for (const layer of layers) {
      const bytes = await fetchBlob(ctx, layer, MAX_BUNDLE_BYTES, 'bundle');
      if (!bytes) continue;
      const v = verifyBundle(bytes, { digest: input.digest, bytes: subject }, ctx.trust, ctx.policy, ctx.now);
      if (v.ok) ctx.signatures.push(counted(v, BUNDLE_FORMAT));
      else fail(ctx, v.code, `bundle ${layer.digest}: ${v.message}`);
    }
  }
}

/**
 * Verifies one image under a `cosign:` block: classic signatures, then bundles. Verified when
 * at least one signature counts.
 * @throws OcitrustError COSIGN_TRUST_FILE_INVALID (the rule's files), REGISTRY_* (could not decide)
 */
export async function verifyCosign(config: CosignConfig, input: SchemeInput): Promise<SchemeVerification> {
  const ctx: Ctx = {
    input,
    config,
    trust: trustOf(config),
    policy: { identities: config.identities ?? [], ...(config.requireTlog !== undefined ? { requireTlog: config.requireTlog } : {}) },
    now: input.clock.now(),
    signatures: [],
    failures: [],
  };
  await classic(ctx);
  const image = await input.registry.getManifest(input.reference, input.digest);
  await bundles(ctx, image.bytes);
  const verified = ctx.signatures.length > 0;
  if (!verified && ctx.failures.length === 0) {
    fail(ctx, 'COSIGN_NO_SIGNATURES', `expected a cosign signature (${cosignSignatureTag(input.digest)}) or a Sigstore bundle referrer for ${input.digest}, got none`);
  }
  // No cacheKey: the verdict also depends on what the registry holds now and, for a certificate
  // without a timestamp, on the current time, not on the policy's files alone.
  return { verified, signatures: ctx.signatures, failures: ctx.failures };
}
