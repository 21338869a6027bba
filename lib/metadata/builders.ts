import { assertClock, formatTime, readClock, type Clock } from '../clock.js';
import { assertArg } from '../errors/index.js';
import { PublicKey } from '../keys/key.js';
import { keyMap } from './keys.js';
import { MetaFile } from './meta-file.js';
import { Role } from './role.js';
import { Root } from './root.js';
import { SPEC_VERSION, Signed, TOP_LEVEL_ROLE_NAMES, type TopLevelRoleName } from './signed.js';
import { Snapshot } from './snapshot.js';
import { Targets } from './targets.js';
import { Timestamp } from './timestamp.js';
import { Delegations } from './delegations.js';

const DAY = 24 * 60 * 60;

/** Default lifetimes in seconds (DESIGN §3): root 1 year, targets 3 months, snapshot 1 week, timestamp 1 day. */
export const DEFAULT_EXPIRY_SECONDS: Readonly<Record<TopLevelRoleName, number>> = Object.freeze({
  root: 365 * DAY,
  targets: 90 * DAY,
  snapshot: 7 * DAY,
  timestamp: DAY,
});

/** `clock.now()` plus `seconds`, whole seconds. @throws INVALID_ARGUMENT */
export function expiryFrom(clock: Clock, seconds: number): Date {
  assertArg(Number.isSafeInteger(seconds) && seconds > 0, 'expiresInSeconds', 'positive integer', seconds);
  const d = new Date(Math.floor(readClock(clock).getTime() / 1000) * 1000 + seconds * 1000);
  assertArg(Number.isFinite(d.getTime()), 'expiresInSeconds', 'a lifetime that ends in a representable date', seconds);
  return d;
}

/** Options shared by the builders. */
export interface BuildOptions {
  readonly clock: Clock;
  /** Default: {@link DEFAULT_EXPIRY_SECONDS} for the role. */
  readonly expiresInSeconds?: number;
  /** Default 1. */
  readonly version?: number;
}

/**
 * A new root (version 1 by default, `consistent_snapshot: true`) naming the keys of each
 * top-level role. Thresholds default to 1.
 *
 * @example newRoot({ clock: systemClock, keys: { root: [r], targets: [t], snapshot: [s], timestamp: [ts] } })
 * @throws METADATA_DUPLICATE_KEYID, METADATA_THRESHOLD_INVALID, INVALID_ARGUMENT
 */
export function newRoot(
  opts: BuildOptions & {
    readonly keys: Readonly<Record<TopLevelRoleName, readonly PublicKey[]>>;
    readonly thresholds?: Partial<Readonly<Record<TopLevelRoleName, number>>>;
  },
): Root {
  checkBuild(opts);
  assertArg(typeof opts.keys === 'object' && opts.keys !== null, 'keys', 'object of PublicKey arrays per top-level role', opts.keys);
  assertArg(opts.thresholds === undefined || (typeof opts.thresholds === 'object' && opts.thresholds !== null), 'thresholds', 'object of thresholds per top-level role', opts.thresholds);
  const keys = new Map<string, PublicKey>();
  const roles = new Map<TopLevelRoleName, Role>();
  for (const name of TOP_LEVEL_ROLE_NAMES) {
    const ks = opts.keys[name];
    assertArg(Array.isArray(ks) && ks.length > 0 && ks.every((k) => k instanceof PublicKey), `keys.${name}`, 'non-empty array of PublicKey', ks);
    const m = keyMap(ks, `roles.${name}`);
    for (const [id, k] of m) keys.set(id, k);
    roles.set(name, new Role({ keyids: [...m.keys()], threshold: opts.thresholds?.[name] ?? 1 }, `roles.${name}`));
  }
  return new Root({
    specVersion: SPEC_VERSION,
    version: opts.version ?? 1,
    expires: expiryText(opts, 'root'),
    keys,
    roles,
    consistentSnapshot: true,
  });
}

/** New targets metadata with an empty `targets` dictionary, no delegations and no revocations. */
export function newTargets(opts: BuildOptions): Targets {
  checkBuild(opts);
  return new Targets({
    specVersion: SPEC_VERSION,
    version: opts.version ?? 1,
    expires: expiryText(opts, 'targets'),
    targets: {},
    delegations: new Delegations({ keys: new Map(), roles: [] }),
    revocations: [],
  });
}

/** New snapshot naming the given targets metadata (use {@link MetaFile.forBytes} or `new MetaFile({version})`). */
export function newSnapshot(opts: BuildOptions & { readonly targets: MetaFile }): Snapshot {
  checkBuild(opts);
  assertArg(opts.targets instanceof MetaFile, 'targets', 'MetaFile', opts.targets);
  return new Snapshot({
    specVersion: SPEC_VERSION,
    version: opts.version ?? 1,
    expires: expiryText(opts, 'snapshot'),
    meta: new Map([['targets.json', opts.targets]]),
  });
}

/** New timestamp naming the given snapshot; ocitrust records its length and sha256 ({@link MetaFile.forBytes}). */
export function newTimestamp(opts: BuildOptions & { readonly snapshot: MetaFile }): Timestamp {
  checkBuild(opts);
  assertArg(opts.snapshot instanceof MetaFile, 'snapshot', 'MetaFile', opts.snapshot);
  return new Timestamp({
    specVersion: SPEC_VERSION,
    version: opts.version ?? 1,
    expires: expiryText(opts, 'timestamp'),
    snapshotMeta: opts.snapshot,
  });
}

/**
 * The next version of a document with a fresh expiry (default lifetime of its role).
 * The result is unsigned.
 *
 * @example const next = bumpVersion(targets.withDelegation(spec), { clock })
 */
export function bumpVersion<T extends Signed>(signed: T, opts: { readonly clock: Clock; readonly expiresInSeconds?: number }): T {
  assertArg(signed instanceof Signed, 'signed', 'a Root, Targets, Snapshot or Timestamp', signed);
  checkBuild(opts);
  return signed.withVersion(signed.version + 1, expiryFrom(opts.clock, opts.expiresInSeconds ?? DEFAULT_EXPIRY_SECONDS[signed.type])) as T;
}

/** Door check of the builders' options: a clock (read later, through readClock) and an optional lifetime. */
function checkBuild(opts: unknown): void {
  assertArg(typeof opts === 'object' && opts !== null, 'opts', 'object {clock, expiresInSeconds?}', opts);
  assertClock((opts as BuildOptions).clock, 'opts.clock');
}

function expiryText(opts: BuildOptions, role: TopLevelRoleName): string {
  checkBuild(opts);
  return formatTime(expiryFrom(opts.clock, opts.expiresInSeconds ?? DEFAULT_EXPIRY_SECONDS[role]));
}
