/**
 * Who is pulling: the ocitrust token a caller presents to the proxy, and the default
 * push-then-sign bypass (a publisher token for the repository's collection may read any
 * manifest so that it can be signed).
 *
 * Registry clients have one Authorization header, and through a proxy it normally carries the
 * credential of the upstream. So the proxy accepts its own token in two ways (docs/proxy.md):
 * - `X-Ocitrust-Token: <token>`: the Authorization header still goes upstream untouched;
 * - `Authorization: Bearer <token>` or `Basic base64(any:<token>)` when the value has the
 *   shape of an ocitrust token (`ocit_…`): it is consumed by the proxy and replaced upstream by
 *   the configured upstream credentials, if any.
 * Nothing else (User-Agent, source address, any other header) grants anything.
 */
import type { FastifyRequest } from 'fastify';
import { OcitrustError } from '../../lib/errors/index.js';
import type { Clock } from '../../lib/clock.js';
import type { AuditLog } from '../audit.js';
import { secretOf } from '../auth.js';
import type { Queryable } from '../storage/types.js';
import { findTokenBySecret, isTokenSecret, tokenAllows, tokenUsable, type TokenRecord } from '../tokens.js';
import { OCITRUST_TOKEN_HEADER } from './headers.js';
import type { BypassFn } from './options.js';

/** An ocitrust token presented by a caller, and where it came from. */
export interface PresentedToken {
  readonly secret: string;
  /** `header`: X-Ocitrust-Token; `authorization`: the Authorization header (consumed by the proxy). */
  readonly via: 'header' | 'authorization';
}

/** The ocitrust token in the request, if it carries one (not yet checked against the database). */
export function presentedToken(request: FastifyRequest): PresentedToken | undefined {
  const h = request.headers[OCITRUST_TOKEN_HEADER];
  if (typeof h === 'string' && h !== '') {
    const bearer = /^Bearer[ ]+(\S+)$/i.exec(h.trim());
    return { secret: bearer ? bearer[1]! : h.trim(), via: 'header' };
  }
  const auth = request.headers.authorization;
  if (typeof auth === 'string' && auth !== '') {
    const secret = secretOf(auth);
    if (secret !== null && isTokenSecret(secret)) return { secret, via: 'authorization' };
  }
  return undefined;
}

/**
 * True when `token` is a usable publisher (or admin) token for the image: on a pattern matching
 * the collection that governs it, or its collection-qualified repository name (see
 * qualifiedRepository in server/names.ts). The one rule of the push-then-sign bypass, for the
 * proxy and the embedded registry's pull gate.
 */
export function publisherOf(token: TokenRecord, collection: string, qualifiedRepository: string, now: Date): boolean {
  return tokenAllows(token, 'publisher', collection, now) || (collection !== qualifiedRepository && tokenAllows(token, 'publisher', qualifiedRepository, now));
}

/** Options of {@link publisherBypass}. */
export interface PublisherBypassOptions {
  readonly db: Queryable;
  readonly audit: AuditLog;
  readonly clock: Clock;
  /** The collection whose publishers may bypass for `repository` (default: the repository itself). */
  readonly collectionOf?: (repository: string) => Promise<string>;
}

/**
 * The default {@link BypassFn}: true when the caller presents a usable token with role
 * publisher (or admin) on a pattern matching the repository's collection. Every bypass is
 * audited (`proxy.bypass`); a presented token that is unknown, revoked or expired is refused
 * (401, audited) rather than silently treated as anonymous.
 *
 * @throws OcitrustError AUTH_TOKEN_INVALID
 */
export function publisherBypass(o: PublisherBypassOptions): BypassFn {
  // `repository` is the collection-qualified name (the proxy qualifies with its registryName).
  return async (request, repository) => {
    const presented = presentedToken(request);
    if (!presented) return false;
    const token = isTokenSecret(presented.secret) ? await findTokenBySecret(o.db, presented.secret) : null;
    const now = o.clock.now();
    if (!token || !tokenUsable(token, now)) {
      const why = !token ? 'unknown token' : token.revokedAt ? 'revoked token' : 'expired token';
      await o.audit.record({ actor: 'anonymous', tokenId: token?.id ?? null, action: 'proxy.pull', collection: repository, source: request.ip, outcome: 'denied', code: 'AUTH_TOKEN_INVALID', detail: why });
      throw new OcitrustError('AUTH_TOKEN_INVALID', `the ocitrust token presented to the proxy is not valid (${why})`);
    }
    const collection = o.collectionOf ? await o.collectionOf(repository) : repository;
    const ok = publisherOf(token, collection, repository, now);
    if (ok) {
      await o.audit.record({ actor: token.name, tokenId: token.id, action: 'proxy.bypass', collection, source: request.ip, outcome: 'ok', detail: `unverified manifest read of ${repository} (publisher token)` });
    }
    return ok;
  };
}
