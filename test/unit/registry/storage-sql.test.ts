// Pure parts of server/storage: placeholder translation for SQLite, value normalization,
// driver error classification and migration-set checks.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bindPositional, normalizeValue, toPositional } from '../../../server/storage/placeholders.js';
import { fromPgError, fromSqliteError, isRetryablePgError } from '../../../server/storage/errors.js';
import { checkMigrationSet, pendingSteps } from '../../../server/storage/migrate.js';
import { isOcitrustError } from '../../../lib/errors/index.js';

describe('storage SQL helpers', () => {
  it('toPositional rewrites $n to ? in order, repeats reused placeholders, skips quotes and comments', () => {
    const p = toPositional("SELECT '$1', \"$2\" FROM t WHERE a = $2 AND b = $1 OR c = $2 -- $9\n AND d = 'it''s $3'");
    assert.equal(p.sql, "SELECT '$1', \"$2\" FROM t WHERE a = ? AND b = ? OR c = ? -- $9\n AND d = 'it''s $3'");
    assert.deepEqual(p.order, [1, 0, 1]);
    assert.deepEqual(bindPositional(p, ['x', 'y']), ['y', 'x', 'y']);
    assert.throws(() => bindPositional(toPositional('SELECT $3'), [1]), (e) => isOcitrustError(e, 'INVALID_ARGUMENT'));
    assert.throws(() => toPositional('SELECT $0'), (e) => isOcitrustError(e, 'INVALID_ARGUMENT'));
    assert.throws(() => toPositional("SELECT 'open"), (e) => isOcitrustError(e, 'INVALID_ARGUMENT'));
  });

  it('toPositional keeps every character outside placeholders (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constantFrom('SELECT ', ' = ', ', ', '(', ')', 'x', '_'), fc.integer({ min: 1, max: 30 }).map((n) => `$${n}`)), { maxLength: 30 }), (parts) => {
        const sql = parts.join('');
        const p = toPositional(sql);
        assert.equal(p.sql, sql.replace(/\$[0-9]+/g, '?'));
        assert.deepEqual(p.order, [...sql.matchAll(/\$([0-9]+)/g)].map((m) => Number(m[1]) - 1));
      }),
    );
  });

  it('normalizeValue: booleans → 0/1, Uint8Array → Buffer sharing memory, undefined → null', () => {
    assert.equal(normalizeValue(true), 1);
    assert.equal(normalizeValue(false), 0);
    assert.equal(normalizeValue(undefined), null);
    const u = new Uint8Array([1, 2, 3]).subarray(1);
    const b = normalizeValue(u) as Buffer;
    assert.ok(Buffer.isBuffer(b));
    assert.deepEqual([...b], [2, 3]);
    assert.equal(normalizeValue(7n), 7n);
  });

  it('driver errors are classified: conflicts, outages, everything else', () => {
    const sq = (code: string, message = 'm') => Object.assign(new Error(message), { code });
    assert.equal(fromSqliteError(sq('SQLITE_CONSTRAINT_UNIQUE'), 'q').code, 'STORAGE_CONFLICT');
    assert.equal(fromSqliteError(sq('SQLITE_CONSTRAINT_PRIMARYKEY'), 'q').code, 'STORAGE_CONFLICT');
    assert.equal(fromSqliteError(sq('SQLITE_CONSTRAINT_NOTNULL'), 'q').code, 'STORAGE_QUERY_FAILED');
    assert.equal(fromSqliteError(sq('SQLITE_BUSY'), 'q').code, 'STORAGE_UNAVAILABLE');
    assert.equal(fromSqliteError(new TypeError('The database connection is not open'), 'q').code, 'STORAGE_UNAVAILABLE');
    assert.equal(fromPgError(sq('23505'), 'q').code, 'STORAGE_CONFLICT');
    assert.equal(fromPgError(sq('ECONNREFUSED'), 'q').code, 'STORAGE_UNAVAILABLE');
    assert.equal(fromPgError(sq('57P01'), 'q').code, 'STORAGE_UNAVAILABLE');
    assert.equal(fromPgError(sq('42601'), 'q').code, 'STORAGE_QUERY_FAILED');
    assert.equal(fromPgError(new Error('Connection terminated unexpectedly'), 'q').code, 'STORAGE_UNAVAILABLE');
    assert.ok(isRetryablePgError(sq('40001')) && isRetryablePgError(sq('40P01')) && !isRetryablePgError(sq('23505')));
  });

  it('migration sets: increasing versions; a recorded version this code does not know is refused', () => {
    const set = { component: 'c', steps: [{ version: 1, name: 'a', sql: '' }, { version: 3, name: 'b', sql: '' }] };
    checkMigrationSet(set);
    assert.deepEqual(pendingSteps(set, new Set([1])).map((s) => s.version), [3]);
    assert.deepEqual(pendingSteps(set, new Set()).map((s) => s.version), [1, 3]);
    assert.throws(() => pendingSteps(set, new Set([1, 2])), (e) => isOcitrustError(e, 'STORAGE_MIGRATION_FAILED'));
    assert.throws(() => checkMigrationSet({ component: 'Bad', steps: [] }), (e) => isOcitrustError(e, 'INVALID_ARGUMENT'));
    assert.throws(() => checkMigrationSet({ component: 'c', steps: [{ version: 1, name: '', sql: '' }, { version: 1, name: '', sql: '' }] }), (e) => isOcitrustError(e, 'INVALID_ARGUMENT'));
  });
});
