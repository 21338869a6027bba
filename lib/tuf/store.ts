import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { OcitrustError, assertArg } from '../errors/index.js';
import { parseJson, isJsonObject } from '../json.js';
import { parseTime } from '../clock.js';

/**
 * The last trusted metadata of one collection, persisted so that rollback protection survives
 * across runs (DESIGN §3) and so that verification can continue offline for a bounded time.
 */
export interface CachedTrust {
  /**
   * SHA-256 hex of the pinned root bytes this state descends from. When the trust
   * configuration pins another root, the cached state is not used.
   */
  readonly anchor: string;
  /** When this state was last refreshed from the source (`YYYY-MM-DDTHH:MM:SSZ`). */
  readonly refreshedAt: string;
  readonly root: Uint8Array;
  readonly timestamp?: Uint8Array;
  readonly snapshot?: Uint8Array;
  readonly targets?: Uint8Array;
}

/**
 * Persistence of {@link CachedTrust} per collection. The CLI uses {@link FileTrustCache}
 * under the ocitrust home; the server and hook may store it in their database.
 */
export interface TrustCache {
  /** The cached state, or null when there is none. @throws TUF_CACHE_IO */
  read(collection: string): Promise<CachedTrust | null>;
  /** Replaces the cached state atomically. @throws TUF_CACHE_IO */
  write(collection: string, trust: CachedTrust): Promise<void>;
}

/** A cache in memory (one process; for tests and long-running services that keep no files). */
export class MemoryTrustCache implements TrustCache {
  readonly #m = new Map<string, CachedTrust>();

  async read(collection: string): Promise<CachedTrust | null> {
    return this.#m.get(collection) ?? null;
  }

  async write(collection: string, trust: CachedTrust): Promise<void> {
    this.#m.set(collection, Object.freeze({ ...trust }));
  }
}

const FORMAT = 'ocitrust.trust-cache.v1';
const ROLES = ['root', 'timestamp', 'snapshot', 'targets'] as const;
/** Bound on a cache file: four metadata documents of at most 16 MiB, base64. */
const MAX_CACHE_FILE = 4 * 24 * 1024 * 1024;

/**
 * One JSON file per collection under `dir` (`<percent-encoded collection>.json`, mode 0600,
 * directory 0700), holding the four metadata documents base64-encoded. One file per
 * collection makes each write a single atomic rename (temp file, fsync, rename, fsync dir),
 * so a crash never leaves a mix of old and new roles.
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

  /** The file holding a collection's state. @throws INVALID_ARGUMENT */
  pathOf(collection: string): string {
    assertArg(typeof collection === 'string' && collection.length > 0 && collection.length <= 1024, 'collection', 'non-empty name', collection);
    // encodeURIComponent leaves '.' alone; prefixing keeps "." and ".." from naming directories.
    return join(this.dir, `c-${encodeURIComponent(collection)}.json`);
  }

  async read(collection: string): Promise<CachedTrust | null> {
    const p = this.pathOf(collection);
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
    if (!isJsonObject(v) || v.format !== FORMAT) return corrupt('unknown format');
    if (typeof v.anchor !== 'string' || !/^[0-9a-f]{64}$/.test(v.anchor)) return corrupt('bad anchor');
    if (parseTime(v.refreshedAt) === null) return corrupt('bad refreshedAt');
    const bytes: Partial<Record<(typeof ROLES)[number], Uint8Array>> = {};
    for (const r of ROLES) {
      const b = v[r];
      if (b === undefined) continue;
      if (typeof b !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(b)) return corrupt(`bad ${r}`);
      bytes[r] = new Uint8Array(Buffer.from(b, 'base64'));
    }
    if (!bytes.root) return corrupt('no root');
    return { anchor: v.anchor, refreshedAt: v.refreshedAt as string, root: bytes.root, ...omitUndefined({ timestamp: bytes.timestamp, snapshot: bytes.snapshot, targets: bytes.targets }) };
  }

  async write(collection: string, trust: CachedTrust): Promise<void> {
    const p = this.pathOf(collection);
    const doc: Record<string, string> = { format: FORMAT, anchor: trust.anchor, refreshedAt: trust.refreshedAt };
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
