import type { Queryable, Row } from '../storage/types.js';

/** The head row of a collection: current versions, the current timestamp and the sealed server keys. */
export interface CollectionHead {
  readonly name: string;
  /** Bumped by every publish and snapshot re-sign. */
  readonly generation: number;
  /** 0 while nothing is published. */
  readonly rootVersion: number;
  readonly targetsVersion: number;
  readonly snapshotVersion: number;
  /** Epoch ms, null before the first publish. */
  readonly snapshotExpires: number | null;
  readonly timestampVersion: number;
  readonly timestampExpires: number | null;
  /** The current timestamp.json bytes (UTF-8 text), null before the first publish. */
  readonly timestampBody: string | null;
  readonly snapshotKey: string;
  readonly timestampKey: string;
  /** TUF key objects (JSON text). */
  readonly snapshotPublic: string;
  readonly timestampPublic: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** One stored metadata file. */
export interface StoredMetadata {
  readonly role: string;
  readonly version: number;
  /** The served bytes as UTF-8 text. */
  readonly body: string;
  readonly sha256: string;
  readonly length: number;
  readonly expires: number;
}

const num = (v: unknown): number => Number(v);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function toHead(r: Row): CollectionHead {
  return {
    name: String(r.name),
    generation: num(r.generation),
    rootVersion: num(r.root_version),
    targetsVersion: num(r.targets_version),
    snapshotVersion: num(r.snapshot_version),
    snapshotExpires: numOrNull(r.snapshot_expires),
    timestampVersion: num(r.timestamp_version),
    timestampExpires: numOrNull(r.timestamp_expires),
    timestampBody: r.timestamp_body === null || r.timestamp_body === undefined ? null : String(r.timestamp_body),
    snapshotKey: String(r.snapshot_key),
    timestampKey: String(r.timestamp_key),
    snapshotPublic: String(r.snapshot_public),
    timestampPublic: String(r.timestamp_public),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

/**
 * Reads a collection's head; `lock` takes the row lock for the rest of the transaction on
 * PostgreSQL (SQLite transactions hold the database write lock from BEGIN IMMEDIATE already).
 */
export async function readHead(q: Queryable, name: string, lock = false): Promise<CollectionHead | null> {
  const forUpdate = lock && q.dialect === 'postgres' ? ' FOR UPDATE' : '';
  const rows = await q.query(`SELECT * FROM trust_collections WHERE name = $1${forUpdate}`, [name]);
  return rows[0] ? toHead(rows[0]) : null;
}

/** Reads one metadata file. */
export async function readMetadata(q: Queryable, name: string, role: string, version: number): Promise<StoredMetadata | null> {
  const rows = await q.query('SELECT role, version, body, sha256, length, expires FROM trust_metadata WHERE collection = $1 AND role = $2 AND version = $3', [name, role, version]);
  const r = rows[0];
  if (!r) return null;
  return { role: String(r.role), version: num(r.version), body: String(r.body), sha256: String(r.sha256), length: num(r.length), expires: num(r.expires) };
}

/** Inserts a new, empty collection. @throws OcitrustError STORAGE_CONFLICT when it exists */
export async function insertCollection(
  q: Queryable,
  c: { name: string; snapshotKey: string; timestampKey: string; snapshotPublic: string; timestampPublic: string; now: number },
): Promise<void> {
  await q.exec(
    `INSERT INTO trust_collections (name, created_at, updated_at, snapshot_key, timestamp_key, snapshot_public, timestamp_public)
     VALUES ($1, $2, $2, $3, $4, $5, $6)`,
    [c.name, c.now, c.snapshotKey, c.timestampKey, c.snapshotPublic, c.timestampPublic],
  );
}

/** Inserts one metadata file. @throws OcitrustError STORAGE_CONFLICT when that version exists */
export async function insertMetadata(
  q: Queryable,
  m: { collection: string; role: string; version: number; body: string; sha256: string; length: number; expires: number; now: number },
): Promise<void> {
  await q.exec(
    'INSERT INTO trust_metadata (collection, role, version, body, sha256, length, expires, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
    [m.collection, m.role, m.version, m.body, m.sha256, m.length, m.expires, m.now],
  );
}

/** New head values written by a publish or a re-sign. */
export interface HeadUpdate {
  readonly generation: number;
  readonly rootVersion: number;
  readonly targetsVersion: number;
  readonly snapshotVersion: number;
  readonly snapshotExpires: number;
  readonly timestampVersion: number;
  readonly timestampExpires: number;
  readonly timestampBody: string;
  readonly now: number;
}

/**
 * Writes the head if it is still at `expect` (generation and timestamp version): a compare-and-set
 * that makes a lost race visible as 0 changed rows.
 */
export async function updateHead(q: Queryable, name: string, expect: { generation: number; timestampVersion: number }, u: HeadUpdate): Promise<boolean> {
  const r = await q.exec(
    `UPDATE trust_collections SET generation = $3, root_version = $4, targets_version = $5, snapshot_version = $6,
       snapshot_expires = $7, timestamp_version = $8, timestamp_expires = $9, timestamp_body = $10, updated_at = $11
     WHERE name = $1 AND generation = $2 AND timestamp_version = $12`,
    [name, expect.generation, u.generation, u.rootVersion, u.targetsVersion, u.snapshotVersion, u.snapshotExpires, u.timestampVersion, u.timestampExpires, u.timestampBody, u.now, expect.timestampVersion],
  );
  return r.changes === 1;
}

/** Names of published collections whose timestamp or snapshot expires before the given times (epoch ms). */
export async function collectionsDue(q: Queryable, timestampBefore: number, snapshotBefore: number, limit = 500): Promise<string[]> {
  const rows = await q.query(
    "SELECT name FROM trust_collections WHERE root_version > 0 AND snapshot_key <> 'mirror' AND (timestamp_expires < $1 OR snapshot_expires < $2) ORDER BY timestamp_expires LIMIT $3",
    [timestampBefore, snapshotBefore, limit],
  );
  return rows.map((r) => String(r.name));
}

/** Reads a setting. */
export async function getSetting(q: Queryable, name: string): Promise<string | null> {
  const rows = await q.query('SELECT value FROM trust_settings WHERE name = $1', [name]);
  return rows[0] ? String(rows[0].value) : null;
}

/** Stores a setting unless one exists; returns the value now stored (the first writer's). */
export async function putSettingOnce(q: Queryable, name: string, value: string): Promise<string> {
  await q.exec('INSERT INTO trust_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, value]);
  return (await getSetting(q, name)) ?? value;
}
