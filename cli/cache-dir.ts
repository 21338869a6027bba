/**
 * The folder of the bin's code cache (cli/code-cache.ts) and of the warm verifier's socket
 * (cli/verify-daemon.ts): `$XDG_CACHE_HOME/ocitrust` (an absolute XDG_CACHE_HOME only), else
 * `$HOME/.cache/ocitrust`; none with `OCITRUST_CODE_CACHE=off`, without a HOME, or off POSIX.
 * Not `--home`: both are used before the command line is read. Small on purpose: the client
 * of the warm verifier loads it and nothing else of the CLI.
 */
import { lstatSync, type Stats } from 'node:fs';
import { join } from 'node:path';

/** The cache folder, or undefined when there is none to use. */
export function codeCacheDir(env: NodeJS.ProcessEnv): string | undefined {
  if (env.OCITRUST_CODE_CACHE === 'off' || typeof process.getuid !== 'function') return undefined;
  if (env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.startsWith('/')) return join(env.XDG_CACHE_HOME, 'ocitrust');
  return env.HOME && env.HOME.startsWith('/') ? join(env.HOME, '.cache', 'ocitrust') : undefined;
}

/** Owned by this user, and none of `mask`'s permission bits set for anyone else. */
export function ownedPrivately(st: Stats, mask: number): boolean {
  return st.uid === process.getuid!() && (st.mode & mask) === 0;
}

/** No one else may write: what the code cache asks of its folder and files. */
export const OTHERS_WRITE = 0o022;
/** No one else may enter, read or write: what the warm verifier's socket folder must be. */
export const OTHERS_ANY = 0o077;

/** True when `dir` is a folder (not a link) owned by this user with none of `mask` set. */
export function isPrivateFolder(dir: string, mask: number): boolean {
  try {
    const d = lstatSync(dir);
    return d.isDirectory() && ownedPrivately(d, mask);
  } catch {
    return false;
  }
}
