import type { FastifyInstance } from 'fastify';
import { OcitrustError, isOcitrustError } from '../../lib/errors/index.js';
import type { RouteContext } from './context.js';

/**
 * Operations routes: liveness (`/healthz`: the process answers), readiness (`/readyz`: the
 * database answers), Prometheus metrics (`/metrics`) and the OpenAPI document (`/openapi.json`).
 */
export async function healthRoutes(app: FastifyInstance, ctx: RouteContext): Promise<void> {
  const status = { type: 'object', required: ['status'], properties: { status: { type: 'string' } } } as const;

  app.get('/healthz', { config: { open: true, probe: true }, schema: { summary: 'Liveness', tags: ['operations'], response: { 200: status } } }, async () => ({ status: 'ok' }));

  app.get(
    '/readyz',
    { config: { open: true, probe: true }, schema: { summary: 'Readiness: the database answers and no trust data in use has expired (`degraded`: some is stale)', tags: ['operations'], response: { 200: status, 503: { $ref: 'ErrorBody#' } } } },
    async () => {
      try {
        await ctx.db.ping();
      } catch (e) {
        throw new OcitrustError('SERVER_NOT_READY', `database unreachable: ${isOcitrustError(e) ? e.code : 'error'}`, { cause: e });
      }
      // Trust data the webhooks or the proxy decide with (server/trust-freshness.ts): expired
      // → not ready (every verification against it is denied); stale → still serving, degraded.
      const t = ctx.metrics.trustFreshness.readiness();
      if (t.status === 'expired') throw new OcitrustError('SERVER_NOT_READY', `trust data expired: ${t.problems.join('; ').slice(0, 900)}`);
      return { status: t.status };
    },
  );

  app.get(
    '/metrics',
    { schema: { summary: 'Prometheus metrics (text format 0.0.4)', tags: ['operations'], response: { 200: { type: 'string' } } } },
    async (_request, reply) => reply.type('text/plain; version=0.0.4; charset=utf-8').send(ctx.metrics.render()),
  );

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
