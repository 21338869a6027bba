import type { FastifyRequest } from 'fastify';
import { OcitrustError } from '../lib/errors/index.js';
import type { Clock } from '../lib/clock.js';
import type { Queryable } from './storage/types.js';
import type { AuditLog } from './audit.js';
import { findTokenBySecret, isTokenSecret, tokenAllows, tokenUsable, type TokenRecord, type TokenRole } from './tokens.js';

/** Who sent a request: a token, or nobody (anonymous). */
export interface Principal {
  /** Token name, or `anonymous`. */
  readonly actor: string;
  readonly tokenId: string | null;
  readonly token: TokenRecord | null;
  /** Client address. */
  readonly source: string;
  /** Subject of a verified client certificate (mTLS), if any. */
  readonly certSubject: string | null;
}

/** Options of {@link Authz}. */
export interface AuthzOptions {
  readonly db: Queryable;
  readonly audit: AuditLog;
  readonly clock: Clock;
  /** Whether reads need no token (default true). */
  readonly anonymousRead: boolean;
}

/**
 * Bearer-token authentication and role checks. Tokens are looked up by the SHA-256 of the
 * secret on every request, never from a cache: a revocation (by the API, the operator's command
 * line or another instance on the same database) takes effect with its commit, and one indexed
 * lookup costs tens of microseconds. Every denial is written to the audit log before the request fails.
 */
export class Authz {
  readonly #o: AuthzOptions;

  constructor(o: AuthzOptions) {
    this.#o = o;
  }

  /** Whether reads need no token. */
  get anonymousRead(): boolean {
    return this.#o.anonymousRead;
  }

  /**
   * Resolves the principal of a request from its Authorization header.
   * @throws OcitrustError AUTH_TOKEN_INVALID (audited) for a malformed, unknown, revoked or expired token
   */
  async authenticate(request: FastifyRequest): Promise<Principal> {
    const source = request.ip;
    const certSubject = peerSubject(request);
    const header = request.headers.authorization;
    if (header === undefined || header === '') return { actor: 'anonymous', tokenId: null, token: null, source, certSubject };
    const secret = secretOf(header);
    // Registry clients answer a Basic challenge with empty credentials when they have none.
    if (secret === '') return { actor: 'anonymous', tokenId: null, token: null, source, certSubject };
    const token = secret && isTokenSecret(secret) ? await findTokenBySecret(this.#o.db, secret) : null;
    if (!token || !tokenUsable(token, this.#o.clock.now())) {
      const anonymous: Principal = { actor: 'anonymous', tokenId: token?.id ?? null, token: null, source, certSubject };
      const why = secret === null ? 'the Authorization header is not "Bearer <token>"' : !token ? 'unknown token' : token.revokedAt ? 'revoked token' : 'expired token';
      await this.deny(anonymous, 'AUTH_TOKEN_INVALID', `${request.method} ${routeOf(request)}`, null, why);
      // The embedded registry answers with this challenge header (docker login understands Basic).
      const details = request.url.startsWith('/v2') ? { headers: { 'WWW-Authenticate': 'Basic realm="ocitrust"' } } : undefined;
      const hint = details ? '; the registry takes a trust server token as the Basic password (docker login HOST -u token)' : '';
      throw new OcitrustError('AUTH_TOKEN_INVALID', `${why}; create a new one with \`trust server token create\`${hint}`, details ? { details } : undefined);
    }
    return { actor: token.name, tokenId: token.id, token, source, certSubject };
  }

  /**
   * Checks that the principal may do `action` needing role `need` on `collection` (null: an
   * operation over all collections, which needs the pattern `**`). Readers pass without a token
   * when anonymous reads are on.
   * @throws OcitrustError AUTH_REQUIRED or PERMISSION_DENIED (both audited)
   */
  async require(p: Principal, need: TokenRole, collection: string | null, action: string): Promise<void> {
    if (need === 'reader' && this.#o.anonymousRead) return;
    if (!p.token) {
      await this.deny(p, 'AUTH_REQUIRED', action, collection, `needs a ${need} token`);
      throw new OcitrustError('AUTH_REQUIRED', `${action} needs a bearer token with role ${need}${collection ? ` on ${collection}` : ''}`);
    }
    if (!tokenAllows(p.token, need, collection, this.#o.clock.now())) {
      await this.deny(p, 'PERMISSION_DENIED', action, collection, `token role ${p.token.role} on ${p.token.patterns.join(',')}`);
      throw new OcitrustError(
        'PERMISSION_DENIED',
        `token ${p.token.name} (${p.token.role}) may not ${action}${collection ? ` on ${collection}` : ' on all collections'}: needs ${need}`,
      );
    }
  }

  /** Records a denied attempt. */
  async deny(p: Principal, code: string, action: string, collection: string | null, detail: string): Promise<void> {
    await this.#o.audit.record({
      actor: p.actor,
      tokenId: p.tokenId,
      action,
      collection,
      source: p.source,
      outcome: 'denied',
      code,
      detail: p.certSubject ? `${detail}; client certificate ${p.certSubject}` : detail,
    });
  }
}

/**
 * The token secret in an Authorization header: `Bearer <token>`, or `Basic base64(user:token)`
 * (what `docker login -p <token>` sends to the embedded registry; the user name is ignored).
 * Null when the header has neither form.
 */
export function secretOf(header: string): string | null {
  const bearer = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  if (bearer) return bearer[1]!;
  const basic = /^Basic[ ]+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!basic) return null;
  const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 ? decoded.slice(colon + 1) : null;
}

/** The route pattern (not the raw URL, which may hold junk) for audit details. */
export function routeOf(request: FastifyRequest): string {
  return request.routeOptions?.url ?? request.url.split('?')[0]!.slice(0, 200);
}

function peerSubject(request: FastifyRequest): string | null {
  const sock = request.raw.socket as { authorized?: boolean; getPeerCertificate?: () => { subject?: { CN?: string } } };
  if (!sock.authorized || typeof sock.getPeerCertificate !== 'function') return null;
  const cn = sock.getPeerCertificate()?.subject?.CN;
  return typeof cn === 'string' ? `CN=${cn.slice(0, 200)}` : null;
}
