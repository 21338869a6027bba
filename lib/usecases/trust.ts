import { OcitrustError, assertArg } from '../errors/index.js';
import { formatTime, systemClock, type Clock } from '../clock.js';
import { DEFAULT_LIMITS, type Limits } from '../config.js';
import { sha256Hex, bytesEqual } from '../crypto/hash.js';
import { DEFAULT_MAX_CACHE_AGE_SECONDS, Updater, type RefreshResult } from '../tuf/updater.js';
import { HttpMetadataSource, loadFromSource } from '../tuf/source.js';
import { TrustedSet } from '../tuf/trusted-set.js';
import type { OcitrustHome, Pin, PinSource } from './home.js';

/** Options of {@link openCollection}. */
export interface OpenCollectionOptions {
  readonly home: OcitrustHome;
  readonly collection: string;
  /** Trust server base URL. */
  readonly server: string;
  /** Bearer token for servers that refuse anonymous reads. */
  readonly token?: string;
  /** Where the token came from (`OCITRUST_TOKEN`, `--token-file F`), named when the server refuses it. */
  readonly tokenSource?: string;
  /** Explicit trust anchor (`--root FILE`): replaces the pin once it refreshes successfully. */
  readonly root?: Uint8Array;
  /**
   * Require fresh metadata from the server (for writes: the next version must be built on the
   * current one). Without it, a server that cannot be reached falls back to the cached
   * metadata under the freeze rules of lib/tuf.
   */
  readonly online?: boolean;
  /**
   * Offline use, asked for explicitly (`--offline`): the server is not contacted; the persisted
   * trusted state is used while its metadata is unexpired and younger than
   * `maxCacheAgeSeconds` (default {@link DEFAULT_MAX_CACHE_AGE_SECONDS}).
   */
  readonly offline?: boolean;
  readonly clock?: Clock;
  readonly limits?: Limits;
  /**
   * How old persisted trust data may be and still be used when the server cannot be reached
   * (seconds; a policy's `trustMaxAge`). Default 0: a refresh that fails fails closed (exit 3),
   * because a network attacker who blocks the server would otherwise keep a revoked signature
   * valid for as long as the cache is young (DESIGN §3 Freeze). An authentication failure
   * never falls back.
   */
  readonly maxCacheAgeSeconds?: number;
  readonly fetch?: typeof fetch;
}

/** Trusted metadata of one collection and how its root is anchored. */
export interface CollectionTrust {
  readonly collection: string;
  readonly refresh: RefreshResult;
  readonly pin: Pin;
  /**
   * True when this call pinned the root on first use (TOFU): nothing vouched for the root but
   * the server itself. Callers must say so plainly.
   */
  readonly firstUse: boolean;
  /** SHA-256 hex of the pinned root bytes (to compare out of band). */
  readonly pinFingerprint: string;
}

/**
 * Opens a collection's trust data: the pinned root (or `root`, or — first contact — the
 * server's version 1 root, trusted on first use), then the TUF client workflow (root chain,
 * timestamp, snapshot, targets) against the trust server, with the last trusted state kept in
 * the home folder so rollback protection holds across runs.
 *
 * @example const t = await openCollection({ home, collection: 'registry.example.com/app', server });
 * @throws COLLECTION_NOT_FOUND (no such collection on first contact), PIN_STORE_IO, the TUF_* codes
 *   of {@link Updater.refresh} (exit 1 for security failures, exit 3 when the server cannot be asked),
 *   METADATA_* for a malformed root file
 */
export async function openCollection(o: OpenCollectionOptions): Promise<CollectionTrust> {
  assertArg(typeof o === 'object' && o !== null, 'options', 'OpenCollectionOptions object', o);
  assertArg(typeof o.collection === 'string' && o.collection.length > 0, 'collection', 'collection name', o.collection);
  const clock = o.clock ?? systemClock;
  const limits = o.limits ?? DEFAULT_LIMITS;
  const source = new HttpMetadataSource(o.server, o.collection, {
    limits,
    ...(o.token ? { headers: { authorization: `Bearer ${o.token}` } } : {}),
    ...(o.tokenSource ? { tokenSource: o.tokenSource } : {}),
    ...(o.fetch ? { fetch: o.fetch } : {}),
  });
  const existing = await o.home.readPin(o.collection);
  let anchor: Uint8Array;
  let how: PinSource;
  let firstUse = false;
  if (o.root) {
    // Fails early, with the metadata's own error, when the file is not a self-signed root.
    new TrustedSet(o.root, { clock, limits });
    anchor = o.root;
    how = 'file';
  } else if (existing) {
    anchor = existing.root;
    how = existing.how;
  } else if (o.offline) {
    throw new OcitrustError('TUF_CACHE_STALE', `offline: no root of ${o.collection} is pinned on this machine; verify once online (or pin one with --root FILE)`);
  } else {
    // TOFU: version 1 is the start of the chain; every later root must be signed by a
    // threshold of its predecessor's keys, which the walk below checks.
    const first = await source.fetch({ role: 'root', version: 1 }, limits.maxMetadataBytes);
    if (first === null) {
      // A verifier turns this into NOT_SIGNED (lib/usecases/verify.ts); writers are told to
      // `trust init`; readers that the image may be unsigned, misspelt or a mirror — never to
      // create a collection, which is the publisher's job.
      const advice = o.online
        ? `; create it with \`trust init ${o.collection}\``
        : '; check the name for a typo; a mirror or copy verifies against its original with `trust verify --mirror-of ORIGINAL`';
      throw new OcitrustError('COLLECTION_NOT_FOUND', `${o.server} has no trust collection ${o.collection}${advice}`, { details: { collection: o.collection, server: o.server } });
    }
    // Served bytes, not the user's file: malformed is a bad response (exit 3), not an input error.
    loadFromSource(source, { role: 'root', version: 1 }, first, (b) => new TrustedSet(b, { clock, limits }));
    anchor = first;
    how = 'tofu';
    firstUse = true;
  }
  const updater = new Updater({
    collection: o.collection,
    trustedRoot: anchor,
    source,
    // Persisted state is this server's view of this collection, whatever bytes the root came as.
    server: o.server,
    cache: o.home.trustCache(),
    clock,
    limits,
    maxCacheAgeSeconds: o.maxCacheAgeSeconds ?? (o.offline ? DEFAULT_MAX_CACHE_AGE_SECONDS : 0),
    ...(o.offline ? { offline: true } : {}),
  });
  const refresh = await updater.refresh();
  if (o.online && refresh.fromCache) {
    throw refresh.sourceError ?? new OcitrustError('TRUST_SERVER_UNREACHABLE', `${o.server}: no fresh trust data for ${o.collection}`);
  }
  let pin: Pin;
  if (existing && bytesEqual(existing.root, anchor)) {
    pin = existing;
  } else {
    pin = { collection: o.collection, root: anchor, how, pinnedAt: formatTime(clock.now()), server: o.server };
    await o.home.writePin(pin);
  }
  return { collection: o.collection, refresh, pin, firstUse, pinFingerprint: sha256Hex(anchor) };
}

/**
 * Pins `root` for a collection without contacting anyone (after `trust init`, which built it).
 * @throws PIN_STORE_IO
 */
export async function pinRoot(home: OcitrustHome, collection: string, root: Uint8Array, how: PinSource, server: string | undefined, clock: Clock = systemClock): Promise<Pin> {
  const pin: Pin = { collection, root, how, pinnedAt: formatTime(clock.now()), ...(server !== undefined ? { server } : {}) };
  await home.writePin(pin);
  return pin;
}
