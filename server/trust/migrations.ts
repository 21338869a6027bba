import type { MigrationSet } from '../storage/types.js';

/** Version 1 of the trust tables; the dialects differ only in the audit log's id column. */
const schemaV1 = (auditId: string): string => `
CREATE TABLE trust_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE trust_collections (
  name TEXT PRIMARY KEY,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  snapshot_key TEXT NOT NULL,
  timestamp_key TEXT NOT NULL,
  snapshot_public TEXT NOT NULL,
  timestamp_public TEXT NOT NULL,
  generation INTEGER NOT NULL DEFAULT 0,
  root_version INTEGER NOT NULL DEFAULT 0,
  targets_version INTEGER NOT NULL DEFAULT 0,
  snapshot_version INTEGER NOT NULL DEFAULT 0,
  snapshot_expires BIGINT,
  timestamp_version INTEGER NOT NULL DEFAULT 0,
  timestamp_expires BIGINT,
  timestamp_body TEXT
);
CREATE TABLE trust_metadata (
  collection TEXT NOT NULL REFERENCES trust_collections(name),
  role TEXT NOT NULL,
  version INTEGER NOT NULL,
  body TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  length INTEGER NOT NULL,
  expires BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (collection, role, version)
);
CREATE TABLE trust_tokens (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL,
  patterns TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT,
  revoked_at BIGINT,
  created_by TEXT
);
CREATE TABLE trust_audit (
  id ${auditId},
  at BIGINT NOT NULL,
  actor TEXT NOT NULL,
  token_id TEXT,
  action TEXT NOT NULL,
  collection TEXT,
  versions TEXT,
  source TEXT,
  outcome TEXT NOT NULL,
  code TEXT,
  detail TEXT
);
CREATE INDEX trust_audit_at ON trust_audit (at);
CREATE INDEX trust_audit_collection ON trust_audit (collection, id);
CREATE INDEX trust_audit_actor ON trust_audit (actor, id);
`;

/**
 * Schema of the trust server (collections, their TUF metadata, server keys, tokens, audit),
 * applied with `db.migrate(trustMigrations)` next to the registry's own migration set.
 *
 * Invariants the SQL enforces, so that races between instances are decided by the database:
 * - `trust_metadata (collection, role, version)` is the primary key: of two publishes of one
 *   version exactly one commits.
 * - `trust_collections.generation` is compared-and-set by every change of the head (publish,
 *   snapshot re-sign), `timestamp_version` by every timestamp re-sign.
 */
export const trustMigrations: MigrationSet = {
  component: 'trust',
  steps: [
    {
      version: 1,
      name: 'collections, metadata, tokens, audit',
      sql: {
        sqlite: schemaV1('INTEGER PRIMARY KEY AUTOINCREMENT'),
        postgres: schemaV1('BIGSERIAL PRIMARY KEY'),
      },
    },
  ],
};
