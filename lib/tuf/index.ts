// The TUF client (DESIGN §3, §5 step 1): trust state, metadata sources, persistence, workflow.
export { TrustedSet } from './trusted-set.js';
export type { TrustedSetOptions } from './trusted-set.js';
export { Updater, DEFAULT_MAX_CACHE_AGE_SECONDS } from './updater.js';
export type { UpdaterOptions, RefreshResult } from './updater.js';
export { HttpMetadataSource, DirectoryMetadataSource, MemoryMetadataSource, metadataFileName, parseMetadataFileName } from './source.js';
export type { MetadataSource, MetadataFile, HttpMetadataSourceOptions } from './source.js';
export { FileTrustCache, MemoryTrustCache, trustServerId } from './store.js';
export type { TrustCache, CachedTrust, TrustStateKey } from './store.js';
export { rootMeaningFingerprint } from './root-meaning.js';
export type { ChainLink } from './root-meaning.js';
