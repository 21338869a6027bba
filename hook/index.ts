/**
 * Deploy-time verification (DESIGN §8): Kubernetes manifests for `trust verify-manifests`,
 * AdmissionReview logic and the webhook routes, the verification cache.
 */
export { scanManifests, pinManifests, MAX_MANIFEST_BYTES } from './manifests.js';
export type { ManifestImage, ManifestOptions } from './manifests.js';
export { imagesOfObject, imagesAt, describeImage, podSpecPath, podSpecProblem, isKnownWorkload, knownPodSpecPath, pinnedReference, formatPath, jsonPointer, WORKLOAD_KINDS, CONTAINER_FIELDS } from './images.js';
export type { ImageOccurrence, PathSegments, PodSpecProblem } from './images.js';
export { reviewScope, reviewUid, apiVersionOf, ADMISSION_OPERATIONS } from './review.js';
export type { AdmissionRequest, AdmissionOperation, GroupVersionKind, ReviewScope } from './review.js';
export { reviewAdmission, parseAdmissionReview, admissionDeadlineMs, DEFAULT_TIMEOUT_SECONDS, DEADLINE_SHARE } from './admission.js';
export type {
  AdmissionOptions,
  AdmissionAction,
  AdmissionOutcome,
  AdmissionReviewResponse,
  AdmissionVerifyImage,
  ImageVerdict,
  NamespaceLabelsFn,
  PatchOperation,
  VerifyResultLike,
} from './admission.js';
export { VerificationCache, verificationCacheKey } from '../lib/gate/verdict-cache.js';
export type { VerificationCacheOptions, CacheStats, CacheKeyParts } from '../lib/gate/verdict-cache.js';
export { admissionRoutes } from './routes.js';
export type { AdmissionRouteOptions } from './routes.js';
