import type { Authz, Principal } from './auth.js';
import type { ServerMetrics } from './metrics.js';
import type { AuditLog } from './audit.js';
import type { TrustService } from './trust/service.js';
import type { Db } from './storage/types.js';
import type { WebhookEvents } from './webhooks/index.js';

/** What buildApp decorates the fastify instance with (`app.ocitrust`), for mounted plugins and tests. */
export interface OcitrustServerContext {
  readonly db: Db;
  readonly trust: TrustService;
  readonly authz: Authz;
  readonly audit: AuditLog;
  readonly metrics: ServerMetrics;
  /** Writes webhook events to the outbox (server/webhooks/). */
  readonly webhooks: WebhookEvents;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The trust server's services (see {@link OcitrustServerContext}). */
    ocitrust: OcitrustServerContext;
  }
  interface FastifyRequest {
    /** Who sent the request (set by the authentication hook; anonymous when no token). */
    principal: Principal;
    /** Route label for metrics when the route pattern is a wildcard. */
    metricsRoute: string | null;
  }
  interface FastifyContextConfig {
    /** Route authenticates callers itself (or not at all): no bearer-token authentication here. */
    open?: boolean;
    /** Health probe: exempt from the IP allowlist too (the orchestrator probes from its own addresses). */
    probe?: boolean;
  }
}
