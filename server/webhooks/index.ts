/**
 * Webhooks of the trust server (docs/webhooks.md): trust events written to an outbox in the
 * transaction of the change, delivered at least once, signed per Standard Webhooks.
 *
 * {@link mountWebhooks} is what buildApp calls; {@link WebhookEvents} is the small emitting
 * surface other server parts use (`app.ocitrust.webhooks`).
 */
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../../lib/clock.js';
import { OcitrustError } from '../../lib/errors/index.js';
import type { AuditLog } from '../audit.js';
import type { Authz } from '../auth.js';
import type { Db, Queryable } from '../storage/types.js';
import { classify, type AddressPolicy } from './address.js';
import { Deliverer, type DelivererStats } from './deliverer.js';
import type { EventInput } from './events.js';
import { recordEvent } from './outbox.js';
import { resolveWebhookOptions, type WebhookOptions } from './options.js';
import { webhookRoutes } from './routes.js';
import type { Sealer } from './store.js';

export type { WebhookOptions } from './options.js';
export type { EventInput, EventName } from './events.js';
export { webhookMigrations } from './migrations.js';

/** Emitting events: on the caller's transaction, or in a small transaction of its own. */
export interface WebhookEvents {
  /** Writes `e` on `tx`, so it commits with the change it describes. Returns the event id, or null when nobody subscribed. */
  record(tx: Queryable, e: EventInput): Promise<string | null>;
  /** Writes `e` in its own transaction (denials, staleness: events that are not part of a data change). */
  emit(e: EventInput): Promise<string | null>;
  /**
   * Reports trust data going stale (a timestamp near expiry, a refresh failing in a long-running
   * service): a `trust.stale` event, at most one per collection and reason per `staleEveryMs`
   * (default 1 h) from this instance. Never throws; returns the event id when one was written.
   */
  stale(collection: string | null, reason: string, data?: Readonly<Record<string, unknown>>): Promise<string | null>;
}

/**
 * Builds the emitter for `db` (no subscriptions: nothing is written).
 * @example await app.ocitrust.webhooks.stale('reg.example.com/app', 'refresh-failed', { code: 'TRUST_SERVER_UNREACHABLE' })
 */
export function webhookEvents(db: Db, clock: Clock, opts: { staleEveryMs?: number; log?: { warn(o: object, m: string): void } } = {}): WebhookEvents {
  const lastStale = new Map<string, number>();
  const every = opts.staleEveryMs ?? 3_600_000;
  const emit = (e: EventInput): Promise<string | null> => db.transaction((tx) => recordEvent(tx, e, clock.now()));
  return {
    record: (tx, e) => recordEvent(tx, e, clock.now()),
    emit,
    async stale(collection, reason, data = {}) {
      const key = `${collection ?? ''}\0${reason}`;
      const now = Date.now();
      if (now - (lastStale.get(key) ?? -Infinity) < every) return null;
      if (lastStale.size > 10_000) lastStale.clear();
      lastStale.set(key, now);
      try {
        return await emit({ name: 'trust.stale', collection, data: { ...data, reason: reason.slice(0, 200) } });
      } catch (err) {
        opts.log?.warn({ err }, 'webhook trust.stale event not written');
        return null;
      }
    },
  };
}

/** What {@link mountWebhooks} needs from buildApp. */
export interface WebhookMountContext {
  readonly db: Db;
  readonly audit: AuditLog;
  readonly authz: Authz;
  readonly clock: Clock;
  /** Seals signing secrets at rest: the key vault the trust service opened (no second key derivation). */
  readonly sealer: Sealer;
}

/** The running webhook feature. */
export interface MountedWebhooks {
  readonly stats: DelivererStats | null;
  /** Starts delivering (after the server listens, so the loopback rule sees the listener). */
  start(): Promise<void>;
  /** Stops delivering; deliveries in flight finish or time out. */
  stop(): Promise<void>;
}

/**
 * Registers `/v1/webhooks` on `app` and prepares the deliverer.
 * @throws OcitrustError SERVER_SECRET_INVALID, INVALID_ARGUMENT
 */
export async function mountWebhooks(app: FastifyInstance, ctx: WebhookMountContext, options: WebhookOptions | undefined): Promise<MountedWebhooks> {
  const o = resolveWebhookOptions(options);
  const vault = ctx.sealer;
  const policy: AddressPolicy = {
    allowPrivate: o.allowPrivate,
    // Loopback receivers are fine when nothing but this host can reach the server either.
    allowLoopback: () => {
      const a = app.server.address();
      return typeof a === 'object' && a !== null && classify(a.address) === 'loopback';
    },
  };
  await app.register(async (i) => webhookRoutes(i, { db: ctx.db, audit: ctx.audit, authz: ctx.authz, clock: ctx.clock, sealer: vault, policy }));
  const deliverer = o.deliver ? new Deliverer(ctx.db, o, vault, policy, { warn: (obj, msg) => app.log.warn(obj, msg) }) : null;
  let started = false;
  return {
    stats: deliverer?.stats ?? null,
    async start() {
      if (started || !deliverer) return;
      started = true;
      await deliverer.start();
    },
    async stop() {
      if (deliverer) await deliverer.stop();
    },
  };
}
