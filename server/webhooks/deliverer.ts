/**
 * The deliverer: claims due outbox rows with a lease, sends them (bounded concurrency, a
 * deadline per request), and records the outcome. At least once: a row is marked delivered only
 * after a 2xx; an instance that dies mid-delivery holds its lease only until `lease_until`, then
 * any instance retries it with the same `webhook-id`.
 *
 * Several instances on one PostgreSQL share the work: claiming is one UPDATE over
 * `SELECT … FOR UPDATE SKIP LOCKED`, so a row is claimed by one instance at a time. SQLite has one
 * writer, so the same UPDATE is atomic there too.
 *
 * Order: a row is claimable only when no older row of the same subscription and collection is
 * still pending, so a receiver sees each collection's events in commit order (a parked row no
 * longer holds the ones after it back).
 */
import { randomBytes } from 'node:crypto';
import type { Db, Row } from '../storage/types.js';
import { parseJson } from '../../lib/json.js';
import type { AddressPolicy } from './address.js';
import type { CloudEvent } from './events.js';
import { render, type Format } from './formats.js';
import { WEBHOOK_CHANNEL } from './outbox.js';
import { agents, send, type Agents, type SendResult } from './send.js';
import { signatureHeader } from './signing.js';
import { openSecrets, type Sealer } from './store.js';

/** Delivery settings (all have defaults; tests shorten them). */
export interface DelivererSettings {
  /** Most deliveries in flight per instance (default 8). */
  readonly concurrency: number;
  /** Deadline of one request, connect to last byte (default 10 000 ms). */
  readonly timeoutMs: number;
  /** First retry delay (default 5 000 ms); doubles per attempt, with jitter. */
  readonly backoffBaseMs: number;
  /** Longest retry delay (default 1 h). */
  readonly backoffMaxMs: number;
  /** Retry window: after it a failing delivery is parked as dead (default 24 h). */
  readonly maxAgeMs: number;
  /** How long a claim holds (default timeout + 30 s); a dead instance's rows are retried after it. */
  readonly leaseMs: number;
  /** How often the queue is polled besides the commit notifications (default 1 000 ms). */
  readonly pollMs: number;
}

/** Counters the metrics endpoint can read. */
export interface DelivererStats {
  delivered: number;
  failed: number;
  dead: number;
}

interface Claimed {
  readonly id: number;
  readonly eventId: string;
  readonly subscriptionId: string;
  readonly body: string;
  readonly attempts: number;
  readonly windowStart: number;
}

/** Next retry delay after `attempts` failed attempts: exponential, capped, with ±25 % jitter. */
export function backoffDelay(attempts: number, base: number, max: number): number {
  const raw = Math.min(max, base * 2 ** Math.min(Math.max(attempts - 1, 0), 30));
  return Math.max(1, Math.round(raw * (0.75 + Math.random() * 0.5)));
}

/** The claim statement; PostgreSQL skips rows another instance is claiming right now. */
function claimSql(dialect: Db['dialect']): string {
  return `UPDATE webhook_deliveries SET lease_owner = $1, lease_until = $2, attempts = attempts + 1
    WHERE id IN (
      SELECT d.id FROM webhook_deliveries d
      WHERE d.status = 'pending' AND d.next_at <= $3 AND (d.lease_until IS NULL OR d.lease_until < $3)
        AND NOT EXISTS (
          SELECT 1 FROM webhook_deliveries p
          WHERE p.subscription_id = d.subscription_id AND p.order_key = d.order_key AND p.status = 'pending' AND p.id < d.id)
      ORDER BY d.id LIMIT $4${dialect === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : ''})
    AND status = 'pending' AND (lease_until IS NULL OR lease_until < $3)
    RETURNING id, event_id, subscription_id, body, attempts, window_start`;
}

/** Runs the delivery loop of one instance. */
export class Deliverer {
  readonly #db: Db;
  readonly #s: DelivererSettings;
  readonly #sealer: Sealer;
  readonly #policy: AddressPolicy;
  readonly #log: { warn(o: object, m: string): void };
  readonly #owner = 'i_' + randomBytes(8).toString('hex');
  readonly #inflight = new Set<Promise<void>>();
  readonly stats: DelivererStats = { delivered: 0, failed: 0, dead: 0 };
  #timer: NodeJS.Timeout | null = null;
  #unlisten: (() => Promise<void>) | null = null;
  #claiming = false;
  #again = false;
  #stopped = true;
  #agents: Agents | null = null;
  /** Opened secrets by subscription id and sealed value (a rotation changes the sealed value). */
  readonly #secrets = new Map<string, { sealed: string; secrets: string[] }>();

  constructor(db: Db, settings: DelivererSettings, sealer: Sealer, policy: AddressPolicy, log: { warn(o: object, m: string): void }) {
    this.#db = db;
    this.#s = settings;
    this.#sealer = sealer;
    this.#policy = policy;
    this.#log = log;
  }

  /** Starts polling and listening for commits. */
  async start(): Promise<void> {
    this.#stopped = false;
    this.#agents = agents(this.#s.concurrency);
    this.#unlisten = await this.#db.listen(WEBHOOK_CHANNEL, () => this.kick());
    this.#timer = setInterval(() => {
      this.kick();
      this.#pruneSometimes();
    }, this.#s.pollMs);
    this.#timer.unref();
    this.kick();
  }

  /** Stops claiming and waits for the deliveries in flight (each bounded by the request timeout). */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    const u = this.#unlisten;
    this.#unlisten = null;
    if (u) await u().catch(() => undefined);
    while (this.#claiming || this.#inflight.size > 0) {
      await Promise.allSettled([...this.#inflight]);
      if (this.#claiming) await new Promise((r) => setTimeout(r, 5));
    }
    this.#agents?.http.destroy();
    this.#agents?.https.destroy();
    this.#agents = null;
  }

  #lastPrune = 0;

  /**
   * Every 10 minutes: drops delivered rows after 7 days and parked ones after 30 (the outbox is
   * a queue, not an archive; the audit log keeps the changes themselves).
   */
  #pruneSometimes(): void {
    const now = Date.now();
    if (now - this.#lastPrune < 600_000) return;
    this.#lastPrune = now;
    void this.#db
      .exec("DELETE FROM webhook_deliveries WHERE (status = 'delivered' AND done_at < $1) OR (status = 'dead' AND done_at < $2)", [now - 7 * 86_400_000, now - 30 * 86_400_000])
      .catch((err: unknown) => this.#log.warn({ err }, 'webhook deliveries: pruning failed'));
  }

  /** Looks for due rows now (after a local commit, a notification or the poll timer). */
  kick(): void {
    if (this.#stopped) return;
    if (this.#claiming) {
      this.#again = true;
      return;
    }
    this.#claiming = true;
    void this.#claimLoop()
      .catch((err: unknown) => this.#log.warn({ err }, 'webhook deliveries: claiming failed'))
      .finally(() => {
        this.#claiming = false;
      });
  }

  async #claimLoop(): Promise<void> {
    do {
      this.#again = false;
      const free = this.#s.concurrency - this.#inflight.size;
      if (free <= 0 || this.#stopped) return;
      const now = Date.now();
      const rows = await this.#db.query(claimSql(this.#db.dialect), [this.#owner, now + this.#s.leaseMs, now, free]);
      for (const r of rows) this.#track(this.#deliver(claimed(r)));
      if (rows.length === free) this.#again = true;
    } while (this.#again && !this.#stopped);
  }

  #track(p: Promise<void>): void {
    const q = p
      .catch((err: unknown) => this.#log.warn({ err }, 'webhook delivery failed unexpectedly'))
      .finally(() => {
        this.#inflight.delete(q);
        this.kick();
      });
    this.#inflight.add(q);
  }

  async #deliver(c: Claimed): Promise<void> {
    const subs = await this.#db.query('SELECT * FROM webhook_subscriptions WHERE id = $1', [c.subscriptionId]);
    const sub = subs[0];
    if (!sub) {
      await this.#db.exec("DELETE FROM webhook_deliveries WHERE id = $1 AND status = 'pending'", [c.id]);
      return;
    }
    let result: SendResult;
    try {
      let cached = this.#secrets.get(c.subscriptionId);
      if (!cached || cached.sealed !== String(sub.secrets)) {
        cached = { sealed: String(sub.secrets), secrets: openSecrets(this.#sealer, sub) };
        if (this.#secrets.size > 10_000) this.#secrets.clear();
        this.#secrets.set(c.subscriptionId, cached);
      }
      const secrets = cached.secrets;
      const event = parseJson(c.body, { maxBytes: 1024 * 1024, what: 'outbox event' }) as unknown as CloudEvent;
      const { body, contentType } = render(event, String(sub.format) as Format);
      const ts = Math.floor(Date.now() / 1000);
      const headers = {
        'content-type': contentType,
        'webhook-id': c.eventId,
        'webhook-timestamp': String(ts),
        'webhook-signature': signatureHeader(secrets, c.eventId, ts, body),
      };
      result = await send(new URL(String(sub.url)), headers, body, this.#s.timeoutMs, this.#policy, this.#agents ?? undefined);
    } catch (e) {
      result = { ok: false, status: null, error: `${(e as { code?: string }).code ?? 'INTERNAL'}: ${(e as Error).message}`.slice(0, 500), refused: true };
    }
    await this.#record(c, result);
  }

  #marks: { id: number; status: number }[] = [];
  #flushing: Promise<void> | null = null;

  /**
   * Marks a row delivered. Marks that arrive while one is being written go together in the
   * next statement: one commit (one fsync on SQLite) for many deliveries. A crash before the
   * mark only means the event is delivered again, with the same id.
   */
  #markDelivered(id: number, status: number): Promise<void> {
    this.#marks.push({ id, status });
    this.#flushing ??= (async () => {
      try {
        while (this.#marks.length > 0) {
          const batch = this.#marks.splice(0, 500);
          for (const status of new Set(batch.map((b) => b.status))) {
            const ids = batch.filter((b) => b.status === status).map((b) => b.id);
            await this.#db.exec(
              `UPDATE webhook_deliveries SET status = 'delivered', done_at = $1, last_status = $2, last_error = NULL, lease_owner = NULL, lease_until = NULL WHERE id IN (${ids.map((_, i) => `$${i + 3}`).join(', ')}) AND status = 'pending'`,
              [Date.now(), status, ...ids],
            );
          }
        }
      } finally {
        this.#flushing = null;
      }
    })();
    return this.#flushing;
  }

  async #record(c: Claimed, r: SendResult): Promise<void> {
    const now = Date.now();
    if (r.ok) {
      this.stats.delivered++;
      await this.#markDelivered(c.id, r.status ?? 200);
      return;
    }
    this.stats.failed++;
    const windowEnd = c.windowStart + this.#s.maxAgeMs;
    if (r.refused || now >= windowEnd) {
      this.stats.dead++;
      this.#log.warn({ delivery: c.id, event: c.eventId, subscription: c.subscriptionId, error: r.error }, 'webhook delivery parked as dead');
      await this.#db.exec(
        "UPDATE webhook_deliveries SET status = 'dead', done_at = $1, last_status = $2, last_error = $3, lease_owner = NULL, lease_until = NULL WHERE id = $4 AND status = 'pending'",
        [now, r.status, r.error, c.id],
      );
      return;
    }
    const next = Math.min(now + backoffDelay(c.attempts, this.#s.backoffBaseMs, this.#s.backoffMaxMs), windowEnd);
    await this.#db.exec(
      'UPDATE webhook_deliveries SET next_at = $1, last_status = $2, last_error = $3, lease_owner = NULL, lease_until = NULL WHERE id = $4 AND lease_owner = $5',
      [next, r.status, r.error, c.id, this.#owner],
    );
  }
}

function claimed(r: Row): Claimed {
  return {
    id: Number(r.id),
    eventId: String(r.event_id),
    subscriptionId: String(r.subscription_id),
    body: String(r.body),
    attempts: Number(r.attempts),
    windowStart: Number(r.window_start),
  };
}
