/** The embedded OCI registry (distribution spec v1.1 with the referrers API). */
export { registryPlugin } from './plugin.js';
export { registryMigrations } from './schema.js';
export { DEFAULT_REGISTRY_LIMITS } from './options.js';
export type {
  AccessDecision,
  AccessRequest,
  AuthorizeHook,
  GateDecision,
  ManifestGate,
  ManifestInfo,
  RegistryAction,
  RegistryLimits,
  RegistryOptions,
} from './options.js';
export { isRepositoryName, isTag } from './names.js';
export { toWireError, type WireCode, type WireError } from './errors.js';
