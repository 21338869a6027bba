import { OcitrustError } from '../../lib/errors/index.js';
import type { SqlValue } from './types.js';

/** A statement rewritten for SQLite: `?` placeholders and, per `?`, the index of its value. */
export interface PositionalSql {
  readonly sql: string;
  /** For each `?` in order, the 0-based index into the original `$n` parameter list. */
  readonly order: readonly number[];
}

/**
 * Rewrites PostgreSQL `$1…$n` placeholders into SQLite `?` (better-sqlite3 binds numbered
 * placeholders only by name), remembering which value each `?` takes so a `$1` used twice is
 * bound twice. Quoted strings, quoted identifiers and comments are copied untouched.
 *
 * @throws OcitrustError INVALID_ARGUMENT for `$0` or an unterminated quote
 */
export function toPositional(sql: string): PositionalSql {
  let out = '';
  const order: number[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'" || c === '"') {
      const end = sql.indexOf(c, i + 1);
      if (end < 0) throw new OcitrustError('INVALID_ARGUMENT', `sql: expected a closing ${c}, got an unterminated quote`);
      // A doubled quote inside the literal is an escaped quote; the loop simply continues after it.
      out += sql.slice(i, end + 1);
      i = end + 1;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end < 0 ? sql.length : end;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === '$' && /[0-9]/.test(sql[i + 1] ?? '')) {
      let j = i + 1;
      while (j < sql.length && /[0-9]/.test(sql[j]!)) j++;
      const n = Number(sql.slice(i + 1, j));
      if (n < 1) throw new OcitrustError('INVALID_ARGUMENT', `sql: expected placeholders $1 and up, got $${n}`);
      order.push(n - 1);
      out += '?';
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  return { sql: out, order };
}

/** Converts one value to what the drivers accept (booleans → 0/1, Uint8Array → Buffer, undefined → null). */
export function normalizeValue(v: SqlValue): string | number | bigint | null | Buffer {
  if (v === undefined || v === null) return null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof Uint8Array) return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return v;
}

/** The values for a {@link PositionalSql}, in `?` order. */
export function bindPositional(p: PositionalSql, params: readonly SqlValue[]): (string | number | bigint | null | Buffer)[] {
  return p.order.map((idx) => {
    if (idx >= params.length) {
      throw new OcitrustError('INVALID_ARGUMENT', `sql params: expected at least ${idx + 1} values, got ${params.length}`);
    }
    return normalizeValue(params[idx]);
  });
}
