import { OcitrustError, assertArg, isOcitrustError } from '../errors/index.js';
import { readClock, systemClock, type Clock } from '../clock.js';
import { DEFAULT_LIMITS, type Limits } from '../config.js';
import { Metadata } from '../metadata/metadata.js';
import type { Root } from '../metadata/root.js';
import type { Snapshot } from '../metadata/snapshot.js';
import type { Targets } from '../metadata/targets.js';
import type { Timestamp } from '../metadata/timestamp.js';
import type { TopLevelRoleName } from '../metadata/signed.js';

/** Options of a {@link TrustedSet}. */
export interface TrustedSetOptions {
  /** Source of the reference time, read once at construction (TUF 5.1). */
  readonly clock?: Clock;
  readonly limits?: Limits;
}

interface Entry<T extends Metadata> {
  readonly md: T;
  readonly bytes: Uint8Array;
}

/**
 * The one object that owns TUF trust state for one collection (tuf-js `TrustedMetadataStore`,
 * python-tuf `TrustedMetadataSet`). It holds the trusted root, timestamp, snapshot and targets
 * and only changes them through the update methods, which implement the checks of the TUF
 * client workflow (tuf-spec v1.0 "Detailed client workflow", 5.2–5.6): signatures by a
 * threshold of distinct keys, rollback, freeze, consistency between roles. It does no I/O.
 *
 * Updates must come in workflow order: root* → timestamp → snapshot → targets.
 */
export class TrustedSet {
  /** Time all expiry checks use, fixed when the set is created (TUF 5.1). */
  readonly referenceTime: Date;
  readonly #limits: Limits;
  #root: Entry<Metadata<Root>>;
  #timestamp: Entry<Metadata<Timestamp>> | undefined;
  #snapshot: Entry<Metadata<Snapshot>> | undefined;
  #targets: Entry<Metadata<Targets>> | undefined;

  /**
   * Loads the trusted root (TUF 5.2): it must be signed by a threshold of its own root keys.
   * An expired trusted root is accepted here; the final root is checked by {@link checkFinalRoot}.
   *
   * @throws METADATA_* (malformed), TUF_THRESHOLD_NOT_MET, JSON_MALFORMED, INPUT_TOO_LARGE;
   *   INVALID_ARGUMENT for ill-typed arguments or a clock that gives no valid Date (which would
   *   otherwise make every expiry check pass)
   */
  constructor(rootBytes: Uint8Array, opts: TrustedSetOptions = {}) {
    assertArg(rootBytes instanceof Uint8Array, 'rootBytes', 'Uint8Array (root.json bytes)', rootBytes);
    assertArg(typeof opts === 'object' && opts !== null, 'opts', 'TrustedSetOptions object', opts);
    this.referenceTime = readClock(opts.clock ?? systemClock, 'clock');
    assertArg(opts.limits === undefined || (typeof opts.limits === 'object' && opts.limits !== null), 'limits', 'Limits object', opts.limits);
    this.#limits = opts.limits ?? DEFAULT_LIMITS;
    const root = Metadata.fromBytes('root', rootBytes, this.#limits);
    root.verifyDelegate('root', root);
    this.#root = { md: root, bytes: copy(rootBytes) };
  }

  get root(): Metadata<Root> {
    return this.#root.md;
  }
  get timestamp(): Metadata<Timestamp> | undefined {
    return this.#timestamp?.md;
  }
  get snapshot(): Metadata<Snapshot> | undefined {
    return this.#snapshot?.md;
  }
  get targets(): Metadata<Targets> | undefined {
    return this.#targets?.md;
  }

  /** The bytes of the trusted metadata of `role` (to persist them), if loaded. */
  bytes(role: TopLevelRoleName): Uint8Array | undefined {
    const e = role === 'root' ? this.#root : role === 'timestamp' ? this.#timestamp : role === 'snapshot' ? this.#snapshot : this.#targets;
    return e ? copy(e.bytes) : undefined;
  }

  /**
   * Verifies and trusts the next root version (TUF 5.3.4–5.3.8): signed by a threshold of the
   * trusted root's root keys AND of its own, version exactly trusted + 1. Call repeatedly while
   * newer versions exist; then {@link checkFinalRoot}.
   *
   * @throws TUF_ROOT_ROTATION_INVALID, METADATA_* (malformed), JSON_MALFORMED, INPUT_TOO_LARGE
   */
  updateRoot(bytes: Uint8Array): Metadata<Root> {
    if (this.#timestamp) internal('cannot update root after timestamp');
    const trusted = this.#root.md;
    const next = Metadata.fromBytes('root', bytes, this.#limits);
    const expected = trusted.signed.version + 1;
    // 5.3.4: a threshold of the *trusted* root's keys must sign the new root.
    rotationCheck(() => trusted.verifyDelegate('root', next), `root v${next.signed.version} is not signed by a threshold of the keys of trusted root v${trusted.signed.version}`);
    // 5.3.5: versions step by exactly one, so no root can be skipped or replayed.
    if (next.signed.version !== expected) {
      throw new OcitrustError('TUF_ROOT_ROTATION_INVALID', `expected root version ${expected}, got ${next.signed.version}`);
    }
    // 5.3.4: ...and a threshold of its own keys.
    rotationCheck(() => next.verifyDelegate('root', next), `root v${next.signed.version} is not signed by a threshold of its own root keys`);
    this.#root = { md: next, bytes: copy(bytes) };
    return next;
  }

  /** TUF 5.3.10: the final root must not be expired. @throws TUF_EXPIRED */
  checkFinalRoot(): void {
    if (this.#root.md.signed.isExpired(this.referenceTime)) {
      throw expired('root', this.#root.md.signed.expires);
    }
  }

  /**
   * Verifies and trusts timestamp metadata (TUF 5.4). A new version equal to the trusted one
   * keeps the trusted copy (returned). A lower version, or one naming a lower snapshot version,
   * is a rollback. The new timestamp is kept even when expired (it still protects against
   * rollback), but then TUF_EXPIRED is thrown.
   *
   * @throws TUF_EXPIRED, TUF_THRESHOLD_NOT_MET, TUF_ROLLBACK, METADATA_* (malformed), JSON_MALFORMED, INPUT_TOO_LARGE
   */
  updateTimestamp(bytes: Uint8Array): Metadata<Timestamp> {
    if (this.#snapshot) internal('cannot update timestamp after snapshot');
    this.checkFinalRoot();
    const next = Metadata.fromBytes('timestamp', bytes, this.#limits);
    // 5.4.2
    this.root.verifyDelegate('timestamp', next);
    const old = this.#timestamp?.md;
    if (old) {
      // 5.4.3.1
      if (next.signed.version < old.signed.version) {
        throw new OcitrustError('TUF_ROLLBACK', `timestamp version ${next.signed.version} is lower than trusted version ${old.signed.version}`);
      }
      if (next.signed.version === old.signed.version) {
        this.#checkFinalTimestamp();
        return old;
      }
      // 5.4.3.2
      if (next.signed.snapshotMeta.version < old.signed.snapshotMeta.version) {
        throw new OcitrustError(
          'TUF_ROLLBACK',
          `timestamp names snapshot version ${next.signed.snapshotMeta.version}, lower than trusted version ${old.signed.snapshotMeta.version}`,
        );
      }
    }
    this.#timestamp = { md: next, bytes: copy(bytes) };
    // 5.4.4
    this.#checkFinalTimestamp();
    return next;
  }

  /**
   * Verifies and trusts snapshot metadata (TUF 5.5). `trusted: true` is for a copy that was
   * verified before (the trust cache): its hash is not checked against the timestamp, since
   * an older trusted snapshot is loaded only to protect the new one against rollback. The
   * snapshot is kept when only the final checks fail (expired, version differs from the
   * timestamp's), and those failures are thrown.
   *
   * @throws TUF_EXPIRED, TUF_VERSION_MISMATCH, TUF_HASH_MISMATCH, TUF_LENGTH_MISMATCH, TUF_THRESHOLD_NOT_MET,
   *   TUF_ROLLBACK, METADATA_* (malformed), JSON_MALFORMED, INPUT_TOO_LARGE
   */
  updateSnapshot(bytes: Uint8Array, opts: { trusted?: boolean } = {}): Metadata<Snapshot> {
    const ts = this.#timestamp?.md;
    if (!ts) internal('cannot update snapshot before timestamp');
    if (this.#targets) internal('cannot update snapshot after targets');
    this.#checkFinalTimestamp();
    // 5.5.2
    if (!opts.trusted) ts.signed.snapshotMeta.verify(bytes, 'snapshot');
    const next = Metadata.fromBytes('snapshot', bytes, this.#limits);
    // 5.5.3
    this.root.verifyDelegate('snapshot', next);
    // 5.5.5: no targets file may disappear or go back in version.
    const old = this.#snapshot?.md;
    if (old) {
      for (const [name, meta] of old.signed.meta) {
        const now = next.signed.meta.get(name);
        if (!now) throw new OcitrustError('TUF_ROLLBACK', `new snapshot no longer lists ${name}`);
        if (now.version < meta.version) {
          throw new OcitrustError('TUF_ROLLBACK', `snapshot names ${name} version ${now.version}, lower than trusted version ${meta.version}`);
        }
      }
    }
    this.#snapshot = { md: next, bytes: copy(bytes) };
    this.#checkFinalSnapshot();
    return next;
  }

  /**
   * Verifies and trusts top-level targets metadata (TUF 5.6): hash and length as the snapshot
   * records them, signed by a threshold of root's targets keys, version equal to the
   * snapshot's, not expired.
   *
   * @throws TUF_EXPIRED, TUF_VERSION_MISMATCH, TUF_HASH_MISMATCH, TUF_LENGTH_MISMATCH, TUF_THRESHOLD_NOT_MET,
   *   METADATA_* (malformed), JSON_MALFORMED, INPUT_TOO_LARGE
   */
  updateTargets(bytes: Uint8Array): Metadata<Targets> {
    const snap = this.#snapshot?.md;
    if (!snap) internal('cannot update targets before snapshot');
    if (this.#targets) internal('targets are already trusted');
    this.#checkFinalSnapshot();
    const meta = snap.signed.targetsMeta;
    // 5.6.2
    meta.verify(bytes, 'targets');
    const next = Metadata.fromBytes('targets', bytes, this.#limits);
    // 5.6.3
    this.root.verifyDelegate('targets', next);
    // 5.6.4
    if (next.signed.version !== meta.version) {
      throw new OcitrustError('TUF_VERSION_MISMATCH', `targets version ${next.signed.version} differs from version ${meta.version} named by snapshot`);
    }
    // 5.6.5
    if (next.signed.isExpired(this.referenceTime)) throw expired('targets', next.signed.expires);
    this.#targets = { md: next, bytes: copy(bytes) };
    return next;
  }

  /** True when a snapshot is trusted and passes the final checks (unexpired, version as the timestamp says). */
  hasFinalSnapshot(): boolean {
    if (!this.#snapshot) return false;
    try {
      this.#checkFinalSnapshot();
      return true;
    } catch (e) {
      if (isOcitrustError(e)) return false;
      throw e;
    }
  }

  #checkFinalTimestamp(): void {
    const ts = this.#timestamp?.md;
    if (!ts) internal('no trusted timestamp');
    if (ts.signed.isExpired(this.referenceTime)) throw expired('timestamp', ts.signed.expires);
  }

  #checkFinalSnapshot(): void {
    const snap = this.#snapshot?.md;
    const ts = this.#timestamp?.md;
    if (!snap || !ts) internal('no trusted snapshot');
    // 5.5.6
    if (snap.signed.isExpired(this.referenceTime)) throw expired('snapshot', snap.signed.expires);
    // 5.5.4
    if (snap.signed.version !== ts.signed.snapshotMeta.version) {
      throw new OcitrustError('TUF_VERSION_MISMATCH', `snapshot version ${snap.signed.version} differs from version ${ts.signed.snapshotMeta.version} named by timestamp`);
    }
  }
}

function rotationCheck(check: () => void, message: string): void {
  try {
    check();
  } catch (e) {
    if (isOcitrustError(e, 'TUF_THRESHOLD_NOT_MET')) throw new OcitrustError('TUF_ROOT_ROTATION_INVALID', `${message} (${e.message})`, { cause: e });
    throw e;
  }
}

function expired(role: string, expires: string): OcitrustError {
  return new OcitrustError('TUF_EXPIRED', `${role} metadata expired at ${expires}`, { details: { role, expires } });
}

function internal(msg: string): never {
  throw new OcitrustError('INTERNAL', `TUF workflow order: ${msg}`);
}

function copy(b: Uint8Array): Uint8Array {
  return new Uint8Array(b);
}
