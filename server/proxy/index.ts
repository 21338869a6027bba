/**
 * The registry plugin (DESIGN §9): a verifying proxy in front of any registry, the same pull
 * enforcement for the embedded registry, and (server/notifications.ts) the receiver of a
 * registry's notification events.
 */
export { proxyPlugin } from './plugin.js';
export { proxyServerPlugin } from './server-plugin.js';
export type { ProxyServerOptions, ProxyServerPlugin } from './server-plugin.js';
export { registryEnforcement } from './embedded.js';
export type { RegistryEnforcement, RegistryEnforcementOptions } from './embedded.js';
export { createEnforcer, decisionOf, summarizeFailures, collectionCandidates } from './enforce.js';
export type { Enforcer, EnforcerOptions, LocalTrustStore } from './enforce.js';
export { publisherBypass, presentedToken } from './caller.js';
export type { PresentedToken, PublisherBypassOptions } from './caller.js';
export { classifyManifest, RUNNABLE_CONFIG_TYPES } from './artifact.js';
export { LocalRegistryClient, remapRegistry } from './clients.js';
export { OCITRUST_TOKEN_HEADER } from './headers.js';
export { parseUpstream, resolveProxyOptions } from './options.js';
export type { BypassFn, DecideContext, DecideFn, Decision, DecisionListener, ProxyOptions, ReferrerListener } from './options.js';
