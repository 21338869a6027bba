import { OcitrustError, isOcitrustError } from '../../lib/errors/index.js';
import type { Clock } from '../../lib/clock.js';
import type { Limits } from '../../lib/config.js';
import { publicKeyOf, randomSecretSeed } from '../../lib/crypto/ed25519.js';
import { sha256Hex } from '../../lib/crypto/hash.js';
import { parseJson } from '../../lib/json.js';
import { PublicKey, type TufKeyJSON } from '../../lib/keys/key.js';
import type { SeedSigner } from '../../lib/keys/signer.js';
import { Metadata } from '../../lib/metadata/metadata.js';
import type { Root } from '../../lib/metadata/root.js';
import type { Targets } from '../../lib/metadata/targets.js';
import type { Db, Queryable } from '../storage/types.js';
import type { AuditInput, AuditLog } from '../audit.js';
import { KeyVault, DEFAULT_SCRYPT } from '../key-vault.js';
import { checkPublish } from './publish-check.js';
import type { WebhookEvents } from '../webhooks/index.js';
import { publishEvents } from '../webhooks/trust-diff.js';
import { describeFile, signSnapshot, signTimestamp } from './server-signing.js';
import { MIRROR_KEY } from './mirror-key.js';
import {
  collectionsDue,
  getSetting,
  insertCollection,
  insertMetadata,
  putSettingOnce,
  readHead,
  readMetadata,
  updateHead,
  type CollectionHead,
} from './store.js';

/** Channel on which instances tell each other that a collection's head changed. */
export const TRUST_CHANNEL = 'ocitrust_trust';

/** Bytes ready to serve, with their ETag. */
export interface ServedFile {
  readonly body: Buffer;
  /** Strong ETag (quoted). */
  readonly etag: string;
  readonly version: number;
  /** Epoch ms. */
  readonly expires: number;
}

/** The server's public keys for a collection and its current versions. */
export interface CollectionInfo {
  readonly name: string;
  readonly keys: { readonly snapshot: TufKeyJSON; readonly timestamp: TufKeyJSON };
  readonly keyids: { readonly snapshot: string; readonly timestamp: string };
  readonly versions: { readonly root: number; readonly targets: number; readonly snapshot: number; readonly timestamp: number };
}

/** The versions a publish produced. */
export interface PublishResult {
  readonly collection: string;
  readonly versions: { readonly root: number; readonly targets: number; readonly snapshot: number; readonly timestamp: number };
}

/** Who asks, for the audit log. */
export interface Actor {
  readonly actor: string;
  readonly tokenId: string | null;
  readonly source: string | null;
}

/** Options of {@link TrustService}. */
export interface TrustServiceOptions {
  readonly db: Db;
  readonly secret: string;
  readonly clock: Clock;
  readonly limits: Limits;
  readonly audit: AuditLog;
  /** Lifetime of server-signed snapshots (seconds). */
  readonly snapshotExpirySeconds: number;
  /** Lifetime of server-signed timestamps (seconds). */
  readonly timestampExpirySeconds: number;
  /** How long a cached head is served without asking the database (ms). */
  readonly cacheTtlMs: number;
  /** Upper bound of the immutable-file cache (bytes). */
  readonly cacheMaxBytes?: number;
  /** scrypt cost for a new key vault (tests lower it). */
  readonly scrypt?: { N: number; r: number; p: number };
  readonly onResign?: (role: 'snapshot' | 'timestamp') => void;
  readonly log?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
  /** Webhook outbox: trust events are written in the transaction of the change. */
  readonly events?: WebhookEvents;
}

interface HeadEntry {
  readonly head: CollectionHead;
  readonly timestamp: ServedFile | null;
  readonly fetchedAt: number;
}

function etagOf(sha256: string): string {
  return `"${sha256.slice(0, 32)}"`;
}

function served(f: { body: string; sha256: string; version: number; expires: number }): ServedFile {
  return { body: Buffer.from(f.body, 'utf8'), etag: etagOf(f.sha256), version: f.version, expires: f.expires };
}

/**
 * The TUF repositories of all collections: creation with server keys, publishing (checked, then
 * committed with a fresh snapshot and timestamp in one transaction), serving with caches, and
 * re-signing snapshot and timestamp before they expire.
 *
 * Caching: versioned files are immutable and cached by content; a collection's head (versions
 * and current timestamp) is cached for `cacheTtlMs`, dropped on a local or (PostgreSQL) remote
 * notification, so every instance serves the newest head within that bound.
 */
export class TrustService {
  readonly #o: TrustServiceOptions;
  #vault: KeyVault | null = null;
  readonly #heads = new Map<string, HeadEntry>();
  readonly #headLoads = new Map<string, Promise<HeadEntry | null>>();
  readonly #files = new Map<string, ServedFile>();
  #fileBytes = 0;
  readonly #signers = new Map<string, { snapshot: SeedSigner; timestamp: SeedSigner }>();
  readonly #resigning = new Map<string, Promise<void>>();
  #unlisten: (() => Promise<void>) | null = null;
  /** Bumped by every invalidation; loads started before one are not cached. */
  #epoch = 0;

  constructor(o: TrustServiceOptions) {
    this.#o = o;
  }

  /**
   * Opens the key vault (creating its parameters on first start) and subscribes to head changes.
   * @throws OcitrustError SERVER_SECRET_INVALID
   */
  async init(): Promise<void> {
    const stored = await getSetting(this.#o.db, 'key_vault');
    if (stored === null) {
      const fresh = KeyVault.create(this.#o.secret, this.#o.scrypt ?? DEFAULT_SCRYPT);
      const kept = await putSettingOnce(this.#o.db, 'key_vault', JSON.stringify(fresh.params));
      // Another instance may have won the insert: open whatever is stored now.
      this.#vault = kept === JSON.stringify(fresh.params) ? fresh : KeyVault.open(this.#o.secret, parseJson(kept, { maxBytes: 4096, what: 'key vault parameters' }));
    } else {
      let params: unknown;
      try {
        params = parseJson(stored, { maxBytes: 4096, what: 'key vault parameters' });
      } catch (e) {
        throw new OcitrustError('SERVER_SECRET_INVALID', 'stored key vault parameters are not JSON', { cause: e });
      }
      this.#vault = KeyVault.open(this.#o.secret, params);
    }
    this.#unlisten = await this.#o.db.listen(TRUST_CHANNEL, (name) => this.invalidate(name));
  }

  /** Stops listening for head changes. */
  async close(): Promise<void> {
    const u = this.#unlisten;
    this.#unlisten = null;
    if (u) await u();
    await Promise.allSettled([...this.#resigning.values()]);
  }

  /** Drops the cached head of `name` (another instance changed it). */
  invalidate(name: string): void {
    this.#epoch++;
    this.#heads.delete(name);
    this.#headLoads.delete(name);
  }

  /** The opened key vault (after {@link init}): it also seals other server-held secrets (webhook signing secrets). */
  get vault(): KeyVault {
    if (!this.#vault) throw new OcitrustError('SERVER_NOT_READY', 'trust service is not initialized');
    return this.#vault;
  }

  private now(): Date {
    return this.#o.clock.now();
  }

  /**
   * Creates a collection with a fresh snapshot key and timestamp key (sealed at rest).
   * @throws OcitrustError COLLECTION_EXISTS
   */
  async createCollection(name: string, who: Actor): Promise<CollectionInfo> {
    const snap = randomSecretSeed();
    const ts = randomSecretSeed();
    const snapPub = PublicKey.fromRaw(publicKeyOf(snap));
    const tsPub = PublicKey.fromRaw(publicKeyOf(ts));
    const now = this.now().getTime();
    try {
      await this.#o.db.transaction(async (tx) => {
        await insertCollection(tx, {
          name,
          snapshotKey: this.vault.sealSeed(snap, name, 'snapshot'),
          timestampKey: this.vault.sealSeed(ts, name, 'timestamp'),
          snapshotPublic: JSON.stringify(snapPub.toJSON()),
          timestampPublic: JSON.stringify(tsPub.toJSON()),
          now,
        });
        const auditId = await this.#o.audit.record({ ...who, action: 'collection.create', collection: name, outcome: 'ok' }, tx);
        await this.#o.events?.record(tx, { name: 'collection.created', collection: name, data: { createdBy: who.actor, tokenId: who.tokenId }, auditId });
      });
    } catch (e) {
      const err = isOcitrustError(e, 'STORAGE_CONFLICT') ? new OcitrustError('COLLECTION_EXISTS', `collection ${name} already exists`, { cause: e }) : e;
      const code = isOcitrustError(err) ? err.code : 'INTERNAL';
      await this.#o.audit
        .record({ ...who, action: 'collection.create', collection: name, outcome: code === 'COLLECTION_EXISTS' ? 'rejected' : 'error', code })
        .catch((aerr: unknown) => this.#o.log?.warn({ err: aerr }, 'audit write failed'));
      throw err;
    } finally {
      snap.fill(0);
      ts.fill(0);
    }
    return (await this.info(name))!;
  }

  /** Public keys and versions of a collection, or null when it does not exist. */
  async info(name: string): Promise<CollectionInfo | null> {
    const e = await this.head(name);
    if (!e) return null;
    const h = e.head;
    const snapshot = PublicKey.fromJSON(JSON.parse(h.snapshotPublic));
    const timestamp = PublicKey.fromJSON(JSON.parse(h.timestampPublic));
    return {
      name,
      keys: { snapshot: snapshot.toJSON(), timestamp: timestamp.toJSON() },
      keyids: { snapshot: snapshot.keyid, timestamp: timestamp.keyid },
      versions: { root: h.rootVersion, targets: h.targetsVersion, snapshot: h.snapshotVersion, timestamp: h.timestampVersion },
    };
  }

  /**
   * The head (cached up to `cacheTtlMs`), or null for an unknown collection. Concurrent misses
   * share one query; `fresh` always reads anew. A load that raced with an invalidation is not
   * cached, so a notification can never be overwritten by an older read.
   */
  private async head(name: string, fresh = false): Promise<HeadEntry | null> {
    const cached = this.#heads.get(name);
    if (!fresh && cached && Date.now() - cached.fetchedAt < this.#o.cacheTtlMs) return cached;
    const inflight = this.#headLoads.get(name);
    if (inflight && !fresh) return inflight;
    const epoch = this.#epoch;
    // Assigned before the load's finally block can run (that needs an await first).
    let p!: Promise<HeadEntry | null>;
    p = (async () => {
      try {
        const head = await readHead(this.#o.db, name);
        if (!head) {
          this.#heads.delete(name);
          return null;
        }
        const prev = this.#heads.get(name);
        const timestamp =
          prev?.timestamp && prev.head.timestampVersion === head.timestampVersion && prev.head.generation === head.generation
            ? prev.timestamp
            : head.timestampBody === null
              ? null
              : served({ body: head.timestampBody, sha256: sha256Hex(head.timestampBody), version: head.timestampVersion, expires: head.timestampExpires ?? 0 });
        const entry: HeadEntry = { head, timestamp, fetchedAt: Date.now() };
        if (this.#epoch === epoch) this.#heads.set(name, entry);
        return entry;
      } finally {
        if (this.#headLoads.get(name) === p) this.#headLoads.delete(name);
      }
    })();
    this.#headLoads.set(name, p);
    return p;
  }

  /**
   * The current timestamp.json. A timestamp that expires within half its lifetime is re-signed in
   * the background; an expired one is re-signed before answering, so a running server never hands
   * out an expired timestamp.
   * @throws OcitrustError COLLECTION_NOT_FOUND, METADATA_NOT_FOUND
   */
  async timestamp(name: string): Promise<ServedFile> {
    let e = await this.requireHead(name);
    if (!e.timestamp) throw new OcitrustError('METADATA_NOT_FOUND', `collection ${name} has no published metadata yet`);
    const now = this.now().getTime();
    if (this.needsResign(e.head, now)) {
      const job = this.resign(name);
      if (e.timestamp.expires <= now || (e.head.snapshotExpires ?? 0) <= now) {
        await job;
        e = await this.requireHead(name, true);
      } else {
        job.catch((err: unknown) => this.#o.log?.warn({ err, collection: name }, 'background re-sign failed'));
      }
    }
    return e.timestamp!;
  }

  /**
   * A versioned metadata file (`N.root.json`, `N.snapshot.json`, `N.targets.json`), or the newest
   * root when `version` is null.
   * @throws OcitrustError COLLECTION_NOT_FOUND, METADATA_NOT_FOUND
   */
  async file(name: string, role: 'root' | 'snapshot' | 'targets', version: number | null): Promise<ServedFile> {
    let v = version;
    if (v === null) {
      const e = await this.requireHead(name);
      v = e.head.rootVersion;
      if (v === 0) throw new OcitrustError('METADATA_NOT_FOUND', `collection ${name} has no published root yet`);
    }
    const key = `${name}\0${role}\0${v}`;
    const hit = this.#files.get(key);
    if (hit) return hit;
    const m = await readMetadata(this.#o.db, name, role, v);
    if (!m) {
      if (version !== null && !(await this.head(name))) throw new OcitrustError('COLLECTION_NOT_FOUND', `no collection named ${name}`);
      throw new OcitrustError('METADATA_NOT_FOUND', `collection ${name} has no ${v}.${role}.json`);
    }
    const f = served(m);
    this.remember(key, f);
    return f;
  }

  private remember(key: string, f: ServedFile): void {
    const max = this.#o.cacheMaxBytes ?? 64 * 1024 * 1024;
    if (f.body.length > max / 4) return;
    this.#files.set(key, f);
    this.#fileBytes += f.body.length;
    for (const [k, old] of this.#files) {
      if (this.#fileBytes <= max) break;
      this.#files.delete(k);
      this.#fileBytes -= old.body.length;
    }
  }

  private async requireHead(name: string, fresh = false): Promise<HeadEntry> {
    const e = await this.head(name, fresh);
    if (!e) throw new OcitrustError('COLLECTION_NOT_FOUND', `no collection named ${name}`);
    return e;
  }

  private signers(h: CollectionHead): { snapshot: SeedSigner; timestamp: SeedSigner } {
    let s = this.#signers.get(h.name);
    if (!s) {
      s = { snapshot: this.vault.openSigner(h.snapshotKey, h.name, 'snapshot'), timestamp: this.vault.openSigner(h.timestampKey, h.name, 'timestamp') };
      this.#signers.set(h.name, s);
    }
    return s;
  }

  private async loadMetadata<K extends 'root' | 'targets'>(q: Queryable, name: string, role: K, version: number): Promise<Metadata<K extends 'root' ? Root : Targets> | null> {
    if (version === 0) return null;
    const m = await readMetadata(q, name, role, version);
    if (!m) throw new OcitrustError('INTERNAL', `collection ${name}: ${version}.${role}.json is missing from the database`);
    return Metadata.fromJSON(role, parseJson(m.body, { maxBytes: this.#o.limits.maxMetadataBytes, what: `${role} metadata` }), this.#o.limits) as never;
  }

  /**
   * Checks and commits a publish: new root and/or targets, then a new snapshot and timestamp
   * signed with the server keys, all in one transaction. Of two publishes of the same version
   * exactly one commits; the other fails with PUBLISH_VERSION_CONFLICT. Every attempt is audited.
   *
   * @throws OcitrustError COLLECTION_NOT_FOUND and the codes of {@link checkPublish}
   */
  async publish(name: string, input: { root?: unknown; targets?: unknown }, who: Actor): Promise<PublishResult> {
    const audit = (e: Omit<AuditInput, keyof Actor | 'action' | 'collection'>, tx?: Queryable): Promise<number> =>
      this.#o.audit.record({ ...who, action: 'publish', collection: name, ...e }, tx);
    try {
      const base = await readHead(this.#o.db, name);
      if (!base) throw new OcitrustError('COLLECTION_NOT_FOUND', `no collection named ${name}`);
      if (base.snapshotKey === MIRROR_KEY) throw new OcitrustError('MIRROR_READ_ONLY', `collection ${name} is a read-only mirror imported from a bundle; publish on the trust server it was saved from, then import the next bundle`);
      const current = {
        root: await this.loadMetadata(this.#o.db, name, 'root', base.rootVersion),
        targets: await this.loadMetadata(this.#o.db, name, 'targets', base.targetsVersion),
      };
      const serverKeyids = {
        snapshot: PublicKey.fromJSON(JSON.parse(base.snapshotPublic)).keyid,
        timestamp: PublicKey.fromJSON(JSON.parse(base.timestampPublic)).keyid,
      };
      const plan = checkPublish(input, current, serverKeyids, this.now(), this.#o.limits);
      const rootFile = plan.root ? describeFile(plan.root.signed.version, plan.root.toBytes(), plan.root.signed.expiresAt.getTime()) : null;
      const targetsFile = plan.targets ? describeFile(plan.targets.signed.version, plan.targets.toBytes(), plan.targets.signed.expiresAt.getTime()) : null;
      const signers = this.signers(base);

      const result = await this.#o.db.transaction(async (tx) => {
        const h = await readHead(tx, name, true);
        // Checked against `base` outside the transaction; anything published since makes it stale.
        if (!h || h.rootVersion !== base.rootVersion || h.targetsVersion !== base.targetsVersion) {
          throw new OcitrustError('PUBLISH_VERSION_CONFLICT', `collection ${name} changed while this publish was checked; refresh and publish again`);
        }
        const now = this.now();
        const targetsMeta = targetsFile ?? (await readMetadata(tx, name, 'targets', h.targetsVersion))!;
        const snap = await signSnapshot(signers.snapshot, h.snapshotVersion + 1, this.expiry(now, this.#o.snapshotExpirySeconds), targetsMeta);
        const ts = await signTimestamp(signers.timestamp, h.timestampVersion + 1, this.expiry(now, this.#o.timestampExpirySeconds), snap);
        const t = now.getTime();
        const conflict = (e: unknown): never => {
          if (isOcitrustError(e, 'STORAGE_CONFLICT')) throw new OcitrustError('PUBLISH_VERSION_CONFLICT', `a concurrent publish to ${name} won`, { cause: e });
          throw e;
        };
        if (rootFile) await insertMetadata(tx, { collection: name, role: 'root', ...rootFile, now: t }).catch(conflict);
        if (targetsFile) await insertMetadata(tx, { collection: name, role: 'targets', ...targetsFile, now: t }).catch(conflict);
        await insertMetadata(tx, { collection: name, role: 'snapshot', ...snap, now: t }).catch(conflict);
        const versions = {
          root: rootFile?.version ?? h.rootVersion,
          targets: targetsFile?.version ?? h.targetsVersion,
          snapshot: snap.version,
          timestamp: ts.version,
        };
        const ok = await updateHead(tx, name, h, {
          generation: h.generation + 1,
          rootVersion: versions.root,
          targetsVersion: versions.targets,
          snapshotVersion: snap.version,
          snapshotExpires: snap.expires,
          timestampVersion: ts.version,
          timestampExpires: ts.expires,
          timestampBody: ts.body,
          now: t,
        });
        if (!ok) throw new OcitrustError('PUBLISH_VERSION_CONFLICT', `a concurrent publish to ${name} won`);
        const auditId = await audit({ outcome: 'ok', versions }, tx);
        // Signer, key, revocation and publish events commit (or roll back) with the publish.
        for (const ev of this.#o.events ? publishEvents(name, current, plan, who) : []) await this.#o.events!.record(tx, { ...ev, auditId });
        await tx.notify(TRUST_CHANNEL, name);
        return { collection: name, versions };
      });
      this.invalidate(name);
      return result;
    } catch (e) {
      const code = isOcitrustError(e) ? e.code : 'INTERNAL';
      const versions: Record<string, number> = {};
      for (const role of ['root', 'targets'] as const) {
        const v = (input[role] as { signed?: { version?: unknown } } | undefined)?.signed?.version;
        if (typeof v === 'number' && Number.isSafeInteger(v)) versions[role] = v;
      }
      await audit({
        outcome: code === 'INTERNAL' || code.startsWith('STORAGE_') ? 'error' : 'rejected',
        code,
        versions: Object.keys(versions).length ? versions : null,
        detail: isOcitrustError(e) ? e.message : 'internal error',
      }).catch((err: unknown) => this.#o.log?.warn({ err }, 'audit write failed'));
      throw e;
    }
  }

  private expiry(now: Date, seconds: number): Date {
    return new Date(now.getTime() + seconds * 1000);
  }

  /**
   * True when the timestamp or snapshot has less than half its lifetime left. Written as "not
   * clearly enough left", so that a time that is no number re-signs rather than lets them lapse.
   */
  private needsResign(h: CollectionHead, now: number): boolean {
    // A read-only mirror (server/trust/mirror.ts) has no keys: it serves what was imported.
    if (h.rootVersion === 0 || h.snapshotKey === MIRROR_KEY) return false;
    return (
      !((h.timestampExpires ?? 0) - now >= (this.#o.timestampExpirySeconds * 1000) / 2) ||
      !((h.snapshotExpires ?? 0) - now >= (this.#o.snapshotExpirySeconds * 1000) / 2)
    );
  }

  /**
   * Re-signs the timestamp (and the snapshot when it is due too) of one collection. Safe across
   * instances: the head row is locked and re-checked, so of several instances doing this at once
   * one writes and the others find nothing left to do. Concurrent calls in one process share the work.
   */
  resign(name: string): Promise<void> {
    let job = this.#resigning.get(name);
    if (!job) {
      job = this.resignNow(name).finally(() => this.#resigning.delete(name));
      this.#resigning.set(name, job);
    }
    return job;
  }

  private async resignNow(name: string): Promise<void> {
    const changed = await this.#o.db.transaction(async (tx) => {
      const h = await readHead(tx, name, true);
      const now = this.now();
      if (!h || !this.needsResign(h, now.getTime())) return null;
      const signers = this.signers(h);
      const t = now.getTime();
      let snapshot = await readMetadata(tx, name, 'snapshot', h.snapshotVersion);
      let snapVersion = h.snapshotVersion;
      let snapExpires = h.snapshotExpires ?? 0;
      let generation = h.generation;
      const roles: ('snapshot' | 'timestamp')[] = ['timestamp'];
      if (snapExpires - t < (this.#o.snapshotExpirySeconds * 1000) / 2 || !snapshot) {
        const targets = await readMetadata(tx, name, 'targets', h.targetsVersion);
        if (!targets) throw new OcitrustError('INTERNAL', `collection ${name}: ${h.targetsVersion}.targets.json is missing from the database`);
        const snap = await signSnapshot(signers.snapshot, h.snapshotVersion + 1, this.expiry(now, this.#o.snapshotExpirySeconds), targets);
        await insertMetadata(tx, { collection: name, role: 'snapshot', ...snap, now: t });
        snapshot = { role: 'snapshot', ...snap };
        snapVersion = snap.version;
        snapExpires = snap.expires;
        generation++;
        roles.push('snapshot');
      }
      const ts = await signTimestamp(signers.timestamp, h.timestampVersion + 1, this.expiry(now, this.#o.timestampExpirySeconds), snapshot);
      const ok = await updateHead(tx, name, h, {
        generation,
        rootVersion: h.rootVersion,
        targetsVersion: h.targetsVersion,
        snapshotVersion: snapVersion,
        snapshotExpires: snapExpires,
        timestampVersion: ts.version,
        timestampExpires: ts.expires,
        timestampBody: ts.body,
        now: t,
      });
      if (!ok) return null;
      await tx.notify(TRUST_CHANNEL, name);
      return roles;
    });
    if (changed) {
      this.invalidate(name);
      for (const r of changed) this.#o.onResign?.(r);
    }
  }

  /** Re-signs every collection that is due (the periodic job); returns how many were looked at. */
  async resignDue(): Promise<number> {
    const now = this.now().getTime();
    const names = await collectionsDue(
      this.#o.db,
      now + (this.#o.timestampExpirySeconds * 1000) / 2,
      now + (this.#o.snapshotExpirySeconds * 1000) / 2,
    );
    for (const n of names) {
      try {
        await this.resign(n);
      } catch (err) {
        this.#o.log?.warn({ err, collection: n }, 're-sign failed');
        // Clients will soon see an expired timestamp: tell the subscribers while there is time.
        void this.#o.events?.stale(n, 'resign-failed', { code: isOcitrustError(err) ? err.code : 'INTERNAL' });
      }
    }
    return names.length;
  }
}

