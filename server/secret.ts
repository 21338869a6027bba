import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { OcitrustError } from '../lib/errors/index.js';

/** Name of the generated secret file inside the data directory. */
export const SECRET_FILE = 'server-secret';
/** Shortest accepted server secret (characters). */
export const MIN_SECRET_LENGTH = 32;

/**
 * Finds the server secret that encrypts the per-collection snapshot and timestamp keys at rest:
 * the explicit option, else `OCITRUST_SERVER_SECRET`, else `<dataDir>/server-secret` (created
 * with 32 random bytes, mode 0600, written atomically, on first start). Several instances sharing
 * one PostgreSQL database must all be given the same secret.
 *
 * @throws OcitrustError SERVER_SECRET_INVALID when the secret is too short or the file is unsafe
 */
export function loadServerSecret(opts: { secret?: string; dataDir?: string; env?: NodeJS.ProcessEnv }): string {
  const env = opts.env ?? process.env;
  const given = opts.secret ?? env.OCITRUST_SERVER_SECRET;
  if (given !== undefined && given !== '') return checkSecret(given, 'the server secret');
  if (!opts.dataDir) {
    throw new OcitrustError('SERVER_SECRET_INVALID', 'no server secret: set OCITRUST_SERVER_SECRET or give a data directory to keep a generated one in');
  }
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const file = join(opts.dataDir, SECRET_FILE);
  try {
    const st = statSync(file);
    // A secret readable by others defeats encryption at rest; refuse rather than warn.
    if ((st.mode & 0o077) !== 0) {
      throw new OcitrustError('SERVER_SECRET_INVALID', `${file} is accessible by group or others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
    }
    return checkSecret(readFileSync(file, 'utf8').trim(), file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const secret = randomBytes(32).toString('hex');
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, secret + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    // link() fails with EEXIST when another process created the file first, so two instances
    // starting together on one data directory end up with the same secret (the first one's).
    linkSync(tmp, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new OcitrustError('SERVER_SECRET_INVALID', `cannot write ${file}: ${(e as Error).message}`, { cause: e });
    }
  } finally {
    unlinkSync(tmp);
  }
  return checkSecret(readFileSync(file, 'utf8').trim(), file);
}

function checkSecret(s: string, what: string): string {
  if (s.length < MIN_SECRET_LENGTH) {
    throw new OcitrustError('SERVER_SECRET_INVALID', `${what} is shorter than ${MIN_SECRET_LENGTH} characters`);
  }
  return s;
}
