/**
 * The outbox: {@link recordEvent} writes one delivery row per matching subscription on the
 * caller's transaction, so an event exists exactly when the change it describes committed.
 * The deliverer (deliverer.ts) sends the rows later, from whichever instance claims them.
 */
import { parseJson } from '../../lib/json.js';
import { matchesPattern } from '../names.js';
import type { Queryable } from '../storage/types.js';
import { cloudEvent, newEventId, type EventInput } from './events.js';

/** Notification channel that wakes the deliverers of every instance after a commit. */
export const WEBHOOK_CHANNEL = 'ocitrust_webhooks';

/** A subscription's filters, as {@link recordEvent} matches them. */
interface Filter {
  readonly id: string;
  readonly events: readonly string[];
  readonly collections: readonly string[];
}

function list(text: unknown): string[] {
  try {
    const v = parseJson(String(text), { maxBytes: 64 * 1024, what: 'webhook filter' });
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * True when a subscription with these filters wants the event. An event without a collection
 * (tokens, server-wide staleness) goes only to subscriptions without a collection filter.
 */
export function wants(f: Pick<Filter, 'events' | 'collections'>, name: string, collection: string | null): boolean {
  if (!(f.events.includes('*') || f.events.includes(name))) return false;
  if (f.collections.includes('**')) return true;
  return collection !== null && f.collections.some((p) => matchesPattern(p, collection));
}

/**
 * Writes `e` to the outbox on `q` (a transaction handle, so the event commits or rolls back with
 * the change). Returns the event id, or null when no subscription wants it (nothing is written).
 * `only` restricts the event to one subscription (the `test` event).
 */
export async function recordEvent(q: Queryable, e: EventInput, at: Date, only?: string): Promise<string | null> {
  const rows = only
    ? await q.query('SELECT id, events, collections FROM webhook_subscriptions WHERE id = $1', [only])
    : await q.query('SELECT id, events, collections FROM webhook_subscriptions ORDER BY id');
  const targets = only
    ? rows.map((r) => String(r.id))
    : rows.filter((r) => wants({ events: list(r.events), collections: list(r.collections) }, e.name, e.collection)).map((r) => String(r.id));
  if (targets.length === 0) return null;
  const id = newEventId();
  const body = JSON.stringify(cloudEvent(e, id, at));
  // Scheduling runs on the wall clock the deliverers use; `at` (the server clock) is the event time.
  const t = Date.now();
  for (const sub of targets) {
    await q.exec(
      `INSERT INTO webhook_deliveries (event_id, subscription_id, order_key, type, collection, body, created_at, window_start, status, attempts, next_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $7, 'pending', 0, $7)`,
      [id, sub, e.collection ?? '', e.name, e.collection, body, t],
    );
  }
  await q.notify(WEBHOOK_CHANNEL, id);
  return id;
}
