import type { Db } from '../storage/types.js';
import type { AuditLog } from '../audit.js';
import type { Authz } from '../auth.js';
import type { ServerMetrics } from '../metrics.js';
import type { ResolvedAppOptions } from '../options.js';
import type { TrustService } from '../trust/service.js';
import type { WebhookEvents } from '../webhooks/index.js';

/** What every route module is given by buildApp. */
export interface RouteContext {
  readonly db: Db;
  readonly trust: TrustService;
  readonly authz: Authz;
  readonly audit: AuditLog;
  readonly metrics: ServerMetrics;
  readonly opts: ResolvedAppOptions;
  /** Webhook outbox (token events commit with the token change). */
  readonly webhooks?: WebhookEvents;
}
