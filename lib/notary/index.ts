/**
 * Notary v1 / Docker Content Trust: the client workflow against a pinned root (client.ts), the
 * documents (metadata.ts), where they come from (source.ts), rollback state (state.ts) and the
 * `notaryV1` policy scheme (scheme.ts).
 */
export { loadNotaryRepo, parseNotaryPin, NOTARY_LIMITS, type NotaryPin, type TrustedNotaryRepo, type LoadNotaryRepoOptions } from './client.js';
export { httpNotarySource, memoryNotarySource, type NotarySource, type HttpNotarySourceOptions } from './source.js';
export { fileStateStore, memoryStateStore, type NotaryState, type NotaryStateStore } from './state.js';
export { notaryV1Scheme, delegationName, DEFAULT_DELEGATION, type NotaryV1Config } from './scheme.js';
export { verifyNotaryV1, judgeTag, type NotaryCheckContext } from './verify-tag.js';
