/**
 * The database abstraction shared by the embedded registry and the trust server.
 *
 * One set of SQL runs on both engines: statements use PostgreSQL-style `$1, $2, …`
 * placeholders (translated for SQLite), lowercase snake_case identifiers, `ON CONFLICT`,
 * `RETURNING`, and only types both engines agree on (TEXT, INTEGER/BIGINT numbers that fit in
 * a JS number, BLOB/BYTEA as Buffer, flags as INTEGER 0/1, times as BIGINT epoch milliseconds).
 * Where DDL must differ, a migration gives one script per dialect.
 */

/** The two engines. */
export type Dialect = 'sqlite' | 'postgres';

/** A value bound to a placeholder. Booleans become 0/1 and Uint8Array becomes a Buffer. */
export type SqlValue = string | number | bigint | boolean | null | undefined | Uint8Array;

/** A result row: column name → value (TEXT → string, integers → number, BLOB → Buffer, NULL → null). */
export type Row = Record<string, unknown>;

/** Outcome of a statement that returns no rows. */
export interface ExecResult {
  /** Rows inserted, updated or deleted. */
  readonly changes: number;
}

/** What both a database and a transaction handle can run. */
export interface Queryable {
  /** Which engine runs the SQL (for the rare statement that must differ). */
  readonly dialect: Dialect;
  /**
   * Runs one statement and returns its rows (an empty array for a statement without result).
   * @throws OcitrustError STORAGE_CONFLICT (unique constraint), STORAGE_UNAVAILABLE, STORAGE_QUERY_FAILED
   */
  query<T extends Row = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /**
   * Runs one statement for its effect.
   * @throws OcitrustError STORAGE_CONFLICT, STORAGE_UNAVAILABLE, STORAGE_QUERY_FAILED
   */
  exec(sql: string, params?: readonly SqlValue[]): Promise<ExecResult>;
  /**
   * Sends a notification on `channel` (cache invalidation across server instances). Inside a
   * transaction it is delivered only if the transaction commits.
   */
  notify(channel: string, payload: string): Promise<void>;
}

/** A transaction handle: use it (never the outer Db) for every statement inside `transaction`. */
export type Tx = Queryable;

/** One versioned schema step of a component. */
export interface MigrationStep {
  /** 1, 2, 3, … in order, never reused. */
  readonly version: number;
  /** Short description, recorded in the schema table. */
  readonly name: string;
  /** SQL script (several statements allowed), or one script per dialect. */
  readonly sql: string | Readonly<Record<Dialect, string>>;
}

/** The schema steps of one component (`registry`, `trust`, …), applied in version order. */
export interface MigrationSet {
  readonly component: string;
  readonly steps: readonly MigrationStep[];
}

/** Options of {@link Db.transaction}. */
export interface TransactionOptions {
  /**
   * How often PostgreSQL serialization failures and deadlocks re-run `fn` (default 3). `fn`
   * must therefore have no side effects outside the transaction it is given.
   */
  readonly retries?: number;
}

/** An open database. */
export interface Db extends Queryable {
  /** Where it lives: the SQLite file path, or the PostgreSQL URL without password. */
  readonly location: string;
  /**
   * Runs `fn` in one transaction: committed when it resolves, rolled back when it throws (the
   * error is rethrown). Unique constraints decide races: of two transactions inserting the same
   * key, exactly one commits and the other fails with STORAGE_CONFLICT.
   * @throws OcitrustError STORAGE_CONFLICT, STORAGE_UNAVAILABLE, STORAGE_QUERY_FAILED, or whatever fn throws
   */
  transaction<T>(fn: (tx: Tx) => Promise<T>, opts?: TransactionOptions): Promise<T>;
  /**
   * Applies the steps of `set` not yet recorded in the `schema_migrations` table, each in its
   * own transaction. Safe when several processes open the same database at once (PostgreSQL
   * advisory lock; SQLite write lock). Idempotent.
   * @throws OcitrustError STORAGE_MIGRATION_FAILED
   */
  migrate(set: MigrationSet): Promise<void>;
  /**
   * Calls `handler` for every notification on `channel`, from this and (PostgreSQL) other
   * processes. Returns a function that stops listening.
   */
  listen(channel: string, handler: (payload: string) => void): Promise<() => Promise<void>>;
  /** Cheap liveness probe (for /readyz). @throws OcitrustError STORAGE_UNAVAILABLE */
  ping(): Promise<void>;
  /** Closes the database; later calls fail with STORAGE_UNAVAILABLE. Idempotent. */
  close(): Promise<void>;
}
