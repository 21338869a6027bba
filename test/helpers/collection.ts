// In-memory TUF collection for tests (style anchor: tuf-js packages/repo-mock): fresh keys,
// root/targets/snapshot/timestamp signed and serialized exactly as ocitrust publishes them,
// delegated signer roles, and methods that publish new versions (signers added or removed,
// revocations, root rotation). Every published file stays in `files` under its TUF name, so
// tests can serve them (MemoryMetadataSource, an HTTP server) or tamper with them.
import { fixedClock, type Clock } from '../../lib/clock.js';
import { randomSecretSeed } from '../../lib/crypto/ed25519.js';
import { canonicalBytes } from '../../lib/crypto/canonical.js';
import { toHex } from '../../lib/crypto/hash.js';
import { SeedSigner, localSigner, randomSecret, type LocalSigner, type Signer, type SigningAlgorithm } from '../../lib/keys/signer.js';
import { Metadata } from '../../lib/metadata/metadata.js';
import { MetaFile } from '../../lib/metadata/meta-file.js';
import type { RevocationOptions } from '../../lib/metadata/revocation.js';
import type { Root } from '../../lib/metadata/root.js';
import type { Signed, TopLevelRoleName } from '../../lib/metadata/signed.js';
import type { Snapshot } from '../../lib/metadata/snapshot.js';
import type { Targets } from '../../lib/metadata/targets.js';
import type { Timestamp } from '../../lib/metadata/timestamp.js';
import { bumpVersion, newRoot, newSnapshot, newTargets, newTimestamp } from '../../lib/metadata/builders.js';
import { trustViewFromTargets } from '../../lib/metadata/trust-view.js';
import { MemoryMetadataSource, metadataFileName, type MetadataSource } from '../../lib/tuf/source.js';
import type { TrustedTargets } from '../../lib/verify/trust.js';

/** The time test collections are built at unless told otherwise. */
export const TEST_TIME = '2026-01-15T12:00:00Z';

/** A delegated signer role to create. */
export interface SignerSpec {
  readonly name: string;
  /** Number of fresh keys (default 1). */
  readonly keys?: number;
  /** Default 1. */
  readonly threshold?: number;
  /** Default `[<collection>*]` (covers `<collection>:<tag>` and `<collection>@<digest>`). */
  readonly paths?: readonly string[];
  readonly terminating?: boolean;
}

/** Options of {@link buildCollection}. */
export interface CollectionOptions {
  /** Collection name, e.g. `reg.example/app`. */
  readonly collection: string;
  readonly signers?: readonly SignerSpec[];
  /** Clock the metadata's expiries are computed from (default fixedClock(TEST_TIME)). */
  readonly clock?: Clock;
  /** Number of root keys and root threshold (default 1 / 1). */
  readonly rootKeys?: number;
  readonly rootThreshold?: number;
  /** Number of targets keys and targets threshold (default 1 / 1). */
  readonly targetsKeys?: number;
  readonly targetsThreshold?: number;
  /** Override lifetimes (seconds) per role. */
  readonly expiresInSeconds?: Partial<Record<TopLevelRoleName, number>>;
  /** Type of every key the collection creates (default ed25519). */
  readonly keyType?: SigningAlgorithm;
}

/** Options of a single publication. */
export interface PublishOptions {
  /** Sign with these instead of the role's current keys (for negative tests). */
  readonly signWith?: readonly Signer[];
  /** Clock for the new expiries (default: the collection's). */
  readonly clock?: Clock;
  /** Lifetime (seconds) of the new document. */
  readonly expiresInSeconds?: number;
}

/** Options of {@link TestCollection.rotateRoot}. */
export interface RotateOptions {
  /** New root keys: a count of fresh keys, or given signers (default: 1 fresh key). */
  readonly newKeys?: number | readonly LocalSigner[];
  readonly threshold?: number;
  /** Signers of the new root (default: every old and every new root key). */
  readonly signWith?: readonly Signer[];
  /** Rotate another top-level role's keys instead of root's (root keys then stay). */
  readonly role?: TopLevelRoleName;
  readonly clock?: Clock;
}

/**
 * Signs raw metadata JSON (`{signed, signatures}`) the way ocitrust does, for tests that build
 * or tamper with documents by hand. `append` keeps existing signatures (default: replace them).
 */
export function signDocument(doc: { signed: unknown; signatures?: unknown[] }, signers: readonly LocalSigner[], opts: { append?: boolean } = {}): any {
  const bytes = canonicalBytes(doc.signed);
  const sigs = opts.append ? [...(doc.signatures ?? [])] : [];
  for (const s of signers) sigs.push({ keyid: s.keyid, sig: toHex(s.signSync(bytes)) });
  return { ...doc, signatures: sigs };
}

/** Serializes a JSON document the way ocitrust publishes it (canonical bytes). */
export function toBytes(doc: unknown): Uint8Array {
  return canonicalBytes(doc);
}

/** Fresh in-memory signers. */
export function freshSigners(n: number, type: SigningAlgorithm = 'ed25519'): LocalSigner[] {
  return Array.from({ length: n }, () => (type === 'ed25519' ? new SeedSigner(randomSecretSeed()) : localSigner(type, randomSecret(type))));
}

/** Wraps `signed` in a Metadata envelope signed by each signer. */
export async function signMetadata<T extends Signed>(signed: T, signers: readonly Signer[]): Promise<Metadata<T>> {
  let md = new Metadata(signed);
  for (const s of signers) md = await md.sign(s);
  return md;
}

/**
 * A TUF collection under test. Current metadata is in `root`, `targets`, `snapshot`,
 * `timestamp`; every published file is in `files` (`1.root.json`, `2.root.json`,
 * `timestamp.json`, `N.snapshot.json`, `N.targets.json`).
 */
export class TestCollection {
  readonly collection: string;
  clock: Clock;
  /** Signers of the top-level roles (current keys). */
  readonly keys: Record<TopLevelRoleName, LocalSigner[]>;
  /** Signers of each delegated role, by role name. */
  readonly signers: Map<string, LocalSigner[]> = new Map();
  /** Every published file by name. */
  readonly files: Map<string, Uint8Array> = new Map();
  root!: Metadata<Root>;
  targets!: Metadata<Targets>;
  snapshot!: Metadata<Snapshot>;
  timestamp!: Metadata<Timestamp>;
  readonly #lifetimes: Partial<Record<TopLevelRoleName, number>>;

  constructor(collection: string, clock: Clock, keys: Record<TopLevelRoleName, LocalSigner[]>, lifetimes: Partial<Record<TopLevelRoleName, number>>) {
    this.collection = collection;
    this.clock = clock;
    this.keys = keys;
    this.#lifetimes = lifetimes;
  }

  /** Signer `i` (default 0) of delegated role `name`. Throws when there is none (a test bug). */
  signer(name: string, i = 0): LocalSigner {
    const s = this.signers.get(name)?.[i];
    if (!s) throw new Error(`test collection has no signer ${name}[${i}]`);
    return s;
  }

  /** Bytes of a published file. Throws when it does not exist (a test bug). */
  file(name: string): Uint8Array {
    const b = this.files.get(name);
    if (!b) throw new Error(`test collection has no ${name}; it has ${[...this.files.keys()].join(', ')}`);
    return b;
  }

  /** Parsed JSON of a published file (a fresh object that tests may tamper with). */
  json(name: string): any {
    return JSON.parse(Buffer.from(this.file(name)).toString('utf8'));
  }

  /** Bytes of root version `v` (default: current), e.g. to pin. */
  rootBytes(v: number = this.root.signed.version): Uint8Array {
    return this.file(metadataFileName({ role: 'root', version: v }));
  }

  /** A source serving the files as they are at fetch time. */
  source(): MetadataSource {
    return new MemoryMetadataSource(() => this.files, `test collection ${this.collection}`);
  }

  /** The verifier's view of the current targets. */
  trusted(): TrustedTargets {
    return trustViewFromTargets(this.targets.signed, this.collection);
  }

  /** Puts arbitrary bytes under a file name (tampering, rollback). */
  put(name: string, bytes: Uint8Array | string | object): void {
    const b = bytes instanceof Uint8Array ? bytes : Buffer.from(typeof bytes === 'string' ? bytes : JSON.stringify(bytes));
    this.files.set(name, new Uint8Array(b));
  }

  #expiry(role: TopLevelRoleName, opts?: PublishOptions): { clock: Clock; expiresInSeconds?: number } {
    const s = opts?.expiresInSeconds ?? this.#lifetimes[role];
    return s === undefined ? { clock: opts?.clock ?? this.clock } : { clock: opts?.clock ?? this.clock, expiresInSeconds: s };
  }

  /** Publishes root metadata (already built) signed by `signers`. */
  async publishRoot(root: Root, signers: readonly Signer[]): Promise<void> {
    this.root = await signMetadata(root, signers);
    this.files.set(metadataFileName({ role: 'root', version: root.version }), this.root.toBytes());
  }

  /**
   * Publishes a new targets version made by `change` (version bumped, expiry renewed, signed by
   * the targets keys), then a new snapshot and timestamp.
   */
  async publishTargets(change: (t: Targets) => Targets = (t) => t, opts?: PublishOptions): Promise<void> {
    const next = bumpVersion(change(this.targets.signed), this.#expiry('targets', opts));
    await this.publishTargetsExactly(next, opts);
  }

  /** Publishes `targets` as given (no version bump; signed by the targets keys or `signWith`), then snapshot and timestamp. */
  async publishTargetsExactly(targets: Targets, opts?: PublishOptions): Promise<void> {
    this.targets = await signMetadata(targets, opts?.signWith ?? this.keys.targets);
    this.files.set(metadataFileName({ role: 'targets', version: targets.version }), this.targets.toBytes());
    await this.publishSnapshot();
  }

  /** Publishes a new snapshot naming the current targets, then a new timestamp. */
  async publishSnapshot(opts?: PublishOptions): Promise<void> {
    const meta = MetaFile.forBytes(this.targets.signed.version, this.file(metadataFileName({ role: 'targets', version: this.targets.signed.version })));
    const next = this.snapshot
      ? bumpVersion(this.snapshot.signed.withTargetsMeta(meta), this.#expiry('snapshot', opts))
      : newSnapshot({ ...this.#expiry('snapshot', opts), targets: meta });
    this.snapshot = await signMetadata(next, opts?.signWith ?? this.keys.snapshot);
    this.files.set(metadataFileName({ role: 'snapshot', version: next.version }), this.snapshot.toBytes());
    await this.publishTimestamp();
  }

  /** Publishes a new timestamp naming the current snapshot (what the server does daily). */
  async publishTimestamp(opts?: PublishOptions): Promise<void> {
    const meta = MetaFile.forBytes(this.snapshot.signed.version, this.file(metadataFileName({ role: 'snapshot', version: this.snapshot.signed.version })));
    const next = this.timestamp
      ? bumpVersion(this.timestamp.signed.withSnapshotMeta(meta), this.#expiry('timestamp', opts))
      : newTimestamp({ ...this.#expiry('timestamp', opts), snapshot: meta });
    this.timestamp = await signMetadata(next, opts?.signWith ?? this.keys.timestamp);
    this.files.set('timestamp.json', this.timestamp.toBytes());
  }

  /** Adds (or replaces) a delegated signer role with fresh keys; returns its signers. */
  async addSigner(spec: SignerSpec, opts?: PublishOptions): Promise<LocalSigner[]> {
    const signers = freshSigners(spec.keys ?? 1);
    await this.publishTargets(
      (t) =>
        t.withDelegation({
          name: spec.name,
          keys: signers.map((s) => s.publicKey),
          threshold: spec.threshold ?? 1,
          paths: spec.paths ?? [`${this.collection}*`],
          terminating: spec.terminating ?? false,
        }),
      opts,
    );
    this.signers.set(spec.name, signers);
    return signers;
  }

  /** Removes a delegated signer role. */
  async removeSigner(name: string, opts?: PublishOptions): Promise<void> {
    await this.publishTargets((t) => t.withoutDelegation(name), opts);
    this.signers.delete(name);
  }

  /** Publishes a revocation. */
  async revoke(r: RevocationOptions, opts?: PublishOptions): Promise<void> {
    await this.publishTargets((t) => t.withRevocation(r), opts);
  }

  /**
   * Publishes root version N+1 with new keys for `role` (default root), signed by every old and
   * new root key unless `signWith` says otherwise. Returns the new keys.
   */
  async rotateRoot(opts: RotateOptions = {}): Promise<LocalSigner[]> {
    const role = opts.role ?? 'root';
    const fresh = typeof opts.newKeys === 'object' ? [...opts.newKeys] : freshSigners(opts.newKeys ?? 1);
    const oldRootKeys = this.keys.root;
    const next = bumpVersion(
      this.root.signed.withRoleKeys(role, fresh.map((s) => s.publicKey), opts.threshold ?? Math.min(fresh.length, this.root.signed.role(role).threshold)),
      { clock: opts.clock ?? this.clock, ...(this.#lifetimes.root ? { expiresInSeconds: this.#lifetimes.root } : {}) },
    );
    await this.publishRoot(next, opts.signWith ?? [...oldRootKeys, ...(role === 'root' ? fresh : [])]);
    this.keys[role] = fresh;
    return fresh;
  }
}

/**
 * Builds a collection: fresh keys for the top-level roles, version 1 of root, then targets
 * (with the requested signer roles), snapshot and timestamp.
 *
 * @example
 * const c = await buildCollection({ collection: 'reg.example/app', signers: [{ name: 'alice' }] });
 * const alice = c.signer('alice'); // LocalSigner: alice.sign(bytes), alice.keyid
 * await c.addSigner({ name: 'bob' }); await c.removeSigner('alice'); await c.rotateRoot();
 * c.trusted(); // TrustedTargets for lib/verify; c.source() / c.files to serve the metadata
 */
export async function buildCollection(opts: CollectionOptions): Promise<TestCollection> {
  const clock = opts.clock ?? fixedClock(TEST_TIME);
  const keys: Record<TopLevelRoleName, LocalSigner[]> = {
    root: freshSigners(opts.rootKeys ?? 1, opts.keyType),
    targets: freshSigners(opts.targetsKeys ?? 1, opts.keyType),
    snapshot: freshSigners(1, opts.keyType),
    timestamp: freshSigners(1, opts.keyType),
  };
  const life = opts.expiresInSeconds ?? {};
  const c = new TestCollection(opts.collection, clock, keys, life);
  const pub = (r: TopLevelRoleName): number | undefined => life[r];
  const root = newRoot({
    clock,
    ...(pub('root') ? { expiresInSeconds: pub('root') } : {}),
    keys: { root: keys.root.map((s) => s.publicKey), targets: keys.targets.map((s) => s.publicKey), snapshot: keys.snapshot.map((s) => s.publicKey), timestamp: keys.timestamp.map((s) => s.publicKey) },
    thresholds: { root: opts.rootThreshold ?? 1, targets: opts.targetsThreshold ?? 1 },
  });
  await c.publishRoot(root, keys.root);
  let targets = newTargets({ clock, ...(pub('targets') ? { expiresInSeconds: pub('targets') } : {}) });
  for (const s of opts.signers ?? []) {
    const signers = freshSigners(s.keys ?? 1, opts.keyType);
    c.signers.set(s.name, signers);
    targets = targets.withDelegation({
      name: s.name,
      keys: signers.map((x) => x.publicKey),
      threshold: s.threshold ?? 1,
      paths: s.paths ?? [`${opts.collection}*`],
      terminating: s.terminating ?? false,
    });
  }
  await c.publishTargetsExactly(targets);
  return c;
}
