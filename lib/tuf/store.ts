import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { OcitrustError, assertArg } from '../errors/index.js';
import { parseJson, isJsonObject } from '../json.js';
import { parseTime } from '../clock.js';
import { sha256Hex } from '../crypto/hash.js';
import type { ChainLink } from './root-meaning.js';

/**
 * Whose trusted state an entry is: one trust server (its normalized base URL, or a name such as
 * `local` for a server's own storage) and one collection on it (DESIGN §3 Rollback). Never the
 * bytes of the root the caller was given: the same root written differently must find the
 * same state, so that versions never go down however the root is supplied.
 */
export interface TrustStateKey {
  readonly server: string;
  readonly collection: string;
}

/**
 * The last trusted metadata of one collection on one server, persisted so that rollback
 * protection survives across runs (DESIGN §3) and so that verification can continue offline
 * for a bounded time when that is asked for.
 */
export interface CachedTrust {
  /** When this state was last refreshed from the source (`YYYY-MM-DDTHH:MM:SSZ`). */
  readonly refreshedAt: string;
  /**
   * The root versions trusted so far, oldest first, with the fingerprint of their meaning
   * (keys and thresholds): a pinned root is checked against it. Bounded (the newest kept).
   */
  readonly chain: readonly ChainLink[];
  readonly root: Uint8Array;
  readonly timestamp?: Uint8Array;
  readonly snapshot?: Uint8Array;
  readonly targets?: Uint8Array;
}

/**
 * Persistence of {@link CachedTrust} per (server, collection). The CLI uses
 * {@link FileTrustCache} under the ocitrust home; services keep a {@link MemoryTrustCache}
 * for the life of the process (their own storage is the source of the local collections).
 */
export interface TrustCache {
  /** The cached state, or null when there is none. @throws TUF_CACHE_IO */
  read(key: TrustStateKey): Promise<CachedTrust | null>;
  /** Replaces the cached state atomically. @throws TUF_CACHE_IO */
  write(key: TrustStateKey, trust: CachedTrust): Promise<void>;
}

/** Most chain links kept with a state (a pin older than these is checked by walking from it). */
export const MAX_CHAIN_LINKS = 64;

/**
 * A normalized trust server identity for {@link TrustStateKey}: scheme, lower-case host and
 * port, and path without trailing slashes, so `http://H:1/` and `http://h:1` are one server.
 * Anything that is not a URL is kept as given (e.g. `local`, a directory).
 */
export function trustServerId(server: string): string {
  try {
    const u = new URL(server);
    if (u.protocol === 'http:' || u.protocol === 'https:') return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
  } catch {
    // not a URL
  }
  return server;
}

/** A cache in memory (one process; for tests and long-running services that keep no files). */
export class MemoryTrustCache implements TrustCache {
  readonly #m = new Map<string, CachedTrust>();

  async read(key: TrustStateKey): Promise<CachedTrust | null> {
    return this.#m.get(memoryKey(key)) ?? null;
  }

  async write(key: TrustStateKey, trust: CachedTrust): Promise<void> {
    this.#m.set(memoryKey(key), Object.freeze({ ...trust, chain: Object.freeze([...trust.chain]) }));
  }
}

function memoryKey(key: TrustStateKey): string {
  return JSON.stringify([trustServerId(key.server), key.collection]);
}

const FORMAT = 'ocitrust.trust-cache.v2';
/** The format of 0.x: one file per collection, keyed by the SHA-256 of the pinned root bytes. */
const LEGACY_FORMAT = 'ocitrust.trust-cache.v1';
const ROLES = ['root', 'timestamp', 'snapshot', 'targets'] as const;
/** Bound on a cache file: four metadata documents of at most 16 MiB, base64. */
const MAX_CACHE_FILE = 4 * 24 * 1024 * 1024;

/**
 * One JSON file per (server, collection) under `dir`
 * (`s-<first 16 hex of SHA-256 of the server>-c-<percent-encoded collection>.json`, mode 0600,
 * directory 0700) holding the four metadata documents base64-encoded, the server and
 * collection it belongs to, and the trusted root chain. One file per state makes each write a
 * single atomic rename (temp file, fsync, rename, fsync dir), so a crash never leaves a mix of
 * old and new roles. A file of the older per-collection format is read as the baseline of a
 * state that has no file yet, so an upgrade does not forget what was trusted.
 *
 * @example new FileTrustCache(join(home, 'trust-cache'))
 */
export class FileTrustCache implements TrustCache {
  readonly dir: string;

  /** @throws INVALID_ARGUMENT */
  constructor(dir: string) {
    assertArg(typeof dir === 'string' && dir.length > 0, 'dir', 'directory path', dir);
    this.dir = dir;
  }

  /** The file holding a state. @throws INVALID_ARGUMENT */
  pathOf(key: TrustStateKey): string {
    assertArg(typeof key?.server === 'string' && key.server.length > 0, 'server', 'non-empty trust server', key?.server);
    const collection = checkCollection(key.collection);
    // encodeURIComponent leaves '.' alone; prefixing keeps "." and ".." from naming directories.
    return join(this.dir, `s-${sha256Hex(trustServerId(key.server)).slice(0, 16)}-c-${encodeURIComponent(collection)}.json`);
  }

  /** The per-collection file of the older format. */
  #legacyPath(collection: string): string {
    return join(this.dir, `c-${encodeURIComponent(checkCollection(collection))}.json`);
  }

  async read(key: TrustStateKey): Promise<CachedTrust | null> {
    const current = await this.#readFile(this.pathOf(key), key);
    return current ?? (await this.#readFile(this.#legacyPath(key.collection), null));
  }

  async #readFile(p: string, key: TrustStateKey | null): Promise<CachedTrust | null> {
    let raw: Buffer;
    try {
      raw = await readFile(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new OcitrustError('TUF_CACHE_IO', `cannot read trust cache ${p}: ${(e as Error).message}`, { cause: e });
    }
    const corrupt = (why: string): never => {
      throw new OcitrustError('TUF_CACHE_IO', `trust cache ${p} is corrupt (${why}); delete it to start over from the pinned root`);
    };
    let v: unknown;
    try {
      v = parseJson(raw, { maxBytes: MAX_CACHE_FILE, what: 'trust cache' });
    } catch (e) {
      return corrupt((e as Error).message);
    }
    if (!isJsonObject(v) || v.format !== (key ? FORMAT : LEGACY_FORMAT)) return corrupt('unknown format');
    if (key && (v.server !== trustServerId(key.server) || v.collection !== key.collection)) return corrupt('it belongs to another server or collection');
    if (parseTime(v.refreshedAt) === null) return corrupt('bad refreshedAt');
    const chain: ChainLink[] = [];
    if (key) {
      if (!Array.isArray(v.chain) || v.chain.length > MAX_CHAIN_LINKS) return corrupt('bad chain');
      for (const l of v.chain) {
        if (!isJsonObject(l) || !Number.isSafeInteger(l.version) || (l.version as number) < 1 || typeof l.fingerprint !== 'string' || !/^[0-9a-f]{64}$/.test(l.fingerprint)) return corrupt('bad chain');
        chain.push({ version: l.version as number, fingerprint: l.fingerprint });
      }
    }
    const bytes: Partial<Record<(typeof ROLES)[number], Uint8Array>> = {};
    for (const r of ROLES) {
      const b = v[r];
      if (b === undefined) continue;
      if (typeof b !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(b)) return corrupt(`bad ${r}`);
      bytes[r] = new Uint8Array(Buffer.from(b, 'base64'));
    }
    if (!bytes.root) return corrupt('no root');
    return { refreshedAt: v.refreshedAt as string, chain, root: bytes.root, ...omitUndefined({ timestamp: bytes.timestamp, snapshot: bytes.snapshot, targets: bytes.targets }) };
  }

  async write(key: TrustStateKey, trust: CachedTrust): Promise<void> {
    const p = this.pathOf(key);
    const doc: Record<string, unknown> = {
      format: FORMAT,
      server: trustServerId(key.server),
      collection: key.collection,
      refreshedAt: trust.refreshedAt,
      chain: trust.chain.slice(-MAX_CHAIN_LINKS).map((l) => ({ version: l.version, fingerprint: l.fingerprint })),
    };
    for (const r of ROLES) {
      const b = trust[r];
      if (b) doc[r] = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
    }
    const tmp = `${p}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      const fh = await open(tmp, 'wx', 0o600);
      try {
        await fh.writeFile(JSON.stringify(doc));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, p);
      await syncDir(this.dir);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw new OcitrustError('TUF_CACHE_IO', `cannot write trust cache ${p}: ${(e as Error).message}`, { cause: e });
    }
  }
}

function checkCollection(collection: string): string {
  assertArg(typeof collection === 'string' && collection.length > 0 && collection.length <= 1024, 'collection', 'non-empty name', collection);
  return collection;
}

async function syncDir(dir: string): Promise<void> {
  // Makes the rename durable; some platforms cannot open directories, which is not fatal.
  const fh = await open(dir, 'r').catch(() => null);
  if (!fh) return;
  try {
    await fh.sync().catch(() => undefined);
  } finally {
    await fh.close();
  }
}

function omitUndefined<T extends Record<string, unknown>>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
