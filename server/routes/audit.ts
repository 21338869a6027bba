import type { FastifyInstance } from 'fastify';
import { auditEntrySchema, type AuditOutcome } from '../audit.js';
import { checkCollectionName } from '../names.js';
import { queryInteger } from '../query.js';
import type { RouteContext } from './context.js';

interface AuditQuerystring {
  collection?: string;
  actor?: string;
  since?: string;
  until?: string;
  outcome?: AuditOutcome;
  limit?: string;
  cursor?: string;
}

/**
 * `GET /v1/audit`: the audit log, newest first, paged by cursor. Filtering by collection needs
 * admin on that collection; the unfiltered log needs an admin token for every collection (`**`).
 */
export async function auditRoutes(app: FastifyInstance, ctx: RouteContext): Promise<void> {
  app.addSchema(auditEntrySchema);
  app.get<{ Querystring: AuditQuerystring }>(
    '/v1/audit',
    {
      schema: {
        summary: 'Query the audit log',
        description: 'Every write and every denied attempt: who, what, when, collection, versions, source address, outcome.',
        tags: ['audit'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            collection: { type: 'string', maxLength: 255 },
            actor: { type: 'string', maxLength: 200, description: 'Token name or token id.' },
            since: { type: 'string', description: 'Inclusive, YYYY-MM-DDTHH:MM:SSZ.' },
            until: { type: 'string', description: 'Exclusive, YYYY-MM-DDTHH:MM:SSZ.' },
            outcome: { type: 'string', enum: ['ok', 'denied', 'rejected', 'error'] },
            limit: { type: 'string', maxLength: 20, description: 'Entries per page, 1-1000 (default 100).' },
            cursor: { type: 'string', maxLength: 64 },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['entries', 'nextCursor'],
            properties: { entries: { type: 'array', items: { $ref: 'AuditEntry#' } }, nextCursor: { type: ['string', 'null'] } },
          },
          400: { $ref: 'ErrorBody#' },
          401: { $ref: 'ErrorBody#' },
          403: { $ref: 'ErrorBody#' },
        },
      },
    },
    async (request) => {
      const { limit, ...q } = request.query;
      const collection = q.collection === undefined ? null : checkCollectionName(q.collection);
      const n = queryInteger(limit, 'limit', 1, 1000, 'AUDIT_QUERY_INVALID');
      await ctx.authz.require(request.principal, 'admin', collection, 'audit.read');
      return ctx.audit.query({ ...q, ...(n !== undefined ? { limit: n } : {}) });
    },
  );
}
