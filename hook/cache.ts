/**
 * The admission-specific wrapper of the gate's verdict cache (lib/gate/verdict-cache.ts).
 */
import { withDigest, type ImageReference } from '../lib/reference.js';
import type { ImageRuleOptions } from '../lib/policy/types.js';
import { verificationCacheKey, type VerificationCache } from '../lib/gate/verdict-cache.js';
import type { AdmissionVerifyImage, VerifyResultLike } from './admission.js';

export { VerificationCache, verificationCacheKey, type VerificationCacheOptions, type CacheStats, type CacheKeyParts } from '../lib/gate/verdict-cache.js';

/** What {@link cachingVerifyImage} composes. */
export interface CachingVerifyOptions {
  readonly cache: VerificationCache<VerifyResultLike>;
  /** Tag → digest (one registry round trip); digest-pinned references skip it. */
  readonly resolveDigest: (ref: ImageReference, options: ImageRuleOptions) => Promise<string>;
  /** Current trusted-metadata version of the rule's collection (refreshing it when due). */
  readonly trustVersion: (options: ImageRuleOptions) => Promise<string | number>;
  /** The full verification of the digest-pinned reference. */
  readonly verify: AdmissionVerifyImage;
}

/**
 * Wraps a verifier with the cache: resolve the digest and the trust version, then verify once
 * per key across concurrent requests. The verifier receives the reference pinned to the
 * resolved digest (tag kept for tag binding), so what was cached is what is deployed.
 *
 * @example reviewAdmission(body, 'mutate', { policy, verifyImage: cachingVerifyImage({...}) })
 */
export function cachingVerifyImage(o: CachingVerifyOptions): AdmissionVerifyImage {
  return async (ref, options) => {
    const digest = ref.digest ?? (await o.resolveDigest(ref, options));
    const trustVersion = await o.trustVersion(options);
    const key = verificationCacheKey({
      repository: ref.repository,
      digest,
      ...(options.verify.bindTag && ref.tag !== undefined ? { tag: ref.tag } : {}),
      rule: options.rule,
      policyRevision: options.policyRevision,
      trustVersion,
    });
    const pinnedRef = ref.digest ? ref : withDigest(ref, digest);
    return o.cache.run(key, () => o.verify(pinnedRef, options), (v) => v.verified);
  };
}
