import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { OcitrustError } from '../../lib/errors/index.js';
import { bindPositional, toPositional, type PositionalSql } from './placeholders.js';
import { fromSqliteError } from './errors.js';
import { checkMigrationSet, migrationError, pendingSteps, scriptFor, SCHEMA_TABLE_SQL } from './migrate.js';
import { checkChannel, localBus } from './notify-local.js';
import type { Db, ExecResult, MigrationSet, Queryable, Row, SqlValue, Tx } from './types.js';

/** Options of {@link openSqlite}. */
export interface SqliteOptions {
  /** How long a statement waits for another process's write lock (ms, default 5000). */
  readonly busyTimeoutMs?: number;
}

const STATEMENT_CACHE = 256;

/**
 * The in-process write lock of one database file. Shared by every handle on that file in this
 * process: a second connection's `BEGIN IMMEDIATE` would otherwise block the event loop in
 * busy_timeout while the first transaction waits on that very event loop.
 */
class FileLock {
  private tail: Promise<void> = Promise.resolve();
  holders = 0;

  async acquire(): Promise<() => void> {
    this.holders++;
    const prev = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((r) => (release = r));
    await prev;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.holders--;
      release();
    };
  }
}

const fileLocks = new Map<string, FileLock>();
// The file whose transaction the current async context runs in.
const inTx = new AsyncLocalStorage<string>();

function fileLock(location: string): FileLock {
  let l = fileLocks.get(location);
  if (!l) {
    l = new FileLock();
    fileLocks.set(location, l);
  }
  return l;
}

/**
 * SQLite through better-sqlite3: one connection, WAL mode, busy_timeout, synchronous=FULL (an
 * acknowledged commit survives a crash of the process or the machine).
 *
 * better-sqlite3 is synchronous, so a single statement is atomic with respect to this process.
 * A transaction spans awaits, so it takes an in-process lock: statements from outside the
 * transaction wait until it ends instead of landing inside it. `BEGIN IMMEDIATE` takes the
 * file's write lock up front, which keeps other processes out without deadlock-prone lock
 * upgrades.
 */
class SqliteDb implements Db {
  readonly dialect = 'sqlite' as const;
  readonly location: string;
  private readonly raw: Database.Database;
  private readonly statements = new Map<string, { stmt: Database.Statement; pos: PositionalSql }>();
  private readonly fileLock: FileLock;
  private closed = false;

  constructor(location: string, raw: Database.Database) {
    this.location = location;
    this.raw = raw;
    this.fileLock = fileLock(location);
  }

  private prepared(sql: string): { stmt: Database.Statement; pos: PositionalSql } {
    let p = this.statements.get(sql);
    if (!p) {
      const pos = toPositional(sql);
      let stmt: Database.Statement;
      try {
        stmt = this.raw.prepare(pos.sql);
      } catch (e) {
        throw fromSqliteError(e, 'prepare');
      }
      if (this.statements.size >= STATEMENT_CACHE) this.statements.clear();
      p = { stmt, pos };
      this.statements.set(sql, p);
    }
    return p;
  }

  private checkOpen(): void {
    if (this.closed) throw new OcitrustError('STORAGE_UNAVAILABLE', `database ${this.location} is closed`);
  }

  /** Runs a statement now (the caller holds the lock or knows nobody does). */
  runQuery<T extends Row>(sql: string, params: readonly SqlValue[]): T[] {
    this.checkOpen();
    const { stmt, pos } = this.prepared(sql);
    const values = bindPositional(pos, params);
    try {
      if (stmt.reader) return stmt.all(...values) as T[];
      stmt.run(...values);
      return [];
    } catch (e) {
      throw fromSqliteError(e, 'query');
    }
  }

  runExec(sql: string, params: readonly SqlValue[]): ExecResult {
    this.checkOpen();
    const { stmt, pos } = this.prepared(sql);
    const values = bindPositional(pos, params);
    try {
      if (stmt.reader) return { changes: stmt.all(...values).length };
      return { changes: stmt.run(...values).changes };
    } catch (e) {
      throw fromSqliteError(e, 'exec');
    }
  }

  private lock(): Promise<() => void> {
    return this.fileLock.acquire();
  }

  private guardOuter(): void {
    if (inTx.getStore() === this.location) {
      throw new OcitrustError('INVALID_ARGUMENT', 'db: expected the transaction handle inside transaction(), got a call on the outer Db (it would deadlock)');
    }
  }

  private async outside<T>(fn: () => T): Promise<T> {
    this.guardOuter();
    if (this.fileLock.holders === 0) return fn();
    const release = await this.lock();
    try {
      return fn();
    } finally {
      release();
    }
  }

  query<T extends Row = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.outside(() => this.runQuery<T>(sql, params));
  }

  exec(sql: string, params: readonly SqlValue[] = []): Promise<ExecResult> {
    return this.outside(() => this.runExec(sql, params));
  }

  async notify(channel: string, payload: string): Promise<void> {
    checkChannel(channel);
    this.guardOuter();
    localBus(this.location).emit(channel, payload);
  }

  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    this.guardOuter();
    const release = await this.lock();
    const pending: [string, string][] = [];
    let live = true;
    const dead = (): never => {
      throw new OcitrustError('INVALID_ARGUMENT', 'tx: expected to be used inside its transaction, got a call after it ended');
    };
    const tx: Queryable = {
      dialect: 'sqlite',
      query: async <R extends Row = Row>(sql: string, params: readonly SqlValue[] = []) => (live ? this.runQuery<R>(sql, params) : dead()),
      exec: async (sql: string, params: readonly SqlValue[] = []) => (live ? this.runExec(sql, params) : dead()),
      notify: async (channel: string, payload: string) => {
        checkChannel(channel);
        if (!live) dead();
        pending.push([channel, payload]);
      },
    };
    try {
      this.checkOpen();
      try {
        this.raw.exec('BEGIN IMMEDIATE');
      } catch (e) {
        throw fromSqliteError(e, 'begin');
      }
      let result: T;
      try {
        result = await inTx.run(this.location, () => fn(tx));
      } catch (e) {
        live = false;
        if (this.raw.inTransaction) this.raw.exec('ROLLBACK');
        throw e;
      }
      live = false;
      try {
        this.raw.exec('COMMIT');
      } catch (e) {
        if (this.raw.inTransaction) this.raw.exec('ROLLBACK');
        throw fromSqliteError(e, 'commit');
      }
      const bus = localBus(this.location);
      for (const [c, p] of pending) bus.emit(c, p);
      return result;
    } finally {
      release();
    }
  }

  async migrate(set: MigrationSet): Promise<void> {
    checkMigrationSet(set);
    await this.exec(SCHEMA_TABLE_SQL);
    for (;;) {
      // Re-read inside each write transaction: another process may have applied steps meanwhile.
      const done = await this.transaction(async (tx) => {
        const rows = await tx.query<{ version: number }>('SELECT version FROM schema_migrations WHERE component = $1', [set.component]);
        const step = pendingSteps(set, new Set(rows.map((r) => r.version)))[0];
        if (!step) return true;
        try {
          this.raw.exec(scriptFor(step, 'sqlite'));
        } catch (e) {
          throw migrationError(set, step, fromSqliteError(e, 'migrate'));
        }
        await tx.exec('INSERT INTO schema_migrations (component, version, name, applied_at) VALUES ($1, $2, $3, $4)', [
          set.component,
          step.version,
          step.name,
          Date.now(),
        ]);
        return false;
      });
      if (done) return;
    }
  }

  async listen(channel: string, handler: (payload: string) => void): Promise<() => Promise<void>> {
    checkChannel(channel);
    const bus = localBus(this.location);
    const h = (p: string): void => handler(p);
    bus.on(channel, h);
    return async () => {
      bus.off(channel, h);
    };
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1 AS one');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Let a running transaction finish first.
    const release = await this.lock();
    try {
      this.closed = true;
      this.statements.clear();
      this.raw.close();
    } finally {
      release();
    }
  }
}

/**
 * Opens (creating if needed, with its directory) the SQLite database at `path`; `:memory:`
 * gives a private in-memory database.
 * @throws OcitrustError STORAGE_UNAVAILABLE
 */
export function openSqlite(path: string, opts: SqliteOptions = {}): Db {
  const memory = path === ':memory:';
  const location = memory ? `:memory:${Math.random().toString(36).slice(2)}` : resolve(path);
  let raw: Database.Database;
  try {
    if (!memory) mkdirSync(dirname(location), { recursive: true });
    raw = new Database(memory ? ':memory:' : location);
    if (!memory) raw.pragma('journal_mode = WAL');
    raw.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000))}`);
    raw.pragma('synchronous = FULL');
    raw.pragma('foreign_keys = ON');
  } catch (e) {
    throw new OcitrustError('STORAGE_UNAVAILABLE', `cannot open SQLite database ${location}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  return new SqliteDb(location, raw);
}
