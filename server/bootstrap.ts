/**
 * The first admin token, made by the server itself: on a first start with an empty token table
 * the operator would otherwise have to open the database (`trust server token create --data …`)
 * before anything could be published. The token goes to a file only its owner can read; the log
 * names the file, never the secret (logs are shipped and kept where secrets must not be).
 */
import { closeSync, fsyncSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock, type Clock } from '../lib/clock.js';
import type { Queryable } from './storage/types.js';
import type { AuditLog } from './audit.js';
import { createToken, type TokenRecord } from './tokens.js';

/** Name of the bootstrap token file inside the data folder. */
export const BOOTSTRAP_TOKEN_FILE = 'admin-token';

/** Options of {@link bootstrapAdminToken}. */
export interface BootstrapOptions {
  readonly db: Queryable;
  readonly audit: AuditLog;
  readonly dataDir: string;
  /** Days until the token expires; 0: never. */
  readonly expiryDays: number;
  readonly clock?: Clock;
}

/** What {@link bootstrapAdminToken} did: the file and the token record (never the secret), or nothing. */
export type BootstrapResult = { readonly file: string; readonly token: TokenRecord } | null;

/**
 * Creates an admin token on every collection (`**`) when the database holds no token at all,
 * and writes its secret to `<dataDir>/admin-token` (mode 0600, created exclusively: an existing
 * file is never overwritten, so two instances starting together on one data folder make at most
 * one file; the second one's token is revoked at once).
 *
 * @throws OcitrustError STORAGE_* from the database; a file system error when the file cannot be written
 */
export async function bootstrapAdminToken(o: BootstrapOptions): Promise<BootstrapResult> {
  const rows = await o.db.query('SELECT id FROM trust_tokens LIMIT 1');
  if (rows.length > 0) return null;
  const clock = o.clock ?? systemClock;
  const file = join(o.dataDir, BOOTSTRAP_TOKEN_FILE);
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch (e) {
    // Another instance on the same data folder got there first: its file holds the token.
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return null;
    throw e;
  }
  try {
    const expiresAt = o.expiryDays > 0 ? new Date(clock.now().getTime() + o.expiryDays * 86_400_000) : null;
    const { secret, token } = await createToken(o.db, { role: 'admin', patterns: ['**'], name: 'bootstrap-admin', expiresAt, createdBy: 'bootstrap', clock });
    writeSync(fd, secret + '\n');
    fsyncSync(fd);
    await o.audit.record({ actor: 'bootstrap', action: 'token.create', outcome: 'ok', detail: `${token.id} admin ** (written to ${file})` });
    return { file, token };
  } catch (e) {
    // No half-made bootstrap: an empty file would stop the next start from trying again.
    closeSync(fd);
    unlinkSync(file);
    throw e;
  } finally {
    try {
      closeSync(fd);
    } catch {
      /* closed above */
    }
  }
}
