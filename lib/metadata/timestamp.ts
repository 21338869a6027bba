import { invalid, obj, rest, unfrozen } from './guard.js';
import { MetaFile, metaFromJSON, metaToJSON } from './meta-file.js';
import { COMMON_FIELDS, Signed, commonFromJSON, expiresText, type SignedFields } from './signed.js';

/** Options of a {@link Timestamp}. */
export interface TimestampOptions extends SignedFields {
  /** The `snapshot.json` entry: version, and (as ocitrust writes it) length and sha256. */
  readonly snapshotMeta: MetaFile;
}

/**
 * TUF timestamp metadata: names the current snapshot (version, length, hashes). Short-lived
 * and re-signed by the server so that clients notice a freeze quickly (TUF 5.4).
 */
export class Timestamp extends Signed {
  readonly type = 'timestamp' as const;
  readonly snapshotMeta: MetaFile;

  /** @throws METADATA_INVALID, METADATA_SPEC_VERSION_UNSUPPORTED */
  constructor(o: TimestampOptions) {
    super(o);
    if (!(o.snapshotMeta instanceof MetaFile)) invalid('meta', 'snapshot.json entry is required');
    this.snapshotMeta = o.snapshotMeta;
    Object.freeze(this);
  }

  /**
   * Parses untrusted timestamp `signed` JSON; `meta` must hold exactly `snapshot.json`.
   * @throws METADATA_INVALID, METADATA_TYPE_MISMATCH, METADATA_SPEC_VERSION_UNSUPPORTED
   */
  static fromJSON(v: unknown): Timestamp {
    const o = obj(v, 'signed');
    const common = commonFromJSON(o, 'timestamp');
    const meta = metaFromJSON(o.meta, 'meta');
    const snap = meta.get('snapshot.json');
    if (!snap || meta.size !== 1) invalid('meta', 'must contain exactly snapshot.json');
    return new Timestamp({ ...common, snapshotMeta: snap, unrecognized: rest(o, [...COMMON_FIELDS, 'meta']) });
  }

  override toJSON(): Record<string, unknown> {
    return { ...unfrozen(this.unrecognized), ...this.commonJSON(), meta: metaToJSON(new Map([['snapshot.json', this.snapshotMeta]])) };
  }

  override withVersion(version: number, expires: Date | string): Timestamp {
    return new Timestamp({ ...this.fields(), snapshotMeta: this.snapshotMeta, version, expires: expiresText(expires) });
  }

  /** The same timestamp naming another snapshot (unsigned). */
  withSnapshotMeta(meta: MetaFile): Timestamp {
    return new Timestamp({ ...this.fields(), snapshotMeta: meta });
  }
}
