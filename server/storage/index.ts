/**
 * The database layer of the ocitrust server (embedded registry and trust server): SQLite by
 * default, PostgreSQL when given a `postgres://` URL, one SQL dialect for both.
 */
import { OcitrustError, assertArg } from '../../lib/errors/index.js';
import { openPostgres, type PostgresOptions } from './postgres.js';
import { openSqlite, type SqliteOptions } from './sqlite.js';
import type { Db, MigrationSet } from './types.js';

export type {
  Db,
  Dialect,
  ExecResult,
  MigrationSet,
  MigrationStep,
  Queryable,
  Row,
  SqlValue,
  TransactionOptions,
  Tx,
} from './types.js';
export type { PostgresOptions } from './postgres.js';
export type { SqliteOptions } from './sqlite.js';
export { openSqlite } from './sqlite.js';
export { openPostgres, redactUrl } from './postgres.js';

/** Options of {@link openDb}. */
export interface OpenDbOptions extends SqliteOptions, PostgresOptions {
  /** Schema sets migrated right after opening, in order. */
  readonly migrations?: readonly MigrationSet[];
}

/** True when `urlOrPath` names a PostgreSQL database. */
export function isPostgresUrl(urlOrPath: string): boolean {
  return /^postgres(ql)?:\/\//i.test(urlOrPath);
}

/**
 * Opens the database named by `urlOrPath`: `postgres://…` or `postgresql://…` → PostgreSQL;
 * `sqlite:PATH`, a file path, or `:memory:` → SQLite (WAL; directory created). Then applies
 * `opts.migrations`.
 *
 * @throws OcitrustError INVALID_ARGUMENT, STORAGE_UNAVAILABLE, STORAGE_MIGRATION_FAILED
 * @example const db = await openDb(join(dataDir, 'ocitrust.db'), { migrations: [registryMigrations] });
 */
export async function openDb(urlOrPath: string, opts: OpenDbOptions = {}): Promise<Db> {
  assertArg(typeof urlOrPath === 'string' && urlOrPath.length > 0, 'database', 'a postgres:// URL or a file path', urlOrPath);
  // `mysql://…` or a misspelt `postgress://…` must not quietly become a SQLite file named so.
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(urlOrPath)?.[1];
  if (scheme !== undefined && !isPostgresUrl(urlOrPath)) {
    throw new OcitrustError('INVALID_ARGUMENT', `database: expected a postgres:// or postgresql:// URL, sqlite:PATH or a file path, got a ${JSON.stringify(scheme.slice(0, 20))}:// URL`);
  }
  const db = isPostgresUrl(urlOrPath) ? await openPostgres(urlOrPath, opts) : openSqlite(urlOrPath.replace(/^sqlite:/i, ''), opts);
  try {
    for (const set of opts.migrations ?? []) await db.migrate(set);
  } catch (e) {
    await db.close();
    throw e;
  }
  return db;
}
