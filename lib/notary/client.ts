/**
 * The Notary v1 client workflow (what `notary lookup` and `docker pull` with
 * DOCKER_CONTENT_TRUST=1 do before they trust a tag), against a pinned root:
 *
 * 1. root: the server's latest root.json must chain from the trusted root (the persisted one,
 *    else the pinned root.json) through every `<N>.root.json`, each signed by a threshold of
 *    the previous root's keys and of its own; with a pinned certificate and no state, the first
 *    root that lists the pinned key and is signed by it starts the chain (so a rotated root key
 *    still verifies against the original pin). Never trust on first use.
 * 2. timestamp, signed by the root's timestamp keys; 3. snapshot, fetched by the hash the
 *    timestamp names; 4. targets, by the hash the snapshot names; 5. each delegation asked for
 *    (targets/releases, targets/<signer>), by hash, verified with the delegation's keys and
 *    threshold from targets. Every document: threshold of distinct keys, not expired, version
 *    not lower than the persisted one (rollback), exact length and hashes from its parent.
 */
import { X509Certificate } from 'node:crypto';
import { OcitrustError } from '../errors/index.js';
import { CATALOGUE } from '../errors/catalog.js';
import { readClock, type Clock } from '../clock.js';
import { sha256Hex, sha512, toHex } from '../crypto/hash.js';
import { PublicKey } from '../keys/key.js';
import type { NotarySource } from './source.js';
import type { NotaryState, NotaryStateStore } from './state.js';
import {
  checkThreshold,
  parseRoot,
  parseSnapshot,
  parseTargets,
  parseTimestamp,
  validSigners,
  type FileMeta,
  type NotaryDocument,
  type RootSigned,
  type SnapshotSigned,
  type TargetsSigned,
  type TimestampSigned,
} from './metadata.js';

/** Size limits of documents read from a server. */
export const NOTARY_LIMITS = Object.freeze({
  rootBytes: 512 * 1024,
  timestampBytes: 64 * 1024,
  snapshotBytes: 4 * 1024 * 1024,
  targetsBytes: 64 * 1024 * 1024,
  /** Most root versions walked in one check. */
  maxRootRotations: 64,
});

/** A pinned Notary root: the root key's certificate, or a root.json. */
export type NotaryPin =
  | { readonly kind: 'cert'; readonly key: PublicKey; readonly fingerprint: string }
  | { readonly kind: 'root'; readonly doc: NotaryDocument<RootSigned>; readonly fingerprint: string };

/**
 * Parses a pinned root file: a PEM certificate (what `notary` keeps as the root key) or a
 * Notary root.json (which must be signed by a threshold of its own root keys).
 * @throws NOTARY_ROOT_FILE_INVALID
 */
export function parseNotaryPin(bytes: Uint8Array, what = 'pinned Notary root'): NotaryPin {
  const text = Buffer.from(bytes).toString('utf8');
  if (text.includes('-----BEGIN CERTIFICATE-----')) {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(Buffer.from(bytes));
    } catch (e) {
      throw new OcitrustError('NOTARY_ROOT_FILE_INVALID', `${what}: expected a PEM certificate, got one that does not parse (${(e as Error).message})`);
    }
    const keytype = cert.publicKey.asymmetricKeyType === 'rsa' ? 'rsa-x509' : 'ecdsa-x509';
    let key: PublicKey;
    try {
      key = PublicKey.fromJSON({ keytype, keyval: { private: null, public: Buffer.from(cert.toString()).toString('base64') } });
    } catch (e) {
      throw new OcitrustError('NOTARY_ROOT_FILE_INVALID', `${what}: the certificate's key is not a Notary root key type (${(e as Error).message})`);
    }
    return { kind: 'cert', key, fingerprint: key.fingerprint };
  }
  let doc: NotaryDocument<RootSigned>;
  try {
    doc = parseRoot(bytes, what);
    checkThreshold(doc, doc.signed.roles.root, doc.signed.keys, what);
  } catch (e) {
    throw new OcitrustError('NOTARY_ROOT_FILE_INVALID', `${what}: expected a PEM root certificate or a Notary root.json signed by its root keys: ${(e as Error).message}`);
  }
  return { kind: 'root', doc, fingerprint: sha256Hex(doc.message) };
}

/** A repository's trust data after the workflow: every document verified. */
export interface TrustedNotaryRepo {
  readonly gun: string;
  readonly root: NotaryDocument<RootSigned>;
  readonly timestamp: NotaryDocument<TimestampSigned>;
  readonly snapshot: NotaryDocument<SnapshotSigned>;
  readonly targets: NotaryDocument<TargetsSigned>;
  /** Verified delegations by name, with the keyids whose signatures counted. */
  readonly delegations: ReadonlyMap<string, NotaryDocument<TargetsSigned> & { readonly signers: readonly string[] }>;
  /** Keyids whose signatures counted for the top-level targets. */
  readonly targetsSigners: readonly string[];
  /**
   * Listing every delegation ('all'): the ones whose metadata did not verify (a removed
   * signer's last signature, an expired role), with the verdict; their targets are not trusted.
   */
  readonly invalidDelegations: ReadonlyMap<string, { readonly code: string; readonly message: string }>;
}

/** Options of {@link loadNotaryRepo}. */
export interface LoadNotaryRepoOptions {
  readonly source: NotarySource;
  readonly gun: string;
  readonly pin: NotaryPin;
  readonly clock: Clock;
  /** Delegations to verify (`targets/releases`), or 'all' for every top-level delegation. */
  readonly delegations: readonly string[] | 'all';
  /** Rollback state and the key under which it is kept; without it, nothing is remembered. */
  readonly state?: { readonly store: NotaryStateStore; readonly key: string };
}

const META_MISSING = (what: string) => new OcitrustError('TUF_METADATA_MISSING', `${what} is not on the Notary server although the trusted metadata names it`);

async function fetchByMeta(source: NotarySource, role: string, meta: FileMeta, max: number, parent: string): Promise<Uint8Array> {
  if (meta.length > max) throw new OcitrustError('NOTARY_METADATA_INVALID', `${parent} names ${role} with length ${meta.length}: expected at most ${max} bytes`);
  const file = `${role}.${meta.hashes.sha256}.json`;
  const bytes = (await source.get(file, Math.min(max, meta.length))) ?? (await source.get(`${role}.json`, Math.min(max, meta.length)));
  if (!bytes) throw META_MISSING(`${role} (${file})`);
  checkMeta(bytes, meta, role, parent);
  return bytes;
}

/** @throws TUF_LENGTH_MISMATCH, TUF_HASH_MISMATCH */
export function checkMeta(bytes: Uint8Array, meta: FileMeta, role: string, parent: string): void {
  if (bytes.length !== meta.length) throw new OcitrustError('TUF_LENGTH_MISMATCH', `${role}: ${parent} expects ${meta.length} bytes, got ${bytes.length}`);
  if (sha256Hex(bytes) !== meta.hashes.sha256) throw new OcitrustError('TUF_HASH_MISMATCH', `${role}: the SHA-256 differs from the one ${parent} records`);
  if (meta.hashes.sha512 !== undefined && toHex(sha512(bytes)) !== meta.hashes.sha512) throw new OcitrustError('TUF_HASH_MISMATCH', `${role}: the SHA-512 differs from the one ${parent} records`);
}

function notExpired(doc: { signed: { expires: Date } }, role: string, now: Date): void {
  if (doc.signed.expires.getTime() <= now.getTime()) throw new OcitrustError('TUF_EXPIRED', `Notary ${role} expired at ${doc.signed.expires.toISOString()} (now ${now.toISOString()})`);
}

function notRolledBack(version: number, role: string, state: NotaryState | undefined): void {
  const seen = state?.versions[role];
  if (seen !== undefined && version < seen) throw new OcitrustError('TUF_ROLLBACK', `Notary ${role}: expected version ≥ ${seen} (trusted before), got ${version}`);
}

/** Walks root versions from `from` to `latest` (TUF 5.3), each signed by a threshold of the previous and its own root keys. */
async function walkRoots(source: NotarySource, from: NotaryDocument<RootSigned>, latest: NotaryDocument<RootSigned>, gun: string): Promise<NotaryDocument<RootSigned>> {
  if (latest.signed.version < from.signed.version) throw new OcitrustError('TUF_ROLLBACK', `Notary root of ${gun}: expected version ≥ ${from.signed.version} (trusted), got ${latest.signed.version}`);
  if (latest.signed.version === from.signed.version) {
    if (Buffer.compare(Buffer.from(latest.message), Buffer.from(from.message)) !== 0) {
      throw new OcitrustError('NOTARY_ROOT_NOT_TRUSTED', `Notary root of ${gun}: version ${latest.signed.version} on the server differs from the trusted one`);
    }
    return from;
  }
  if (latest.signed.version - from.signed.version > NOTARY_LIMITS.maxRootRotations) {
    throw new OcitrustError('TUF_ROOT_CHAIN_TOO_LONG', `Notary root of ${gun}: expected at most ${NOTARY_LIMITS.maxRootRotations} versions after the trusted ${from.signed.version}, got ${latest.signed.version}`);
  }
  let cur = from;
  for (let v = from.signed.version + 1; v <= latest.signed.version; v++) {
    const bytes = v === latest.signed.version ? latest.bytes : await source.get(`${v}.root.json`, NOTARY_LIMITS.rootBytes);
    if (!bytes) throw META_MISSING(`root version ${v}`);
    const next = v === latest.signed.version ? latest : parseRoot(bytes, `Notary root version ${v}`);
    if (next.signed.version !== v) throw new OcitrustError('TUF_ROOT_ROTATION_INVALID', `Notary root: expected version ${v}, got ${next.signed.version}`);
    try {
      checkThreshold(next, cur.signed.roles.root, cur.signed.keys, `Notary root version ${v} (by the keys of version ${cur.signed.version})`);
      checkThreshold(next, next.signed.roles.root, next.signed.keys, `Notary root version ${v} (by its own keys)`);
    } catch (e) {
      throw new OcitrustError('TUF_ROOT_ROTATION_INVALID', (e as Error).message, { cause: e });
    }
    cur = next;
  }
  return cur;
}

/** True when the pinned key is one of `doc`'s root keys and signed it. */
function signedByPinnedRootKey(doc: NotaryDocument<RootSigned>, pin: { fingerprint: string }): boolean {
  const ids = doc.signed.roles.root.keyids.filter((id) => doc.signed.keys.get(id)?.fingerprint === pin.fingerprint);
  return ids.length > 0 && validSigners(doc, ids, doc.signed.keys).size > 0;
}

async function trustedRoot(o: LoadNotaryRepoOptions, state: NotaryState | undefined): Promise<NotaryDocument<RootSigned>> {
  const { source, gun, pin } = o;
  const latestBytes = await source.get('root.json', NOTARY_LIMITS.rootBytes);
  if (!latestBytes) throw new OcitrustError('NOTARY_NO_TRUST_DATA', `Notary server ${source.describe} has no trust data for ${gun}`);
  const latest = parseRoot(latestBytes, `Notary root of ${gun}`);
  if (state) return walkRoots(source, parseRoot(Buffer.from(state.root, 'base64'), 'persisted Notary root'), latest, gun);
  if (pin.kind === 'root') return walkRoots(source, pin.doc, latest, gun);
  const fp = pin.fingerprint;
  if (signedByPinnedRootKey(latest, pin)) {
    checkThreshold(latest, latest.signed.roles.root, latest.signed.keys, `Notary root of ${gun}`);
    return latest;
  }
  // The pinned key may have been rotated out: start from the first root it signed.
  for (let v = 1; v < latest.signed.version && v <= NOTARY_LIMITS.maxRootRotations; v++) {
    const bytes = await source.get(`${v}.root.json`, NOTARY_LIMITS.rootBytes);
    if (!bytes) continue;
    const doc = parseRoot(bytes, `Notary root version ${v} of ${gun}`);
    if (doc.signed.version !== v || !signedByPinnedRootKey(doc, pin)) continue;
    checkThreshold(doc, doc.signed.roles.root, doc.signed.keys, `Notary root version ${v} of ${gun}`);
    return walkRoots(source, doc, latest, gun);
  }
  const keys = latest.signed.roles.root.keyids.map((id) => latest.signed.keys.get(id)!.fingerprint.slice(0, 16));
  throw new OcitrustError('NOTARY_ROOT_NOT_TRUSTED', `Notary root of ${gun}: expected a root signed by the pinned key ${fp.slice(0, 16)}…, got root keys ${keys.join(', ')}…`);
}

/**
 * Runs the Notary client workflow for one GUN (see the module comment).
 * @throws OcitrustError: verdicts (exit 1) NOTARY_NO_TRUST_DATA, NOTARY_ROOT_NOT_TRUSTED,
 *   NOTARY_DELEGATION_MISSING, NOTARY_METADATA_INVALID, TUF_THRESHOLD_NOT_MET, TUF_EXPIRED,
 *   TUF_ROLLBACK, TUF_HASH_MISMATCH, TUF_LENGTH_MISMATCH, TUF_ROOT_ROTATION_INVALID,
 *   TUF_METADATA_MISSING; could not decide (exit 3) NOTARY_NOT_A_SERVER, NOTARY_AUTH_FAILED,
 *   TUF_SOURCE_*, TUF_CACHE_IO
 */
export async function loadNotaryRepo(o: LoadNotaryRepoOptions): Promise<TrustedNotaryRepo> {
  const now = readClock(o.clock);
  const state = o.state ? await o.state.store.load(o.state.key) : undefined;
  const root = await trustedRoot(o, state);
  notExpired(root, 'root', now);

  const tsBytes = await o.source.get('timestamp.json', NOTARY_LIMITS.timestampBytes);
  if (!tsBytes) throw new OcitrustError('NOTARY_NO_TRUST_DATA', `Notary server ${o.source.describe} has a root but no timestamp for ${o.gun}`);
  const timestamp = parseTimestamp(tsBytes, `Notary timestamp of ${o.gun}`);
  checkThreshold(timestamp, root.signed.roles.timestamp, root.signed.keys, `Notary timestamp of ${o.gun}`);
  notRolledBack(timestamp.signed.version, 'timestamp', state);
  notExpired(timestamp, 'timestamp', now);

  const snapshot = parseSnapshot(await fetchByMeta(o.source, 'snapshot', timestamp.signed.snapshot, NOTARY_LIMITS.snapshotBytes, 'the timestamp'), `Notary snapshot of ${o.gun}`);
  checkThreshold(snapshot, root.signed.roles.snapshot, root.signed.keys, `Notary snapshot of ${o.gun}`);
  notRolledBack(snapshot.signed.version, 'snapshot', state);
  notExpired(snapshot, 'snapshot', now);
  const rootMeta = snapshot.signed.meta.get('root');
  if (rootMeta) checkMeta(root.bytes, rootMeta, 'root', 'the snapshot');

  const targetsMeta = snapshot.signed.meta.get('targets');
  if (!targetsMeta) throw new OcitrustError('NOTARY_METADATA_INVALID', `Notary snapshot of ${o.gun}: expected an entry for targets`);
  const targets = parseTargets(await fetchByMeta(o.source, 'targets', targetsMeta, NOTARY_LIMITS.targetsBytes, 'the snapshot'), `Notary targets of ${o.gun}`);
  const targetsSigners = checkThreshold(targets, root.signed.roles.targets, root.signed.keys, `Notary targets of ${o.gun}`);
  notRolledBack(targets.signed.version, 'targets', state);
  notExpired(targets, 'targets', now);

  const names = o.delegations === 'all' ? targets.signed.delegations.map((d) => d.name) : o.delegations.filter((n) => n !== 'targets');
  const delegations = new Map<string, NotaryDocument<TargetsSigned> & { signers: readonly string[] }>();
  const invalidDelegations = new Map<string, { code: string; message: string }>();
  for (const name of names) {
    const d = targets.signed.delegations.find((x) => x.name === name);
    if (!d) throw new OcitrustError('NOTARY_DELEGATION_MISSING', `Notary repository ${o.gun}: expected a delegation ${name}, got ${targets.signed.delegations.map((x) => x.name).join(', ') || 'none'}`);
    const meta = snapshot.signed.meta.get(name);
    // Listing every delegation: one nothing was published into yet simply has no targets.
    if (!meta && o.delegations === 'all') continue;
    if (!meta) throw new OcitrustError('NOTARY_DELEGATION_MISSING', `Notary repository ${o.gun}: delegation ${name} has no published metadata (nothing was signed into it)`);
    try {
      const doc = parseTargets(await fetchByMeta(o.source, name, meta!, NOTARY_LIMITS.targetsBytes, 'the snapshot'), `Notary ${name} of ${o.gun}`);
      const signers = checkThreshold(doc, d, targets.signed.delegationKeys, `Notary ${name} of ${o.gun}`);
      notRolledBack(doc.signed.version, name, state);
      notExpired(doc, name, now);
      delegations.set(name, { ...doc, signers });
    } catch (e) {
      // Asked for every delegation, one that does not verify is reported, not fatal (as notary
      // itself warns and goes on); a delegation asked for by name must verify.
      if (o.delegations !== 'all' || !(e instanceof OcitrustError) || CATALOGUE[e.code].exit !== 1) throw e;
      invalidDelegations.set(name, { code: e.code, message: e.message });
    }
  }

  if (o.state) {
    const versions: Record<string, number> = { ...(state?.versions ?? {}), timestamp: timestamp.signed.version, snapshot: snapshot.signed.version, targets: targets.signed.version };
    for (const [n, d] of delegations) versions[n] = d.signed.version;
    await o.state.store.save(o.state.key, { root: Buffer.from(root.bytes).toString('base64'), versions });
  }
  return { gun: o.gun, root, timestamp, snapshot, targets, delegations, targetsSigners, invalidDelegations };
}
