import type { Dialect, MigrationSet } from '../storage/index.js';

// Keys compare byte-wise on both engines: tags and repositories must list in "ASCIIbetical"
// order (distribution-spec "Listing Tags"), and `last` pagination compares with `>`.
// PostgreSQL's default collation is locale-aware, so keys there get COLLATE "C".
function v1(d: Dialect): string {
  const key = d === 'postgres' ? 'TEXT COLLATE "C"' : 'TEXT';
  const bytes = d === 'postgres' ? 'BYTEA' : 'BLOB';
  return `
CREATE TABLE registry_repositories (
  name ${key} NOT NULL PRIMARY KEY,
  created_at BIGINT NOT NULL
);
CREATE TABLE registry_blobs (
  repository ${key} NOT NULL,
  digest ${key} NOT NULL,
  size BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (repository, digest)
);
CREATE INDEX registry_blobs_by_digest ON registry_blobs (digest);
CREATE TABLE registry_manifests (
  repository ${key} NOT NULL,
  digest ${key} NOT NULL,
  media_type TEXT NOT NULL,
  size BIGINT NOT NULL,
  content ${bytes} NOT NULL,
  artifact_type TEXT,
  subject ${key},
  annotations TEXT,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (repository, digest)
);
CREATE INDEX registry_manifests_by_subject ON registry_manifests (repository, subject, digest);
CREATE TABLE registry_tags (
  repository ${key} NOT NULL,
  tag ${key} NOT NULL,
  digest ${key} NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (repository, tag)
);
CREATE INDEX registry_tags_by_digest ON registry_tags (repository, digest);
CREATE TABLE registry_uploads (
  id TEXT NOT NULL PRIMARY KEY,
  repository ${key} NOT NULL,
  size BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX registry_uploads_by_age ON registry_uploads (updated_at);
`;
}

// A finishing PUT records the verified digest in its session before publishing the blob, and
// the session stays (until the upload TTL) as "finished as <digest>": a PUT retried after a
// crash or a lost 201 then completes or confirms instead of appending its chunk a second time.
const V2 = 'ALTER TABLE registry_uploads ADD COLUMN digest TEXT;\n';

/**
 * The embedded registry's tables (component `registry`): repositories, per-repository blob
 * links, manifests (bytes, media type, and the referrers index: subject, artifactType,
 * annotations), tags and upload sessions. Blob bytes live on the filesystem.
 */
export const registryMigrations: MigrationSet = Object.freeze({
  component: 'registry',
  steps: Object.freeze([
    { version: 1, name: 'registry tables', sql: Object.freeze({ sqlite: v1('sqlite'), postgres: v1('postgres') }) },
    { version: 2, name: 'finished upload sessions', sql: Object.freeze({ sqlite: V2, postgres: V2 }) },
  ]),
});
