/**
 * Subscriptions and deliveries in the database. Signing secrets are sealed with the server's
 * key vault (the same encryption at rest as the server keys) and never leave the server.
 */
import { randomBytes } from 'node:crypto';
import { OcitrustError } from '../../lib/errors/index.js';
import { formatTime } from '../../lib/clock.js';
import { parseJson } from '../../lib/json.js';
import type { Queryable, Row, SqlValue } from '../storage/types.js';
import type { Format } from './formats.js';

/** Seals and opens secrets (the server's key vault). */
export interface Sealer {
  seal(plaintext: Uint8Array, context: string): string;
  open(sealed: string, context: string): Buffer;
}

/** A subscription as the API shows it (never its secrets). */
export interface Subscription {
  readonly id: string;
  readonly url: string;
  /** Short event names, or `['*']`. */
  readonly events: readonly string[];
  /** Collection patterns, `['**']` for every collection. */
  readonly collections: readonly string[];
  readonly format: Format;
  /** How many signing secrets are active (2 during a rotation). */
  readonly secrets: number;
  readonly createdAt: string;
  readonly createdBy: string | null;
}

/** A delivery row as the API shows it. */
export interface Delivery {
  readonly id: number;
  readonly eventId: string;
  readonly subscriptionId: string;
  readonly type: string;
  readonly collection: string | null;
  readonly status: 'pending' | 'delivered' | 'dead';
  readonly attempts: number;
  readonly createdAt: string;
  readonly nextAttemptAt: string | null;
  readonly lastStatus: number | null;
  readonly lastError: string | null;
  readonly doneAt: string | null;
}

const ctxOf = (id: string): string => `webhook\0${id}`;

function list(v: unknown): string[] {
  const p = parseJson(String(v), { maxBytes: 64 * 1024, what: 'webhook subscription field' });
  return Array.isArray(p) ? (p as string[]) : [];
}

function toSubscription(r: Row): Subscription {
  return {
    id: String(r.id),
    url: String(r.url),
    events: list(r.events),
    collections: list(r.collections),
    format: String(r.format) as Format,
    secrets: 0,
    createdAt: formatTime(new Date(Number(r.created_at))),
    createdBy: r.created_by === null || r.created_by === undefined ? null : String(r.created_by),
  };
}

/** Inserts a subscription; returns it. */
export async function insertSubscription(
  q: Queryable,
  sealer: Sealer,
  s: { url: string; events: readonly string[]; collections: readonly string[]; format: Format; secrets: readonly string[]; createdBy: string | null; now: number },
): Promise<Subscription> {
  const id = 'whk_' + randomBytes(8).toString('hex');
  const sealed = sealer.seal(Buffer.from(JSON.stringify(s.secrets)), ctxOf(id));
  await q.exec('INSERT INTO webhook_subscriptions (id, url, events, collections, format, secrets, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
    id,
    s.url,
    JSON.stringify(s.events),
    JSON.stringify(s.collections),
    s.format,
    sealed,
    s.now,
    s.createdBy,
  ]);
  return (await getSubscription(q, id, sealer))!;
}

/** Replaces a subscription's secrets (a rotation: new first, old second). */
export async function setSecrets(q: Queryable, sealer: Sealer, id: string, secrets: readonly string[]): Promise<boolean> {
  const r = await q.exec('UPDATE webhook_subscriptions SET secrets = $1 WHERE id = $2', [sealer.seal(Buffer.from(JSON.stringify(secrets)), ctxOf(id)), id]);
  return r.changes > 0;
}

/** One subscription, or null. */
export async function getSubscription(q: Queryable, id: string, sealer: Sealer): Promise<Subscription | null> {
  const rows = await q.query('SELECT * FROM webhook_subscriptions WHERE id = $1', [id]);
  if (!rows[0]) return null;
  return { ...toSubscription(rows[0]), secrets: openSecrets(sealer, rows[0]).length };
}

/** Every subscription, oldest first. */
export async function listSubscriptions(q: Queryable, sealer: Sealer): Promise<Subscription[]> {
  const rows = await q.query('SELECT * FROM webhook_subscriptions ORDER BY created_at, id');
  return rows.map((r) => ({ ...toSubscription(r), secrets: openSecrets(sealer, r).length }));
}

/** The signing secrets of a subscription row. @throws OcitrustError SERVER_KEY_UNREADABLE */
export function openSecrets(sealer: Sealer, r: Row): string[] {
  return list(sealer.open(String(r.secrets), ctxOf(String(r.id))).toString('utf8'));
}

/** Deletes a subscription and its undelivered rows; false when it did not exist. */
export async function deleteSubscription(q: Queryable, id: string): Promise<boolean> {
  await q.exec("DELETE FROM webhook_deliveries WHERE subscription_id = $1 AND status <> 'delivered'", [id]);
  return (await q.exec('DELETE FROM webhook_subscriptions WHERE id = $1', [id])).changes > 0;
}

/** Maps a delivery row. */
export function toDelivery(r: Row): Delivery {
  const t = (v: unknown): string | null => (v === null || v === undefined ? null : formatTime(new Date(Number(v))));
  const status = String(r.status) as Delivery['status'];
  return {
    id: Number(r.id),
    eventId: String(r.event_id),
    subscriptionId: String(r.subscription_id),
    type: 'dev.ocitrust.' + String(r.type),
    collection: r.collection === null ? null : String(r.collection),
    status,
    attempts: Number(r.attempts),
    createdAt: t(r.created_at)!,
    nextAttemptAt: status === 'pending' ? t(r.next_at) : null,
    lastStatus: r.last_status === null || r.last_status === undefined ? null : Number(r.last_status),
    lastError: r.last_error === null || r.last_error === undefined ? null : String(r.last_error),
    doneAt: t(r.done_at),
  };
}

/** Deliveries, newest first, filtered by subscription and status. */
export async function listDeliveries(q: Queryable, f: { subscription?: string; status?: Delivery['status']; limit?: number }): Promise<Delivery[]> {
  const where: string[] = [];
  const params: SqlValue[] = [];
  if (f.subscription !== undefined) {
    params.push(f.subscription);
    where.push(`subscription_id = $${params.length}`);
  }
  if (f.status !== undefined) {
    params.push(f.status);
    where.push(`status = $${params.length}`);
  }
  params.push(Math.min(Math.max(f.limit ?? 100, 1), 1000));
  const rows = await q.query(`SELECT * FROM webhook_deliveries${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${params.length}`, params);
  return rows.map(toDelivery);
}

/**
 * Puts dead deliveries back in the queue (fresh attempt count and retry window): one by id,
 * or every dead one of a subscription. Returns how many.
 * @throws OcitrustError WEBHOOK_NOT_FOUND when an id names no dead delivery
 */
export async function redeliver(q: Queryable, f: { id?: number; subscription?: string }, now: number): Promise<number> {
  const set = "status = 'pending', attempts = 0, next_at = $1, window_start = $1, lease_owner = NULL, lease_until = NULL, done_at = NULL";
  if (f.id !== undefined) {
    const r = await q.exec(`UPDATE webhook_deliveries SET ${set} WHERE id = $2 AND status = 'dead'`, [now, f.id]);
    if (r.changes === 0) throw new OcitrustError('WEBHOOK_NOT_FOUND', `no dead delivery with id ${f.id}`);
    return r.changes;
  }
  const r = await q.exec(`UPDATE webhook_deliveries SET ${set} WHERE subscription_id = $2 AND status = 'dead'`, [now, f.subscription ?? '']);
  return r.changes;
}
