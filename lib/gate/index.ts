/**
 * The gate (issue 13): one decision engine for the CLI, the admission webhooks, the verifying
 * proxy and the embedded registry. See gate.ts.
 */
export { createGate, mainFailure, type Gate, type GateOptions, type GateAnswer, type GateMode, type GateStats, type CheckContext, type TrustProvider } from './gate.js';
export { outcomeOfCode, exitOfCode, type GateOutcome } from './outcome.js';
export { TrustPool, pinRootAdvice, type TrustPoolOptions, type TrustState, type FreshnessSink, type GateLog } from './trust-pool.js';
export { LocalMetadataSource, type LocalTrustStore } from './local-source.js';
export { ManifestMemo, type MemoStats } from './manifest-memo.js';
export { VerificationCache, verificationCacheKey, type VerificationCacheOptions, type CacheStats, type CacheKeyParts } from './verdict-cache.js';
