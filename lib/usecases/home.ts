import { mkdir, open, readFile, rename, unlink, chmod } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { OcitrustError, assertArg } from '../errors/index.js';
import { isJsonObject, parseJson } from '../json.js';
import { parseTime } from '../clock.js';
import { FileTrustCache } from '../tuf/store.js';
import { KeyStore, type KeyStoreOptions } from '../keys/keystore.js';

/** How a collection's root came to be pinned. */
export type PinSource = 'tofu' | 'file' | 'init';

/** A pinned root: the trust anchor of one collection on this machine. */
export interface Pin {
  readonly collection: string;
  /** Bytes of the pinned root metadata (any version of the chain; the client walks forward from it). */
  readonly root: Uint8Array;
  readonly how: PinSource;
  /** `YYYY-MM-DDTHH:MM:SSZ` */
  readonly pinnedAt: string;
  /** The trust server the root came from (informational). */
  readonly server?: string;
}

const PIN_FORMAT = 'ocitrust.pin.v1';
const MAX_PIN_FILE = 24 * 1024 * 1024;

/**
 * The ocitrust home folder (default `~/.ocitrust`, mode 0700): `keys/` (the key store),
 * `roots/` (one pinned root per collection) and `trust/` (the last trusted metadata of each
 * collection, for rollback protection across runs and bounded offline use).
 *
 * @example const home = new OcitrustHome(process.env.OCITRUST_HOME ?? OcitrustHome.defaultDir());
 */
export class OcitrustHome {
  readonly dir: string;

  /** @throws INVALID_ARGUMENT */
  constructor(dir: string) {
    assertArg(typeof dir === 'string' && dir.length > 0, 'home', 'a folder path', dir);
    this.dir = dir;
  }

  /** `~/.ocitrust` */
  static defaultDir(): string {
    return join(homedir(), '.ocitrust');
  }

  get keysDir(): string {
    return join(this.dir, 'keys');
  }
  get rootsDir(): string {
    return join(this.dir, 'roots');
  }
  get trustDir(): string {
    return join(this.dir, 'trust');
  }

  /** The key store of this home. */
  keyStore(opts: KeyStoreOptions = {}): KeyStore {
    return new KeyStore(this.keysDir, opts);
  }

  /** The persisted last trusted metadata of every collection. */
  trustCache(): FileTrustCache {
    return new FileTrustCache(this.trustDir);
  }

  /** The file holding the pin of `collection`. @throws INVALID_ARGUMENT */
  pinPath(collection: string): string {
    assertArg(typeof collection === 'string' && collection.length > 0 && collection.length <= 1024, 'collection', 'non-empty name', collection);
    // Same naming as the trust cache: percent-encoded, prefixed so "." and ".." are never names.
    return join(this.rootsDir, `c-${encodeURIComponent(collection)}.json`);
  }

  /**
   * The pinned root of a collection, or null when there is none.
   * @throws PIN_STORE_IO when the file cannot be read or is corrupt
   */
  async readPin(collection: string): Promise<Pin | null> {
    const p = this.pinPath(collection);
    let raw: Buffer;
    try {
      raw = await readFile(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new OcitrustError('PIN_STORE_IO', `cannot read pinned root ${p}: ${(e as Error).message}`, { cause: e });
    }
    const corrupt = (why: string): never => {
      throw new OcitrustError('PIN_STORE_IO', `pinned root ${p} is corrupt (${why}); delete it and pin again with --root FILE`);
    };
    let v: unknown;
    try {
      v = parseJson(raw, { maxBytes: MAX_PIN_FILE, what: 'pinned root' });
    } catch (e) {
      return corrupt((e as Error).message);
    }
    if (!isJsonObject(v) || v.format !== PIN_FORMAT) return corrupt('unknown format');
    if (v.collection !== collection) return corrupt('it names another collection');
    if (v.how !== 'tofu' && v.how !== 'file' && v.how !== 'init') return corrupt('bad "how"');
    if (parseTime(v.pinnedAt) === null) return corrupt('bad pinnedAt');
    if (typeof v.root !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(v.root)) return corrupt('bad root');
    return {
      collection,
      root: new Uint8Array(Buffer.from(v.root, 'base64')),
      how: v.how,
      pinnedAt: v.pinnedAt as string,
      ...(typeof v.server === 'string' ? { server: v.server } : {}),
    };
  }

  /**
   * Pins a root (replacing any earlier pin), atomically: temp file (0600), fsync, rename.
   * @throws PIN_STORE_IO
   */
  async writePin(pin: Pin): Promise<void> {
    const p = this.pinPath(pin.collection);
    const doc = {
      format: PIN_FORMAT,
      collection: pin.collection,
      how: pin.how,
      pinnedAt: pin.pinnedAt,
      ...(pin.server !== undefined ? { server: pin.server } : {}),
      root: Buffer.from(pin.root).toString('base64'),
    };
    const tmp = `${p}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await this.ensure();
      await mkdir(this.rootsDir, { recursive: true, mode: 0o700 });
      const fh = await open(tmp, 'wx', 0o600);
      try {
        await fh.writeFile(JSON.stringify(doc, null, 2) + '\n');
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, p);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw new OcitrustError('PIN_STORE_IO', `cannot write pinned root ${p}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Creates the home folder (0700) when missing. @throws PIN_STORE_IO */
  async ensure(): Promise<void> {
    try {
      const made = await mkdir(this.dir, { recursive: true, mode: 0o700 });
      if (made !== undefined) await chmod(this.dir, 0o700);
    } catch (e) {
      throw new OcitrustError('PIN_STORE_IO', `cannot create the ocitrust home ${this.dir}: ${(e as Error).message}`, { cause: e });
    }
  }
}
