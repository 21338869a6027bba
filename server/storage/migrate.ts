import { OcitrustError, assertArg } from '../../lib/errors/index.js';
import type { Dialect, MigrationSet, MigrationStep } from './types.js';

/** The table that records applied steps; created by every engine before migrating. */
export const SCHEMA_TABLE_SQL = `CREATE TABLE IF NOT EXISTS schema_migrations (
  component TEXT NOT NULL,
  version INTEGER NOT NULL,
  name TEXT NOT NULL,
  applied_at BIGINT NOT NULL,
  PRIMARY KEY (component, version)
)`;

/** Key of the PostgreSQL advisory lock that serializes migrations across processes ("ocitrust" in hex-ish). */
export const MIGRATION_LOCK_KEY = 0x6f63697472757374n;

/**
 * Checks a migration set: component `[a-z][a-z0-9_]*`, versions positive, strictly increasing.
 * @throws OcitrustError INVALID_ARGUMENT
 */
export function checkMigrationSet(set: MigrationSet): void {
  assertArg(typeof set?.component === 'string' && /^[a-z][a-z0-9_]{0,63}$/.test(set.component), 'migration component', 'a lowercase identifier', set?.component);
  assertArg(Array.isArray(set.steps), 'migration steps', 'an array', set.steps);
  let prev = 0;
  for (const s of set.steps) {
    assertArg(Number.isSafeInteger(s.version) && s.version > prev, `${set.component} migration version`, `an integer above ${prev}`, s.version);
    prev = s.version;
  }
}

/** The script of `step` for `dialect`. */
export function scriptFor(step: MigrationStep, dialect: Dialect): string {
  return typeof step.sql === 'string' ? step.sql : step.sql[dialect];
}

/**
 * Steps of `set` not in `applied`, in order.
 * @throws OcitrustError STORAGE_MIGRATION_FAILED when the database has a version this code does not know (it is newer)
 */
export function pendingSteps(set: MigrationSet, applied: ReadonlySet<number>): MigrationStep[] {
  const known = new Set(set.steps.map((s) => s.version));
  for (const v of applied) {
    if (!known.has(v)) {
      throw new OcitrustError(
        'STORAGE_MIGRATION_FAILED',
        `schema of ${set.component} is at version ${v}, which this ocitrust does not know: the database was written by a newer version`,
      );
    }
  }
  return set.steps.filter((s) => !applied.has(s.version));
}

/** Wraps a failure of one step. */
export function migrationError(set: MigrationSet, step: MigrationStep, e: unknown): OcitrustError {
  if (e instanceof OcitrustError && e.code === 'STORAGE_UNAVAILABLE') return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new OcitrustError('STORAGE_MIGRATION_FAILED', `${set.component} migration ${step.version} (${step.name}) failed: ${msg}`, { cause: e });
}
