import { OcitrustError } from '../lib/errors/index.js';

/**
 * Fails for a package the start-up snapshot and the single executable do not carry (the trust
 * server's: fastify, better-sqlite3 with its native binding, pg; and pkcs11js, a native addon). scripts/build-snapshot.mjs
 * replaces each of them by a module that calls this when it is first loaded, which only
 * `trust server` and its token and webhook subcommands do.
 * @throws CLI_NOT_IN_EXECUTABLE, always
 */
export function notInExecutable(pkg: string): never {
  const needs = pkg === 'pkcs11js' ? 'which PKCS#11 (pkcs11:) keys need; use the npm package\'s `trust` for token keys' : 'which the trust server needs; run `trust server` from the npm package or the container image';
  throw new OcitrustError('CLI_NOT_IN_EXECUTABLE', `this build of trust (start-up snapshot or single executable) does not include ${pkg}, ${needs}`);
}
