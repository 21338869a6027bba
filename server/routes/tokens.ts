import type { FastifyInstance } from 'fastify';
import { OcitrustError } from '../../lib/errors/index.js';
import { parseTime } from '../../lib/clock.js';
import { patternCovers } from '../names.js';
import { createToken, getToken, listTokens, revokeToken, tokenRecordSchema, tokenUsable, type TokenRecord, type TokenRole } from '../tokens.js';
import type { Principal } from '../auth.js';
import type { RouteContext } from './context.js';
import { actorOf } from './collections.js';
import { tokenCreatedEvent, tokenRevokedEvent } from '../webhooks/denials.js';

const errors = { 400: { $ref: 'ErrorBody#' }, 401: { $ref: 'ErrorBody#' }, 403: { $ref: 'ErrorBody#' }, 404: { $ref: 'ErrorBody#' } } as const;

/** True when the caller is an admin whose patterns cover every pattern of `patterns`. */
function covers(p: Principal, patterns: readonly string[], now: Date): boolean {
  const t = p.token;
  if (!t || t.role !== 'admin' || !tokenUsable(t, now)) return false;
  return patterns.every((inner) => t.patterns.some((outer) => patternCovers(outer, inner)));
}

/**
 * Token administration over HTTP (admin tokens only, and only for collections within the
 * admin's own patterns). The first admin token comes from the operator's command line
 * (`trust server token create`), which writes to the database directly.
 */
export async function tokenRoutes(app: FastifyInstance, ctx: RouteContext): Promise<void> {
  const { db, authz, audit, opts } = ctx;
  app.addSchema(tokenRecordSchema);

  /** Denies (audited) unless the caller is an admin covering `patterns`. */
  const requireCover = async (p: Principal, patterns: readonly string[], action: string): Promise<void> => {
    if (covers(p, patterns, opts.clock.now())) return;
    const code = p.token ? 'PERMISSION_DENIED' : 'AUTH_REQUIRED';
    await authz.deny(p, code, action, null, `needs an admin token covering ${patterns.join(',').slice(0, 200)}`);
    throw new OcitrustError(code, `${action} needs an admin token whose collection patterns cover ${patterns.join(', ').slice(0, 200)}`);
  };

  app.post<{ Body: { role: TokenRole; patterns: string[]; name?: string; expiresAt?: string } }>(
    '/v1/tokens',
    {
      schema: {
        summary: 'Create a token',
        description: 'Creates a bearer token; the secret is returned once. Needs an admin token whose patterns cover the new token\'s.',
        tags: ['tokens'],
        body: {
          type: 'object',
          required: ['role', 'patterns'],
          additionalProperties: false,
          properties: {
            role: { type: 'string', enum: ['reader', 'publisher', 'admin'] },
            patterns: { type: 'array', minItems: 1, maxItems: 64, items: { type: 'string', maxLength: 255 } },
            name: { type: 'string', maxLength: 128 },
            expiresAt: { type: 'string', description: 'YYYY-MM-DDTHH:MM:SSZ' },
          },
        },
        response: { 201: { type: 'object', required: ['secret', 'token'], properties: { secret: { type: 'string' }, token: { $ref: 'Token#' } } }, ...errors },
      },
    },
    async (request, reply) => {
      const b = request.body;
      await requireCover(request.principal, b.patterns, 'token.create');
      let expiresAt: Date | null = null;
      if (b.expiresAt !== undefined) {
        expiresAt = parseTime(b.expiresAt);
        if (!expiresAt) throw new OcitrustError('REQUEST_INVALID', 'expiresAt: expected YYYY-MM-DDTHH:MM:SSZ');
      }
      // Token, audit entry and webhook event commit together.
      const created = await db.transaction(async (tx) => {
        const c = await createToken(tx, {
          role: b.role,
          patterns: b.patterns,
          ...(b.name !== undefined ? { name: b.name } : {}),
          expiresAt,
          createdBy: request.principal.tokenId,
          clock: opts.clock,
        });
        const auditId = await audit.record({ ...actorOf(request), action: 'token.create', outcome: 'ok', detail: `${c.token.id} ${c.token.role} ${c.token.patterns.join(',')}`.slice(0, 500) }, tx);
        await ctx.webhooks?.record(tx, tokenCreatedEvent(c.token, request.principal.actor, auditId));
        return c;
      });
      return reply.code(201).send(created);
    },
  );

  app.get(
    '/v1/tokens',
    {
      schema: {
        summary: 'List tokens',
        description: 'Tokens whose patterns the calling admin token covers (never their secrets).',
        tags: ['tokens'],
        response: { 200: { type: 'object', required: ['tokens'], properties: { tokens: { type: 'array', items: { $ref: 'Token#' } } } }, ...errors },
      },
    },
    async (request) => {
      const p = request.principal;
      if (!p.token || p.token.role !== 'admin') await requireCover(p, ['**'], 'token.list');
      const now = opts.clock.now();
      const tokens = (await listTokens(db)).filter((t: TokenRecord) => covers(p, t.patterns, now));
      return { tokens };
    },
  );

  app.get(
    '/v1/tokens/self',
    {
      schema: {
        summary: 'The calling token',
        description: 'The record of the token the request carries (role, collection patterns, expiry; never its secret), for `trust whoami`. Any valid token may ask about itself.',
        tags: ['tokens'],
        response: { 200: { $ref: 'Token#' }, ...errors },
      },
    },
    async (request) => {
      const p = request.principal;
      if (!p.token) {
        await authz.deny(p, 'AUTH_REQUIRED', 'token.self', null, 'no token');
        throw new OcitrustError('AUTH_REQUIRED', 'token.self needs a bearer token: log in with `trust login SERVER` or set OCITRUST_TOKEN');
      }
      return p.token;
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/tokens/:id',
    {
      schema: {
        summary: 'Revoke a token',
        tags: ['tokens'],
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^tok_[0-9a-f]{16}$' } } },
        response: { 200: { $ref: 'Token#' }, ...errors },
      },
    },
    async (request) => {
      const t = await getToken(db, request.params.id);
      // Unknown ids and ids outside the caller's reach look alike, so ids cannot be probed.
      await requireCover(request.principal, t ? t.patterns : ['**'], 'token.revoke');
      if (!t) throw new OcitrustError('TOKEN_NOT_FOUND', `no token with id ${request.params.id}`);
      const revoked = await db.transaction(async (tx) => {
        const r = await revokeToken(tx, t.id, opts.clock);
        const auditId = await audit.record({ ...actorOf(request), action: 'token.revoke', outcome: 'ok', detail: t.id }, tx);
        await ctx.webhooks?.record(tx, tokenRevokedEvent(r, request.principal.actor, auditId));
        return r;
      });
      return revoked;
    },
  );
}
