import pg from 'pg';
import { OcitrustError } from '../../lib/errors/index.js';
import { normalizeValue } from './placeholders.js';
import { fromPgError, isRetryablePgError } from './errors.js';
import { checkMigrationSet, migrationError, MIGRATION_LOCK_KEY, pendingSteps, scriptFor, SCHEMA_TABLE_SQL } from './migrate.js';
import { checkChannel } from './notify-local.js';
import type { Db, ExecResult, MigrationSet, Queryable, Row, SqlValue, TransactionOptions, Tx } from './types.js';

/** Options of {@link openPostgres}. */
export interface PostgresOptions {
  /** Most pooled connections (default 10). */
  readonly poolSize?: number;
  /** How long to wait for a connection (ms, default 10 000). */
  readonly connectTimeoutMs?: number;
}

const INT8_OID = 20;

// int8 (COUNT(*), BIGINT columns) arrives as a string by default; every BIGINT we store (sizes,
// epoch milliseconds, versions) fits in a double, so parse it to a number, and keep a bigint
// only if it would lose precision.
const typeParsers = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID && format !== 'binary') {
      return (v: string): number | bigint => {
        const n = Number(v);
        return Number.isSafeInteger(n) ? n : BigInt(v);
      };
    }
    return pg.types.getTypeParser(oid, format as 'text');
  },
} as unknown as pg.CustomTypesConfig;

function values(params: readonly SqlValue[]): unknown[] {
  return params.map((v) => {
    const n = normalizeValue(v);
    return typeof n === 'bigint' ? n.toString() : n;
  });
}

/** The URL without its password, for messages and `location`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparseable URL)';
  }
}

function handle(client: pg.ClientBase | pg.Pool, what: string): Queryable {
  return {
    dialect: 'postgres',
    async query<T extends Row = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
      try {
        return (await client.query(sql, values(params))).rows as T[];
      } catch (e) {
        throw fromPgError(e, what);
      }
    },
    async exec(sql: string, params: readonly SqlValue[] = []): Promise<ExecResult> {
      try {
        return { changes: (await client.query(sql, values(params))).rowCount ?? 0 };
      } catch (e) {
        throw fromPgError(e, what);
      }
    },
    async notify(channel: string, payload: string): Promise<void> {
      checkChannel(channel);
      try {
        await client.query('SELECT pg_notify($1, $2)', [channel, payload]);
      } catch (e) {
        throw fromPgError(e, what);
      }
    },
  };
}

/**
 * PostgreSQL through a pg pool. Transactions run at READ COMMITTED on one pooled connection;
 * races are decided by unique constraints (the loser gets STORAGE_CONFLICT), and the rare
 * serialization failure or deadlock re-runs the transaction a bounded number of times.
 * Notifications use LISTEN/NOTIFY on one dedicated connection, so every instance sharing the
 * database hears them.
 */
class PostgresDb implements Db {
  readonly dialect = 'postgres' as const;
  readonly location: string;
  private readonly pool: pg.Pool;
  private readonly config: pg.ClientConfig;
  private readonly outer: Queryable;
  private listener: pg.Client | undefined;
  private listenerReady: Promise<pg.Client> | undefined;
  private readonly handlers = new Map<string, Set<(payload: string) => void>>();
  private closed = false;

  constructor(url: string, opts: PostgresOptions) {
    this.location = redactUrl(url);
    this.config = {
      connectionString: url,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
      application_name: 'ocitrust',
      types: typeParsers,
    };
    this.pool = new pg.Pool({ ...this.config, max: opts.poolSize ?? 10, idleTimeoutMillis: 30_000 });
    // An idle client losing its connection must not crash the process; the next query reports it.
    this.pool.on('error', () => {});
    this.outer = handle(this.pool, 'query');
  }

  private checkOpen(): void {
    if (this.closed) throw new OcitrustError('STORAGE_UNAVAILABLE', `database ${this.location} is closed`);
  }

  async query<T extends Row = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    this.checkOpen();
    return this.outer.query<T>(sql, params);
  }

  async exec(sql: string, params?: readonly SqlValue[]): Promise<ExecResult> {
    this.checkOpen();
    return this.outer.exec(sql, params);
  }

  async notify(channel: string, payload: string): Promise<void> {
    this.checkOpen();
    return this.outer.notify(channel, payload);
  }

  private async connect(): Promise<pg.PoolClient> {
    this.checkOpen();
    try {
      return await this.pool.connect();
    } catch (e) {
      throw fromPgError(e, 'connect');
    }
  }

  async transaction<T>(fn: (tx: Tx) => Promise<T>, opts: TransactionOptions = {}): Promise<T> {
    const retries = Math.max(0, opts.retries ?? 3);
    for (let attempt = 0; ; attempt++) {
      const client = await this.connect();
      let broken: Error | undefined;
      let live = true;
      const inner = handle(client, 'transaction');
      const dead = (): never => {
        throw new OcitrustError('INVALID_ARGUMENT', 'tx: expected to be used inside its transaction, got a call after it ended');
      };
      const tx: Queryable = {
        dialect: 'postgres',
        query: async (sql, params) => (live ? inner.query(sql, params) : dead()),
        exec: async (sql, params) => (live ? inner.exec(sql, params) : dead()),
        notify: async (c, p) => (live ? inner.notify(c, p) : dead()),
      };
      try {
        await inner.exec('BEGIN');
        const result = await fn(tx);
        live = false;
        await inner.exec('COMMIT');
        return result;
      } catch (e) {
        live = false;
        try {
          await client.query('ROLLBACK');
        } catch (re) {
          broken = re instanceof Error ? re : new Error(String(re));
        }
        const cause = e instanceof OcitrustError ? e.cause : e;
        if (attempt < retries && (isRetryablePgError(cause) || isRetryablePgError(e))) continue;
        throw e;
      } finally {
        client.release(broken);
      }
    }
  }

  async migrate(set: MigrationSet): Promise<void> {
    checkMigrationSet(set);
    const client = await this.connect();
    const q = handle(client, 'migrate');
    let broken: Error | undefined;
    try {
      // The advisory lock makes concurrent openers take turns; the loser then sees the steps applied.
      await q.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
      try {
        await q.exec(SCHEMA_TABLE_SQL);
        const rows = await q.query<{ version: number }>('SELECT version FROM schema_migrations WHERE component = $1', [set.component]);
        for (const step of pendingSteps(set, new Set(rows.map((r) => r.version)))) {
          try {
            await q.exec('BEGIN');
            await client.query(scriptFor(step, 'postgres'));
            await q.exec('INSERT INTO schema_migrations (component, version, name, applied_at) VALUES ($1, $2, $3, $4)', [
              set.component,
              step.version,
              step.name,
              Date.now(),
            ]);
            await q.exec('COMMIT');
          } catch (e) {
            await client.query('ROLLBACK').catch(() => undefined);
            throw migrationError(set, step, fromPgError(e, 'migrate'));
          }
        }
      } finally {
        await q.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch((e: unknown) => {
          broken = e instanceof Error ? e : new Error(String(e));
        });
      }
    } finally {
      client.release(broken);
    }
  }

  private ensureListener(): Promise<pg.Client> {
    if (!this.listenerReady) {
      const c = new pg.Client(this.config);
      this.listenerReady = (async () => {
        c.on('notification', (n) => {
          const hs = this.handlers.get(n.channel);
          if (hs) for (const h of hs) h(n.payload ?? '');
        });
        c.on('error', () => {
          // Drop the broken connection; the next listen() opens a new one and re-subscribes.
          if (this.listener === c) {
            this.listener = undefined;
            this.listenerReady = undefined;
          }
        });
        try {
          await c.connect();
        } catch (e) {
          this.listenerReady = undefined;
          throw fromPgError(e, 'listen');
        }
        this.listener = c;
        for (const ch of this.handlers.keys()) await c.query(`LISTEN "${ch}"`);
        return c;
      })();
    }
    return this.listenerReady;
  }

  async listen(channel: string, handler: (payload: string) => void): Promise<() => Promise<void>> {
    checkChannel(channel);
    this.checkOpen();
    let set = this.handlers.get(channel);
    const fresh = !set;
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
    }
    set.add(handler);
    const c = await this.ensureListener();
    if (fresh) {
      try {
        await c.query(`LISTEN "${channel}"`);
      } catch (e) {
        throw fromPgError(e, 'listen');
      }
    }
    return async () => {
      const s = this.handlers.get(channel);
      if (!s) return;
      s.delete(handler);
      if (s.size === 0) {
        this.handlers.delete(channel);
        await this.listener?.query(`UNLISTEN "${channel}"`).catch(() => undefined);
      }
    };
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1 AS one');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const l = this.listener;
    this.listener = undefined;
    this.listenerReady = undefined;
    await l?.end().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }
}

/**
 * Opens a pool on the PostgreSQL database at `url` (`postgres://user:pass@host:port/db`) and
 * checks that it answers.
 * @throws OcitrustError STORAGE_UNAVAILABLE
 */
export async function openPostgres(url: string, opts: PostgresOptions = {}): Promise<Db> {
  const db = new PostgresDb(url, opts);
  try {
    await db.ping();
  } catch (e) {
    await db.close();
    throw e;
  }
  return db;
}
