import { invalid, obj, rest, unfrozen } from './guard.js';
import { MetaFile, metaFromJSON, metaToJSON } from './meta-file.js';
import { COMMON_FIELDS, Signed, commonFromJSON, expiresText, type SignedFields } from './signed.js';

/** Options of a {@link Snapshot}. */
export interface SnapshotOptions extends SignedFields {
  /** `<role>.json` → version (and optionally length, hashes); must name `targets.json`. */
  readonly meta: ReadonlyMap<string, MetaFile>;
}

/**
 * TUF snapshot metadata: the versions of every targets metadata file, so that a client can
 * detect a mix-and-match or rollback of targets (TUF 5.5). Signed by the server-held key.
 */
export class Snapshot extends Signed {
  readonly type = 'snapshot' as const;
  readonly meta: ReadonlyMap<string, MetaFile>;

  /** @throws METADATA_INVALID, METADATA_SPEC_VERSION_UNSUPPORTED */
  constructor(o: SnapshotOptions) {
    super(o);
    if (!o.meta.has('targets.json')) invalid('meta', 'must contain targets.json');
    this.meta = new Map(o.meta);
    Object.freeze(this);
  }

  /**
   * Parses untrusted snapshot `signed` JSON.
   * @throws METADATA_INVALID, METADATA_TYPE_MISMATCH, METADATA_SPEC_VERSION_UNSUPPORTED
   */
  static fromJSON(v: unknown): Snapshot {
    const o = obj(v, 'signed');
    const common = commonFromJSON(o, 'snapshot');
    return new Snapshot({ ...common, meta: metaFromJSON(o.meta, 'meta'), unrecognized: rest(o, [...COMMON_FIELDS, 'meta']) });
  }

  /** The entry of top-level targets metadata. */
  get targetsMeta(): MetaFile {
    return this.meta.get('targets.json') as MetaFile;
  }

  override toJSON(): Record<string, unknown> {
    return { ...unfrozen(this.unrecognized), ...this.commonJSON(), meta: metaToJSON(this.meta) };
  }

  override withVersion(version: number, expires: Date | string): Snapshot {
    return new Snapshot({ ...this.fields(), meta: this.meta, version, expires: expiresText(expires) });
  }

  /** The same snapshot naming another targets.json entry (unsigned). */
  withTargetsMeta(meta: MetaFile): Snapshot {
    const m = new Map(this.meta);
    m.set('targets.json', meta);
    return new Snapshot({ ...this.fields(), meta: m });
  }
}
