/**
 * The webhook event catalogue (docs/webhooks.md) and the CloudEvents 1.0 envelope every
 * delivery carries. Payloads describe what changed and link to the audit entry; they never
 * carry secrets, token values or whole metadata envelopes.
 */
import { randomBytes } from 'node:crypto';
import { OcitrustError } from '../../lib/errors/index.js';
import { closestName } from '../did-you-mean.js';

/** Prefix of every event type. */
export const EVENT_TYPE_PREFIX = 'dev.ocitrust.';

/** Short names of the events (the type is {@link EVENT_TYPE_PREFIX} + short name). */
export const EVENT_NAMES = [
  'collection.created',
  'signer.added',
  'signer.removed',
  'key.rotated',
  'targets.published',
  'signature.created',
  'signature.revoked',
  'token.created',
  'token.revoked',
  'admission.denied',
  'proxy.denied',
  'trust.stale',
  'webhook.test',
] as const;

/** A short event name. */
export type EventName = (typeof EVENT_NAMES)[number];

/** One event as it is written to the outbox. */
export interface EventInput {
  readonly name: EventName;
  /** The collection the event is about (orders deliveries and filters subscriptions); null for server-wide events. */
  readonly collection: string | null;
  /** The event's payload: small, no secrets. */
  readonly data: Readonly<Record<string, unknown>>;
  /** Id of the audit entry of the change, when there is one. */
  readonly auditId?: number | null;
}

/** A CloudEvents 1.0 event in structured JSON mode. */
export interface CloudEvent {
  readonly specversion: '1.0';
  /** Stable across retries and instances: receivers deduplicate on it (it is also `webhook-id`). */
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly subject?: string;
  /** RFC 3339. */
  readonly time: string;
  readonly datacontenttype: 'application/json';
  readonly data: Readonly<Record<string, unknown>>;
}

/** A fresh event id: `evt_` + 24 hex (96 random bits). */
export function newEventId(): string {
  return 'evt_' + randomBytes(12).toString('hex');
}

/** Builds the CloudEvent of `e`. */
export function cloudEvent(e: EventInput, id: string, at: Date): CloudEvent {
  const data: Record<string, unknown> = { ...e.data };
  if (e.auditId !== undefined && e.auditId !== null) data.audit = { id: e.auditId, href: `/v1/audit?${e.collection ? `collection=${encodeURIComponent(e.collection)}&` : ''}limit=1000` };
  return {
    specversion: '1.0',
    id,
    source: e.collection ? `/v1/collections/${e.collection}` : '/v1/server',
    type: EVENT_TYPE_PREFIX + e.name,
    ...(e.collection ? { subject: e.collection } : {}),
    time: at.toISOString(),
    datacontenttype: 'application/json',
    data,
  };
}

function closest(s: string): string | null {
  return closestName(s, EVENT_NAMES, () => 3) ?? null;
}

/**
 * Parses an event list: short names (`signer.added`) or full types (`dev.ocitrust.signer.added`),
 * comma-separated or as an array; `*` means every event. Returns short names, de-duplicated, or
 * `['*']`.
 * @throws OcitrustError WEBHOOK_EVENTS_INVALID naming the unknown entry (and the likely intended one)
 */
export function parseEventList(input: string | readonly string[] | undefined): string[] {
  if (input === undefined) return ['*'];
  const items = (typeof input === 'string' ? [input] : [...input]).flatMap((s) => (typeof s === 'string' ? s.split(',').map((x) => x.trim()) : [s]));
  if (items.length === 0 || items.length > 64) throw new OcitrustError('WEBHOOK_EVENTS_INVALID', `events: expected 1 to 64 event names, got ${items.length}`);
  const out = new Set<string>();
  for (const raw of items) {
    if (typeof raw !== 'string' || raw === '') throw new OcitrustError('WEBHOOK_EVENTS_INVALID', 'events: expected event names, got an empty entry');
    if (raw === '*') return ['*'];
    const short = raw.startsWith(EVENT_TYPE_PREFIX) ? raw.slice(EVENT_TYPE_PREFIX.length) : raw;
    if (!(EVENT_NAMES as readonly string[]).includes(short) || short === 'webhook.test') {
      const hint = closest(short);
      throw new OcitrustError(
        'WEBHOOK_EVENTS_INVALID',
        `events: expected one of ${EVENT_NAMES.filter((n) => n !== 'webhook.test').join(', ')} (or *), got ${JSON.stringify(raw.slice(0, 80))}${hint ? `; did you mean ${hint}?` : ''}`,
      );
    }
    out.add(short);
  }
  return [...out];
}
