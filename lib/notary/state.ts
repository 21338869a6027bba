/**
 * What a Notary v1 client remembers between checks so that a server cannot roll it back: the
 * last trusted root (the next one must chain from it) and the highest version seen of every
 * other role. The CLI persists it under its home (`<home>/notary/<key>.json`, like ocitrust's
 * own trust state); services keep it in memory for the life of the process (they start from
 * the pinned root every time they start).
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OcitrustError } from '../errors/index.js';
import { writeFileAtomic } from '../keys/atomic-write.js';
import { isJsonObject } from '../json.js';

/** The persisted state of one (server, GUN, pin). */
export interface NotaryState {
  /** The last trusted root.json, base64 of its exact bytes. */
  readonly root: string;
  /** Highest trusted version by role name (timestamp, snapshot, targets, targets/releases, …). */
  readonly versions: Readonly<Record<string, number>>;
}

/** Where {@link NotaryState} lives. */
export interface NotaryStateStore {
  load(key: string): Promise<NotaryState | undefined>;
  save(key: string, state: NotaryState): Promise<void>;
}

/** Most state files' size read back (a root plus versions). */
const MAX_STATE_BYTES = 1024 * 1024;

/** Most repositories whose state a service keeps (the oldest is forgotten: it starts again from the pin). */
const MAX_MEMORY_STATES = 10_000;

/** The state in this process's memory (services), bounded to {@link MAX_MEMORY_STATES} repositories. */
export function memoryStateStore(map: Map<string, NotaryState> = new Map()): NotaryStateStore {
  return {
    load: async (key) => map.get(key),
    save: async (key, state) => {
      map.delete(key);
      map.set(key, state);
      if (map.size > MAX_MEMORY_STATES) map.delete(map.keys().next().value!);
    },
  };
}

/**
 * The state in files under `dir` (the CLI: `<home>/notary`), written atomically.
 * A file that is not a state is an error (never silently a first use).
 */
export function fileStateStore(dir: string): NotaryStateStore {
  const path = (key: string) => join(dir, `${key}.json`);
  return {
    async load(key) {
      let bytes: Buffer;
      try {
        bytes = await readFile(path(key));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw new OcitrustError('TUF_CACHE_IO', `Notary trust state ${path(key)} could not be read: ${(e as Error).message}`, { cause: e });
      }
      if (bytes.length > MAX_STATE_BYTES) throw new OcitrustError('TUF_CACHE_IO', `Notary trust state ${path(key)}: expected at most ${MAX_STATE_BYTES} bytes, got ${bytes.length}`);
      let v: unknown;
      try {
        v = JSON.parse(bytes.toString('utf8'));
      } catch {
        v = undefined;
      }
      if (!isJsonObject(v) || typeof v.root !== 'string' || !isJsonObject(v.versions) || !Object.values(v.versions).every((n) => Number.isSafeInteger(n))) {
        throw new OcitrustError('TUF_CACHE_IO', `Notary trust state ${path(key)}: expected {root, versions}; remove the file to start again from the pinned root`);
      }
      return { root: v.root, versions: v.versions as Record<string, number> };
    },
    async save(key, state) {
      try {
        await mkdir(dir, { recursive: true, mode: 0o700 });
        await writeFileAtomic(path(key), JSON.stringify(state), { mode: 0o600, overwrite: true });
      } catch (e) {
        throw new OcitrustError('TUF_CACHE_IO', `Notary trust state ${path(key)} could not be written: ${(e as Error).message}`, { cause: e });
      }
    },
  };
}
