import { OcitrustError } from '../../lib/errors/index.js';

function codeOf(e: unknown): string {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : '';
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** True for a PostgreSQL error that a re-run of the transaction may fix (serialization, deadlock). */
export function isRetryablePgError(e: unknown): boolean {
  const c = codeOf(e);
  return c === '40001' || c === '40P01';
}

/**
 * Turns a better-sqlite3 error into an OcitrustError: unique/primary-key violations are
 * STORAGE_CONFLICT (the "exactly one wins" signal), a lock held past busy_timeout or an
 * unopenable file is STORAGE_UNAVAILABLE, anything else STORAGE_QUERY_FAILED.
 */
export function fromSqliteError(e: unknown, what: string): OcitrustError {
  if (e instanceof OcitrustError) return e;
  const c = codeOf(e);
  const msg = `${what}: ${messageOf(e)}`;
  if (c === 'SQLITE_CONSTRAINT_UNIQUE' || c === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    return new OcitrustError('STORAGE_CONFLICT', msg, { cause: e });
  }
  if (
    c.startsWith('SQLITE_BUSY') ||
    c.startsWith('SQLITE_LOCKED') ||
    c.startsWith('SQLITE_CANTOPEN') ||
    c.startsWith('SQLITE_READONLY') ||
    c.startsWith('SQLITE_FULL') ||
    c.startsWith('SQLITE_IOERR') ||
    /database connection is not open/i.test(messageOf(e))
  ) {
    return new OcitrustError('STORAGE_UNAVAILABLE', msg, { cause: e });
  }
  return new OcitrustError('STORAGE_QUERY_FAILED', msg, { cause: e });
}

/**
 * Turns a pg error into an OcitrustError by SQLSTATE: 23505 is STORAGE_CONFLICT; connection
 * failures (class 08, 57P0x shutdown, 53300 too many connections, 3D000 no such database,
 * 28xxx authentication, socket errors, a closed pool) are STORAGE_UNAVAILABLE.
 */
export function fromPgError(e: unknown, what: string): OcitrustError {
  if (e instanceof OcitrustError) return e;
  const c = codeOf(e);
  const m = messageOf(e);
  const msg = `${what}: ${m}`;
  if (c === '23505') return new OcitrustError('STORAGE_CONFLICT', msg, { cause: e });
  if (
    c.startsWith('08') ||
    c.startsWith('57P') ||
    c.startsWith('28') ||
    c === '53300' ||
    c === '3D000' ||
    c.startsWith('E') || // ECONNREFUSED, ENOTFOUND, ETIMEDOUT, ECONNRESET…
    /connection (terminated|timeout)|pool after calling end|Connection refused|timeout exceeded/i.test(m)
  ) {
    return new OcitrustError('STORAGE_UNAVAILABLE', msg, { cause: e });
  }
  return new OcitrustError('STORAGE_QUERY_FAILED', msg, { cause: e });
}
