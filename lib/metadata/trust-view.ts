import { assertArg } from '../errors/index.js';
import type { TrustedRole, TrustedTargets } from '../verify/trust.js';
import { Targets } from './targets.js';

/**
 * The verifier's view of trusted targets metadata (lib/verify/trust.ts contract). Call it only
 * with targets that the TUF client workflow accepted. The view and its roles are frozen; the
 * keys map is a fresh copy, so changing it cannot change the metadata.
 *
 * @example const view = trustViewFromTargets(result.targets.signed, 'registry.example.com/app')
 * @throws INVALID_ARGUMENT
 */
export function trustViewFromTargets(targets: Targets, collection: string): TrustedTargets {
  assertArg(targets instanceof Targets, 'targets', 'Targets (the signed part of trusted targets metadata)', targets);
  assertArg(typeof collection === 'string' && collection.length > 0, 'collection', 'non-empty string', collection);
  const roles: TrustedRole[] = targets.roles.map((r) =>
    Object.freeze({ name: r.name, keyids: r.keyids, threshold: r.threshold, paths: r.paths, terminating: r.terminating }),
  );
  return Object.freeze({
    collection,
    version: targets.version,
    expires: new Date(targets.expiresAt.getTime()),
    keys: new Map(targets.delegations?.keys ?? []),
    roles: Object.freeze(roles),
    revocations: targets.revocations ?? Object.freeze([]),
  });
}
