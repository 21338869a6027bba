/**
 * A collection's trust from a bundle carried across an air gap (issue 17): the normal TUF
 * client workflow (lib/tuf Updater) with the bundle's files as the source, against the pinned
 * root of this home (or, on first use, the bundle's version 1 root, pinned and reported), with
 * the rollback state of this home keyed by (the bundle's trust server, collection) — the same
 * state an online run against that server keeps, so a bundle older than anything seen, online
 * or from another bundle, is refused (TUF_ROLLBACK).
 *
 * Freshness (docs/airgap.md): TUF's timestamp expires in a day, a transfer takes longer. One
 * bounded, explicit rule may admit a bundle whose timestamp (and snapshot) expired: with
 * `bundleMaxAgeSeconds` (at most 30 days, never a default), the timestamp and snapshot are
 * evaluated at the timestamp's own expiry and must have expired at most that long ago; root and
 * targets (signed by the collection's owners) must still be unexpired now. The result names the
 * rule that admitted the data (`tuf-expiry` or `bundle-max-age`) and until when.
 */
import { OcitrustError, assertArg, isOcitrustError } from '../errors/index.js';
import { assertClock, fixedClock, formatTime, readClock, systemClock, type Clock } from '../clock.js';
import { DEFAULT_LIMITS, type Limits } from '../config.js';
import { sha256Hex } from '../crypto/hash.js';
import { Metadata } from '../metadata/metadata.js';
import { MemoryMetadataSource } from '../tuf/source.js';
import { rootMeaningFingerprint } from '../tuf/root-meaning.js';
import { TrustedSet } from '../tuf/trusted-set.js';
import { Updater } from '../tuf/updater.js';
import { assertBundle, type TrustBundle } from '../oci/trust-bundle.js';
import type { OcitrustHome, Pin } from './home.js';
import type { CollectionTrust } from './trust.js';

/** The longest `bundleMaxAgeSeconds` accepted: 30 days. */
export const MAX_BUNDLE_MAX_AGE_SECONDS = 30 * 86_400;

/** Which rule admitted a bundle's trust data, and until when. */
export interface BundleFreshness {
  /** `tuf-expiry`: every document unexpired now; `bundle-max-age`: timestamp/snapshot admitted past expiry by the explicit bound. */
  readonly rule: 'tuf-expiry' | 'bundle-max-age';
  /** When the bundle's timestamp expires (or expired). */
  readonly timestampExpires: string;
  /** The last moment this bundle is admitted under the rule (then a newer bundle is needed). */
  readonly admittedUntil: string;
  /** With `bundle-max-age`: the bound in seconds. */
  readonly maxAgeSeconds?: number;
  /** The trust server the bundle was saved from (the rollback state's key). */
  readonly server: string;
  /** Versions the bundle brought. */
  readonly versions: { readonly root: number; readonly timestamp: number; readonly snapshot: number; readonly targets: number };
}

/** Options of {@link openBundleCollection}. */
export interface OpenBundleOptions {
  readonly home: OcitrustHome;
  readonly bundle: TrustBundle;
  /** Explicit trust anchor (`--root FILE`). */
  readonly root?: Uint8Array;
  /** The explicit freshness bound (seconds, ≤ {@link MAX_BUNDLE_MAX_AGE_SECONDS}); absent: TUF expiry only. */
  readonly bundleMaxAgeSeconds?: number;
  readonly clock?: Clock;
  readonly limits?: Limits;
}

/** A collection's trust from a bundle: what {@link CollectionTrust} says, and the freshness rule. */
export interface BundleTrust extends CollectionTrust {
  readonly freshness: BundleFreshness;
}

function expiresOf(role: 'timestamp' | 'snapshot', bytes: Uint8Array | undefined): Date | undefined {
  if (!bytes) return undefined;
  try {
    return Metadata.fromBytes(role, bytes).signed.expiresAt;
  } catch {
    return undefined; // the Updater reports malformed metadata with its own code
  }
}

/**
 * Opens a collection's trust from a bundle; see the module comment.
 *
 * @throws BUNDLE_TOO_OLD, BUNDLE_COLLECTION_MISMATCH, TUF_ROLLBACK, TUF_EXPIRED (root/targets), TRUST_PIN_MISMATCH,
 *   the TUF_* codes of {@link Updater.refresh}, PIN_STORE_IO, TUF_CACHE_IO, INVALID_ARGUMENT
 * @example const t = await openBundleCollection({ home, bundle: await readTrustBundle(layout, 'reg.example/app') });
 */
export async function openBundleCollection(o: OpenBundleOptions): Promise<BundleTrust> {
  assertArg(typeof o === 'object' && o !== null, 'options', 'OpenBundleOptions object', o);
  assertArg(typeof o.home?.readPin === 'function', 'home', 'an OcitrustHome', o.home);
  assertBundle(o.bundle);
  assertArg(o.root === undefined || o.root instanceof Uint8Array, 'root', 'Uint8Array (root.json bytes)', o.root);
  if (o.clock !== undefined) assertClock(o.clock, 'clock');
  const max = o.bundleMaxAgeSeconds;
  assertArg(max === undefined || (Number.isSafeInteger(max) && max > 0 && max <= MAX_BUNDLE_MAX_AGE_SECONDS), 'bundleMaxAgeSeconds', `an integer from 1 to ${MAX_BUNDLE_MAX_AGE_SECONDS} (30 days)`, max);
  const { bundle } = o;
  const collection = bundle.collection;
  const clock = o.clock ?? systemClock;
  const limits = o.limits ?? DEFAULT_LIMITS;
  const now = readClock(clock);
  const existing = await o.home.readPin(collection);
  let anchor: Uint8Array;
  let firstUse = false;
  let how: Pin['how'];
  if (o.root) {
    anchor = o.root;
    how = 'file';
  } else if (existing) {
    anchor = existing.root;
    how = existing.how;
  } else {
    const first = bundle.files.get('1.root.json');
    if (!first) throw new OcitrustError('TUF_METADATA_MISSING', `the bundle's trust data of ${collection} has no 1.root.json, and no root of ${collection} is pinned here (pin one with --root FILE)`);
    anchor = first;
    how = 'tofu';
    firstUse = true;
  }
  // A pin that is a root of this collection is self-signed; the bundle's root of the same
  // version must mean the same keys, else the bundle carries another collection's trust data.
  const pinned = new TrustedSet(anchor, { clock: fixedClock(new Date(0)), limits });
  const same = bundle.files.get(`${pinned.root.signed.version}.root.json`);
  if (same && !firstUse) {
    let theirs: string | undefined;
    try {
      theirs = rootMeaningFingerprint(Metadata.fromBytes('root', same).signed);
    } catch {
      theirs = undefined;
    }
    if (theirs !== rootMeaningFingerprint(pinned.root.signed)) {
      throw new OcitrustError(
        'BUNDLE_COLLECTION_MISMATCH',
        `the bundle's trust data labelled ${collection} does not chain from the root pinned for ${collection} here: its version ${pinned.root.signed.version} root means other keys. It was saved from another collection or server; nothing was trusted from it`,
        { details: { collection } },
      );
    }
  }

  // Freshness: which time the server-signed roles are evaluated at (module comment).
  const tsExpires = expiresOf('timestamp', bundle.files.get('timestamp.json'));
  let rule: BundleFreshness['rule'] = 'tuf-expiry';
  let evalClock: Clock = clock;
  if (tsExpires && now.getTime() >= tsExpires.getTime()) {
    const ago = Math.floor((now.getTime() - tsExpires.getTime()) / 1000);
    if (max === undefined) {
      throw new OcitrustError('BUNDLE_TOO_OLD', `the bundle's trust data of ${collection} expired ${ago} s ago (timestamp expiry ${formatTime(tsExpires)}); no bundle age was allowed: carry a fresher bundle, or allow a stated period with --bundle-max-age (at most 30d)`, {
        details: { collection, timestampExpires: formatTime(tsExpires) },
      });
    }
    if (!(ago <= max)) {
      throw new OcitrustError('BUNDLE_TOO_OLD', `the bundle's trust data of ${collection} expired ${ago} s ago (timestamp expiry ${formatTime(tsExpires)}), more than the allowed --bundle-max-age of ${max} s`, {
        details: { collection, timestampExpires: formatTime(tsExpires), maxAgeSeconds: max },
      });
    }
    rule = 'bundle-max-age';
    evalClock = fixedClock(new Date(tsExpires.getTime() - 1000));
  }

  const updater = new Updater({
    collection,
    trustedRoot: anchor,
    source: new MemoryMetadataSource(bundle.files, `trust bundle of ${collection} (saved from ${bundle.server}) `),
    server: bundle.server,
    cache: o.home.trustCache(),
    clock: evalClock,
    limits,
    // The bundle is the source: no fallback to older cached data.
    maxCacheAgeSeconds: 0,
  });
  let refresh;
  try {
    refresh = await updater.refresh();
  } catch (e) {
    if (isOcitrustError(e, 'TUF_EXPIRED') && rule === 'tuf-expiry' && ['timestamp', 'snapshot'].includes(String(e.details?.role))) {
      throw new OcitrustError('BUNDLE_TOO_OLD', `the bundle's trust data of ${collection}: ${e.message}; carry a fresher bundle, or allow a stated period with --bundle-max-age`, { cause: e, details: { collection } });
    }
    throw e;
  }
  const m = refresh.metadata;
  if (rule === 'bundle-max-age') {
    // Owner-signed roles get no grace: an expired root or targets is expired whatever the transfer took.
    for (const [role, signed] of [['root', m.root.signed], ['targets', m.targets.signed]] as const) {
      if (signed.isExpired(now)) throw new OcitrustError('TUF_EXPIRED', `${role} metadata expired at ${signed.expires}`, { details: { role, expires: signed.expires } });
    }
    const snapAgo = now.getTime() - m.snapshot.signed.expiresAt.getTime();
    if (snapAgo > max! * 1000) throw new OcitrustError('BUNDLE_TOO_OLD', `the bundle's snapshot of ${collection} expired at ${m.snapshot.signed.expires}, more than --bundle-max-age ago`, { details: { collection } });
  }
  const tsExp = m.timestamp.signed.expiresAt;
  const until = rule === 'tuf-expiry' ? tsExp : new Date(Math.min(tsExp.getTime() + max! * 1000, m.snapshot.signed.expiresAt.getTime() + max! * 1000));
  const ownerUntil = Math.min(m.root.signed.expiresAt.getTime(), m.targets.signed.expiresAt.getTime(), rule === 'tuf-expiry' ? m.snapshot.signed.expiresAt.getTime() : Infinity);
  let pin: Pin;
  if (existing && !o.root) pin = existing;
  else {
    pin = { collection, root: anchor, how, pinnedAt: formatTime(now), server: bundle.server };
    await o.home.writePin(pin);
  }
  return {
    collection,
    refresh,
    pin,
    firstUse,
    pinFingerprint: sha256Hex(anchor),
    freshness: {
      rule,
      timestampExpires: m.timestamp.signed.expires,
      admittedUntil: formatTime(new Date(Math.min(until.getTime(), ownerUntil))),
      ...(rule === 'bundle-max-age' ? { maxAgeSeconds: max! } : {}),
      server: bundle.server,
      versions: refresh.versions,
    },
  };
}
