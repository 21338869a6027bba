// The storage contract: the same cases against SQLite (a file in a temp dir) and PostgreSQL
// (a fresh database on the throwaway cluster of test/helpers/postgres.ts, or OCITRUST_TEST_PG_URL).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb, type Db, type MigrationSet } from '../../server/storage/index.js';
import { isOcitrustError } from '../../lib/errors/index.js';
import { freshPostgresDatabase, postgresSkipReason, type TestDatabase } from '../helpers/postgres.js';

const widgets: MigrationSet = {
  component: 'contract',
  steps: [
    {
      version: 1,
      name: 'widgets',
      sql: `CREATE TABLE widgets (
              name TEXT NOT NULL,
              version INTEGER NOT NULL,
              body TEXT,
              created_at BIGINT NOT NULL,
              PRIMARY KEY (name, version)
            );
            CREATE INDEX widgets_created ON widgets (created_at);`,
    },
    {
      version: 2,
      name: 'blobs',
      sql: {
        sqlite: 'CREATE TABLE blobs (id TEXT PRIMARY KEY, data BLOB NOT NULL, flag INTEGER NOT NULL DEFAULT 0)',
        postgres: 'CREATE TABLE blobs (id TEXT PRIMARY KEY, data BYTEA NOT NULL, flag INTEGER NOT NULL DEFAULT 0)',
      },
    },
  ],
};

interface Target {
  /** Opens another handle on the same database (another "process"). */
  open(): Promise<Db>;
  cleanup(): Promise<void>;
}

function expectCode(code: string) {
  return (e: unknown) => {
    assert.ok(isOcitrustError(e), `expected OcitrustError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  };
}

const tick = () => new Promise((r) => setTimeout(r, 50));

function contract(label: string, make: () => Promise<Target | string>): void {
  describe(`storage contract: ${label}`, () => {
    let target: Target;
    let db: Db;
    let skip: string | undefined;

    before(async () => {
      const t = await make();
      if (typeof t === 'string') {
        skip = t;
        return;
      }
      target = t;
      db = await target.open();
      await db.migrate(widgets);
    });
    after(async () => {
      if (skip) return;
      await db?.close();
      await target?.cleanup();
    });

    it('migrations are recorded once and re-running them (also concurrently from other handles) is a no-op', async (t) => {
      if (skip) return t.skip(skip);
      const others = await Promise.all([target.open(), target.open(), target.open()]);
      try {
        await Promise.all(others.map((o) => o.migrate(widgets)));
        await db.migrate(widgets);
        const rows = await db.query<{ version: number; name: string }>(
          'SELECT version, name FROM schema_migrations WHERE component = $1 ORDER BY version',
          ['contract'],
        );
        assert.deepEqual(rows.map((r) => [r.version, r.name]), [[1, 'widgets'], [2, 'blobs']]);
      } finally {
        await Promise.all(others.map((o) => o.close()));
      }
    });

    it('a fresh component migrated by several handles at once is applied exactly once', async (t) => {
      if (skip) return t.skip(skip);
      const set: MigrationSet = {
        component: 'racer',
        steps: [
          { version: 1, name: 'one', sql: 'CREATE TABLE racer_one (id INTEGER PRIMARY KEY)' },
          { version: 2, name: 'two', sql: 'CREATE TABLE racer_two (id INTEGER PRIMARY KEY)' },
        ],
      };
      const handles = await Promise.all([target.open(), target.open(), target.open(), target.open()]);
      try {
        await Promise.all(handles.map((h) => h.migrate(set)));
        const rows = await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM schema_migrations WHERE component = $1', ['racer']);
        assert.equal(rows[0]!.n, 2);
        assert.deepEqual(await db.query('SELECT id FROM racer_two'), []);
      } finally {
        await Promise.all(handles.map((h) => h.close()));
      }
    });

    it('a database at a schema version this code does not know is refused', async (t) => {
      if (skip) return t.skip(skip);
      await assert.rejects(db.migrate({ component: 'contract', steps: widgets.steps.slice(0, 1) }), expectCode('STORAGE_MIGRATION_FAILED'));
    });

    it('a failing migration step is rolled back and reported', async (t) => {
      if (skip) return t.skip(skip);
      const set: MigrationSet = {
        component: 'broken',
        steps: [{ version: 1, name: 'bad', sql: 'CREATE TABLE broken_ok (id INTEGER); CREATE TABLE widgets (x INTEGER)' }],
      };
      await assert.rejects(db.migrate(set), expectCode('STORAGE_MIGRATION_FAILED'));
      const rows = await db.query('SELECT version FROM schema_migrations WHERE component = $1', ['broken']);
      assert.deepEqual(rows, []);
      // The first statement of the failed step was rolled back with it.
      await assert.rejects(db.query('SELECT id FROM broken_ok'), expectCode('STORAGE_QUERY_FAILED'));
    });

    it('binds $n placeholders (reused ones too) and round-trips text, integers, epoch ms, null, booleans and bytes', async (t) => {
      if (skip) return t.skip(skip);
      const now = Date.now();
      await db.exec('INSERT INTO widgets (name, version, body, created_at) VALUES ($1, $2, $3, $4)', ['héllo/wörld ✓', 7, null, now]);
      const rows = await db.query<{ name: string; version: number; body: null; created_at: number }>(
        'SELECT name, version, body, created_at FROM widgets WHERE name = $1 AND (version = $2 OR version = $2 + 0)',
        ['héllo/wörld ✓', 7],
      );
      assert.deepEqual(rows, [{ name: 'héllo/wörld ✓', version: 7, body: null, created_at: now }]);
      const bytes = new Uint8Array(4 * 1024 * 1024 + 3);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31) & 0xff;
      await db.exec('INSERT INTO blobs (id, data, flag) VALUES ($1, $2, $3)', ['big', bytes, true]);
      const [b] = await db.query<{ data: Buffer; flag: number }>('SELECT data, flag FROM blobs WHERE id = $1', ['big']);
      assert.ok(Buffer.isBuffer(b!.data));
      assert.ok(Buffer.from(bytes).equals(b!.data));
      assert.equal(b!.flag, 1);
      const [c] = await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM widgets WHERE name = $1', ['héllo/wörld ✓']);
      assert.equal(c!.n, 1);
      assert.equal(typeof c!.n, 'number');
    });

    it('RETURNING, ON CONFLICT DO NOTHING / DO UPDATE and exec change counts agree', async (t) => {
      if (skip) return t.skip(skip);
      const ins = await db.query<{ version: number }>(
        'INSERT INTO widgets (name, version, body, created_at) VALUES ($1, $2, $3, $4) RETURNING version',
        ['ret', 1, 'a', 1],
      );
      assert.deepEqual(ins, [{ version: 1 }]);
      const nothing = await db.exec(
        'INSERT INTO widgets (name, version, body, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (name, version) DO NOTHING',
        ['ret', 1, 'b', 2],
      );
      assert.equal(nothing.changes, 0);
      const upd = await db.exec(
        'INSERT INTO widgets (name, version, body, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (name, version) DO UPDATE SET body = excluded.body',
        ['ret', 1, 'c', 3],
      );
      assert.equal(upd.changes, 1);
      assert.deepEqual(await db.query('SELECT body FROM widgets WHERE name = $1', ['ret']), [{ body: 'c' }]);
      const del = await db.exec('DELETE FROM widgets WHERE name = $1', ['ret']);
      assert.equal(del.changes, 1);
    });

    it('a unique violation is STORAGE_CONFLICT; a syntax error is STORAGE_QUERY_FAILED', async (t) => {
      if (skip) return t.skip(skip);
      await db.exec('INSERT INTO widgets (name, version, created_at) VALUES ($1, $2, $3)', ['dup', 1, 1]);
      await assert.rejects(db.exec('INSERT INTO widgets (name, version, created_at) VALUES ($1, $2, $3)', ['dup', 1, 2]), expectCode('STORAGE_CONFLICT'));
      await assert.rejects(db.query('SELEC nonsense'), expectCode('STORAGE_QUERY_FAILED'));
    });

    it('a transaction commits on success and rolls back everything when fn throws', async (t) => {
      if (skip) return t.skip(skip);
      const v = await db.transaction(async (tx) => {
        await tx.exec('INSERT INTO widgets (name, version, created_at) VALUES ($1, $2, $3)', ['tx', 1, 1]);
        await tx.exec('INSERT INTO widgets (name, version, created_at) VALUES ($1, $2, $3)', ['tx', 2, 1]);
        return (await tx.query<{ n: number }>('SELECT COUNT(*) AS n FROM widgets WHERE name = $1', ['tx']))[0]!.n;
      });
      assert.equal(v, 2);
      const boom = new Error('boom');
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.exec('INSERT INTO widgets (name, version, created_at) VALUES ($1, $2, $3)', ['tx', 3, 1]);
          throw boom;
        }),
        (e) => e === boom,
      );
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.exec('INSERT INTO widgets (name, version, created_at) VALUES ($1, $2, $3)', ['tx', 4, 1]);
          await tx.exec('INSERT INTO widgets (name, version, created_at) VALUES ($1, $2, $3)', ['tx', 1, 1]);
        }),
        expectCode('STORAGE_CONFLICT'),
      );
      const rows = await db.query<{ version: number }>('SELECT version FROM widgets WHERE name = $1 ORDER BY version', ['tx']);
      assert.deepEqual(rows.map((r) => r.version), [1, 2]);
    });

    it('the handle of a finished transaction refuses further use', async (t) => {
      if (skip) return t.skip(skip);
      let leaked: { query: Db['query'] } | undefined;
      await db.transaction(async (tx) => {
        leaked = tx;
      });
      await assert.rejects(leaked!.query('SELECT 1 AS one'), expectCode('INVALID_ARGUMENT'));
    });

    it('concurrent publishers of the same version from several handles: exactly one wins, the rest get STORAGE_CONFLICT', async (t) => {
      if (skip) return t.skip(skip);
      const handles = [db, await target.open(), await target.open()];
      try {
        await db.exec('INSERT INTO widgets (name, version, body, created_at) VALUES ($1, $2, $3, $4)', ['race', 1, 'v1', 1]);
        const attempts = Array.from({ length: 12 }, (_, i) =>
          handles[i % handles.length]!.transaction(async (tx) => {
            const [cur] = await tx.query<{ v: number }>('SELECT MAX(version) AS v FROM widgets WHERE name = $1', ['race']);
            await tick();
            await tx.exec('INSERT INTO widgets (name, version, body, created_at) VALUES ($1, $2, $3, $4)', ['race', cur!.v + 1, `writer ${i}`, 2]);
            return i;
          }),
        );
        const results = await Promise.allSettled(attempts);
        const won = results.filter((r) => r.status === 'fulfilled');
        const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        for (const l of lost) expectCode('STORAGE_CONFLICT')(l.reason);
        const rows = await db.query<{ version: number; body: string }>('SELECT version, body FROM widgets WHERE name = $1 ORDER BY version', ['race']);
        // Every committed transaction added exactly one version; no version was written twice.
        assert.equal(rows.length, 1 + won.length);
        assert.deepEqual(rows.map((r) => r.version), rows.map((_, i) => i + 1));
        assert.ok(won.length >= 1);
        if (label === 'postgres') assert.ok(lost.length >= 1, 'concurrent PostgreSQL transactions must collide at least once');
      } finally {
        await Promise.all(handles.slice(1).map((h) => h.close()));
      }
    });

    it('notifications reach listeners on other handles; inside a transaction only after commit, never after rollback', async (t) => {
      if (skip) return t.skip(skip);
      const other = await target.open();
      const got: string[] = [];
      const unlisten = await other.listen('contract_changes', (p) => got.push(p));
      const mine: string[] = [];
      const unlistenMine = await db.listen('contract_changes', (p) => mine.push(p));
      try {
        await db.notify('contract_changes', 'plain');
        await db.transaction(async (tx) => {
          await tx.notify('contract_changes', 'committed');
        });
        await assert.rejects(
          db.transaction(async (tx) => {
            await tx.notify('contract_changes', 'rolled-back');
            throw new Error('no');
          }),
        );
        for (let i = 0; i < 100 && (got.length < 2 || mine.length < 2); i++) await tick();
        assert.deepEqual(got, ['plain', 'committed']);
        assert.deepEqual(mine, ['plain', 'committed']);
        await assert.rejects(db.notify('Bad-Channel', 'x'), expectCode('INVALID_ARGUMENT'));
      } finally {
        await unlisten();
        await unlistenMine();
        await other.close();
      }
    });

    it('ping answers while open; a closed handle is STORAGE_UNAVAILABLE', async (t) => {
      if (skip) return t.skip(skip);
      const h = await target.open();
      await h.ping();
      await h.close();
      await h.close();
      await assert.rejects(h.query('SELECT 1 AS one'), expectCode('STORAGE_UNAVAILABLE'));
    });
  });
}

contract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ocitrust-sqlite-'));
  const file = join(dir, 'sub', 'ocitrust.db');
  return {
    open: () => openDb(file),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

contract('postgres', async () => {
  const reason = postgresSkipReason();
  if (reason) return reason;
  const pgdb: TestDatabase = await freshPostgresDatabase();
  return {
    open: () => openDb(pgdb.url, { poolSize: 4 }),
    cleanup: () => pgdb.drop(),
  };
});

describe('storage: engine-specific behaviour', () => {
  it('SQLite refuses a call on the outer Db inside transaction() instead of deadlocking', async () => {
    const db = await openDb(':memory:');
    try {
      await assert.rejects(
        db.transaction(async () => {
          await db.query('SELECT 1 AS one');
        }),
        expectCode('INVALID_ARGUMENT'),
      );
      // The lock was released: the database still answers.
      assert.deepEqual(await db.query('SELECT 1 AS one'), [{ one: 1 }]);
    } finally {
      await db.close();
    }
  });

  it('SQLite statements from outside wait for a running transaction instead of joining it', async () => {
    const db = await openDb(':memory:');
    try {
      await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)');
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const tx = db.transaction(async (t) => {
        await t.exec('INSERT INTO t (id) VALUES ($1)', [1]);
        await gate;
        throw new Error('roll back');
      });
      const outside = db.exec('INSERT INTO t (id) VALUES ($1)', [2]);
      await tick();
      release();
      await assert.rejects(tx);
      await outside;
      assert.deepEqual(await db.query('SELECT id FROM t ORDER BY id'), [{ id: 2 }]);
    } finally {
      await db.close();
    }
  });

  it('an unreachable PostgreSQL server is STORAGE_UNAVAILABLE; an unusable SQLite path too', async () => {
    await assert.rejects(openDb('postgres://nobody@127.0.0.1:1/none', { connectTimeoutMs: 2000 }), expectCode('STORAGE_UNAVAILABLE'));
    const dir = mkdtempSync(join(tmpdir(), 'ocitrust-sqlite-'));
    try {
      writeFileSync(join(dir, 'a-file'), 'x');
      await assert.rejects(openDb(join(dir, 'a-file', 'db.sqlite')), expectCode('STORAGE_UNAVAILABLE'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a bad migration set is INVALID_ARGUMENT', async () => {
    const db = await openDb(':memory:');
    try {
      await assert.rejects(
        db.migrate({ component: 'x', steps: [{ version: 2, name: 'a', sql: '' }, { version: 1, name: 'b', sql: '' }] }),
        expectCode('INVALID_ARGUMENT'),
      );
    } finally {
      await db.close();
    }
  });
});
