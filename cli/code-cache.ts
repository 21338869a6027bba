/**
 * Runs the bundled CLI (dist/cli/bundle/trust.cjs, one CommonJS script) from a V8 code cache, so
 * a `trust` process neither parses nor compiles the code its command ran last time (issue 20).
 * Node 20 has no compile cache for ES modules (`module.enableCompileCache` is Node ≥ 22.1), but
 * `vm.Script` takes and produces V8 code caches on every Node version: this is that route, the
 * same on 20 and on later versions.
 *
 * One cache file per command (`verify.v8`, `sign.v8`, …): the cache is made after the command
 * ran (`script.createCachedData()` then holds every function it compiled, not only the top
 * level), so each command's file covers its own path.
 *
 * Why a cache can be trusted, and when it is not used:
 *   - V8 accepts a cache only for its own version and flags and a source of the same length; a
 *     source of the same length but other content would run the wrong code, so each file starts
 *     with a key naming the bundle exactly (its build hash, inlined into trust.js at build time,
 *     and its size, modification time and inode) and the Node version; another key → not used,
 *     rewritten.
 *   - Code in the cache runs as ours: the folder must belong to this user and be writable by
 *     nobody else (else no cache is read or written), files are written whole and renamed into
 *     place (a reader never sees half a file). Whoever can write there can already change this
 *     user's keys and pinned roots in ~/.ocitrust.
 *   - `OCITRUST_CODE_CACHE=off` turns it off; any problem with the cache (no home, read-only
 *     folder, another owner, a rejected cache) only costs the compile it would have saved.
 *
 * The folder: cli/cache-dir.ts (`$XDG_CACHE_HOME/ocitrust`, else `~/.cache/ocitrust`).
 */
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync, type Stats } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';
import { codeCacheDir, isPrivateFolder, OTHERS_WRITE, ownedPrivately } from './cache-dir.js';

export { codeCacheDir } from './cache-dir.js';

/** What trust.cjs exports (cli/bundle-entry.ts). */
export interface BundledCli {
  run(argv: readonly string[]): Promise<number>;
  serveVerifyDaemon(socket: string): Promise<void>;
}

const MAGIC = 'ocitrust-code-cache/1\n';

/**
 * The cache file's name for this command line: its command, else `trust`; `-help` added for a
 * help request. The first run of a name writes its cache and later runs only read it, so a
 * name must stand for one code path: `verify --help` must not leave `verify` a cache without
 * the verification in it.
 */
export function cacheName(argv: readonly string[]): string {
  const first = argv.find((a) => !a.startsWith('-'));
  const name = first && /^[a-z][a-z0-9-]{0,39}$/.test(first) ? first : 'trust';
  const help = argv.some((a) => a === '--help' || a === '-h') || first === 'help';
  return `${name}${help && name !== 'help' ? '-help' : ''}.v8`;
}

/** The cached data for `key`, if a usable file holds it. */
function readCache(dir: string, file: string, key: string): Buffer | undefined {
  let fd: number | undefined;
  try {
    if (!isPrivateFolder(dir, OTHERS_WRITE)) return undefined;
    fd = openSync(join(dir, file), 'r');
    const st = fstatSync(fd);
    if (!st.isFile() || !ownedPrivately(st, OTHERS_WRITE)) return undefined;
    const bytes = readFileSync(fd);
    const header = `${MAGIC}${key}\n`;
    if (bytes.length <= header.length || bytes.toString('latin1', 0, header.length) !== header) return undefined;
    return bytes.subarray(header.length);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Writes the cache whole (temporary file, rename) into a private folder; never throws. */
function writeCache(dir: string, file: string, key: string, data: () => Buffer): void {
  const tmp = join(dir, `.${file}.${process.pid}.tmp`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!isPrivateFolder(dir, OTHERS_WRITE)) return;
    writeFileSync(tmp, Buffer.concat([Buffer.from(`${MAGIC}${key}\n`, 'latin1'), data()]), { mode: 0o600, flag: 'wx' });
    renameSync(tmp, join(dir, file));
  } catch {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing was written
    }
  }
}

/** The loaded CLI. */
export interface LoadedCli {
  readonly cli: BundledCli;
  /** True when V8 took the code cache (nothing of the cached code was compiled again). */
  readonly fromCache: boolean;
  /**
   * Call once the command finished: writes the cache when there was none to take and the
   * command succeeded (exit 0) — a run that stopped early (a typo, a server down) would leave
   * a cache without the command's real path in it.
   */
  done(exitCode: number): void;
}

/**
 * Loads `bundle` (trust.cjs) with the code cache for `argv`'s command and returns its exports;
 * `done(exitCode)`, called once the command finished, writes a new cache when there was none (or
 * V8 refused it) and the command succeeded, so it holds the code that command compiled.
 * @param buildId the bundle's build hash (inlined by scripts/build-cli.mjs)
 */
export function loadBundledCli(bundle: string, buildId: string, argv: readonly string[], env: NodeJS.ProcessEnv = process.env): LoadedCli {
  const fd = openSync(bundle, 'r');
  let source: string;
  let st: Stats;
  try {
    st = fstatSync(fd);
    // ASCII only (scripts/build-cli.mjs checks it): latin1 is the same text without UTF-8 decoding.
    source = readFileSync(fd, 'latin1');
  } finally {
    closeSync(fd);
  }
  const dir = codeCacheDir(env);
  const file = cacheName(argv);
  const key = `${buildId} ${st.size} ${st.mtimeMs} ${st.ino} ${process.version} ${process.arch}`;
  const cachedData = dir ? readCache(dir, file, key) : undefined;
  // The CommonJS wrapper Node itself puts around a module.
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: bundle, ...(cachedData ? { cachedData } : {}) });
  const mod = { exports: {} as BundledCli };
  (script.runInThisContext() as (...a: unknown[]) => void).call(mod.exports, mod.exports, createRequire(bundle), mod, bundle, dirname(bundle));
  const stale = dir !== undefined && (cachedData === undefined || script.cachedDataRejected === true);
  return {
    cli: mod.exports,
    fromCache: cachedData !== undefined && script.cachedDataRejected !== true,
    done: (exitCode: number) => {
      if (stale && exitCode === 0) writeCache(dir, file, key, () => script.createCachedData());
    },
  };
}
