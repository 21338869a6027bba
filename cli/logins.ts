/**
 * Stored logins (`trust login`): one file per trust server under `<home>/logins/`, mode 0600 in
 * a 0700 folder, holding the token, as `docker login` keeps registry credentials. The
 * environment (OCITRUST_TOKEN) and --token-file still win, so CI never depends on a login.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OcitrustError } from '../lib/errors/index.js';

/** The key a server is stored under: its origin (`http://127.0.0.1:7443`), so a trailing slash or path does not matter. */
export function loginKey(serverUrl: string): string {
  return new URL(serverUrl).origin;
}

/** The file holding the login for `serverUrl` under the home folder `homeDir`. */
export function loginFile(homeDir: string, serverUrl: string): string {
  return join(homeDir, 'logins', encodeURIComponent(loginKey(serverUrl)));
}

/**
 * The stored token for `serverUrl`, or undefined when there is none.
 * @throws OcitrustError CLI_USAGE when the file is readable by group or others (a token others can read is refused, not used)
 */
export function readLogin(homeDir: string, serverUrl: string): string | undefined {
  const file = loginFile(homeDir, serverUrl);
  let text: string;
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    // The mode of the file opened, not of whatever the name points to a moment later; and one
    // path lookup instead of a stat and an open.
    if ((fstatSync(fd).mode & 0o077) !== 0) {
      throw new OcitrustError('CLI_USAGE', `${file} is accessible by group or others: chmod 600 it, or log in again`);
    }
    text = readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
  const token = text.trim();
  return token.length > 0 ? token : undefined;
}

/** Stores `token` for `serverUrl` (atomically, mode 0600); returns the file. */
export function writeLogin(homeDir: string, serverUrl: string, token: string): string {
  const file = loginFile(homeDir, serverUrl);
  mkdirSync(join(homeDir, 'logins'), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, token + '\n', { mode: 0o600, flag: 'wx' });
  renameSync(tmp, file);
  return file;
}

/** Removes the login for `serverUrl`; true when there was one. */
export function removeLogin(homeDir: string, serverUrl: string): boolean {
  try {
    unlinkSync(loginFile(homeDir, serverUrl));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}
