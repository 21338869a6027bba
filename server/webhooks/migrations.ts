import type { MigrationSet } from '../storage/types.js';

const schemaV1 = (serial: string): string => `
CREATE TABLE webhook_subscriptions (
  id TEXT PRIMARY KEY,
  url TEXT NOT NULL,
  events TEXT NOT NULL,
  collections TEXT NOT NULL,
  format TEXT NOT NULL,
  secrets TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  created_by TEXT
);
CREATE TABLE webhook_deliveries (
  id ${serial},
  event_id TEXT NOT NULL,
  subscription_id TEXT NOT NULL,
  order_key TEXT NOT NULL,
  type TEXT NOT NULL,
  collection TEXT,
  body TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  window_start BIGINT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at BIGINT NOT NULL,
  lease_owner TEXT,
  lease_until BIGINT,
  last_status INTEGER,
  last_error TEXT,
  done_at BIGINT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_at);
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (subscription_id, order_key, status, id);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);
`;

/**
 * Schema of the webhook outbox: subscriptions and one delivery row per (event, matching
 * subscription), written in the same transaction as the change the event describes.
 *
 * - `window_start` starts the retry window (creation, or the last redeliver).
 * - `status` is `pending`, `delivered` or `dead` (parked after the retry window).
 * - A pending row is claimed by setting `lease_owner`/`lease_until`; an instance that dies keeps
 *   no claim past `lease_until`, so its rows are retried by whoever runs next.
 * - Rows of one (subscription, order_key = collection) are delivered in `id` order: a row is
 *   claimable only when no older pending row of the same pair exists.
 */
export const webhookMigrations: MigrationSet = {
  component: 'webhooks',
  steps: [
    {
      version: 1,
      name: 'subscriptions and delivery outbox',
      sql: { sqlite: schemaV1('INTEGER PRIMARY KEY AUTOINCREMENT'), postgres: schemaV1('BIGSERIAL PRIMARY KEY') },
    },
  ],
};
