import { createHash } from 'node:crypto';
import { OcitrustError } from '../errors/index.js';
import { toHex } from '../crypto/hash.js';
import { sha256 } from '../crypto/hash.js';
import { int, invalid, obj, rest, str, unfrozen, deepFreeze } from './guard.js';

/** Options of a {@link MetaFile}. */
export interface MetaFileOptions {
  readonly version: number;
  readonly length?: number;
  /** Hash algorithm → lowercase hex. */
  readonly hashes?: Readonly<Record<string, string>>;
  readonly unrecognized?: Readonly<Record<string, unknown>>;
}

const SUPPORTED_HASHES = new Set(['sha256', 'sha512']);

/**
 * A METAFILES entry (`snapshot.meta[...]`, `timestamp.meta["snapshot.json"]`): version and
 * optionally length and hashes of another metadata file (tuf-spec "METAFILES").
 */
export class MetaFile {
  readonly version: number;
  readonly length: number | undefined;
  readonly hashes: Readonly<Record<string, string>> | undefined;
  readonly unrecognized: Readonly<Record<string, unknown>>;

  /** @throws METADATA_INVALID */
  constructor(o: MetaFileOptions, where = 'meta') {
    this.version = int(o.version, `${where}.version`, 1);
    this.length = o.length === undefined ? undefined : int(o.length, `${where}.length`, 0);
    if (o.hashes !== undefined) {
      const h = obj(o.hashes, `${where}.hashes`);
      const copy: Record<string, string> = {};
      for (const [alg, hex] of Object.entries(h)) {
        if (typeof hex !== 'string' || !/^[0-9a-f]+$/.test(hex)) invalid(`${where}.hashes.${alg.slice(0, 32)}`, 'expected lowercase hex');
        Object.defineProperty(copy, alg, { value: hex, enumerable: true });
      }
      if (Object.keys(copy).length === 0) invalid(`${where}.hashes`, 'must name at least one hash when present');
      this.hashes = Object.freeze(copy);
    } else {
      this.hashes = undefined;
    }
    this.unrecognized = o.unrecognized ?? Object.freeze({});
    Object.freeze(this);
  }

  /** The entry describing `bytes` as version `version` (length and sha256). */
  static forBytes(version: number, bytes: Uint8Array): MetaFile {
    return new MetaFile({ version, length: bytes.length, hashes: { sha256: toHex(sha256(bytes)) } });
  }

  /** @throws METADATA_INVALID */
  static fromJSON(v: unknown, where: string): MetaFile {
    const o = obj(v, where);
    const has = (k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);
    return new MetaFile(
      {
        version: int(o.version, `${where}.version`, 1),
        length: has('length') ? int(o.length, `${where}.length`, 0) : undefined,
        hashes: has('hashes') ? (deepFreeze(structuredClone(obj(o.hashes, `${where}.hashes`))) as Record<string, string>) : undefined,
        unrecognized: rest(o, ['version', 'length', 'hashes']),
      },
      where,
    );
  }

  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { ...unfrozen(this.unrecognized), version: this.version };
    if (this.length !== undefined) out.length = this.length;
    if (this.hashes !== undefined) out.hashes = { ...this.hashes };
    return out;
  }

  /**
   * Checks `bytes` against the recorded length and every recorded hash (TUF 5.5.2, 5.6.2).
   * An unsupported hash algorithm fails: a hash that cannot be checked is not skipped.
   *
   * @throws TUF_LENGTH_MISMATCH, TUF_HASH_MISMATCH
   */
  verify(bytes: Uint8Array, what: string): void {
    if (this.length !== undefined && bytes.length !== this.length) {
      throw new OcitrustError('TUF_LENGTH_MISMATCH', `${what}: expected ${this.length} bytes, got ${bytes.length}`);
    }
    for (const [alg, hex] of Object.entries(this.hashes ?? {})) {
      if (!SUPPORTED_HASHES.has(alg)) throw new OcitrustError('TUF_HASH_MISMATCH', `${what}: hash algorithm ${JSON.stringify(alg.slice(0, 32))} is not supported`);
      const got = createHash(alg).update(bytes).digest('hex');
      if (got !== hex) throw new OcitrustError('TUF_HASH_MISMATCH', `${what}: ${alg} is ${got}, expected ${hex}`);
    }
  }

  /** Semantic equality (version, length, hashes). */
  equals(other: MetaFile): boolean {
    return this.version === other.version && this.length === other.length && JSON.stringify(this.hashes ?? null) === JSON.stringify(other.hashes ?? null);
  }
}

/** Parses a `meta` dictionary. @throws METADATA_INVALID */
export function metaFromJSON(v: unknown, where: string): ReadonlyMap<string, MetaFile> {
  const o = obj(v, where);
  const m = new Map<string, MetaFile>();
  for (const [name, e] of Object.entries(o)) {
    str(name, `${where} name`);
    if (!/^[^/\\]+\.json$/.test(name)) invalid(`${where}`, `entry name ${JSON.stringify(name.slice(0, 64))} is not <role>.json`);
    m.set(name, MetaFile.fromJSON(e, `${where}.${name}`));
  }
  return m;
}

/** The `meta` dictionary JSON. */
export function metaToJSON(meta: ReadonlyMap<string, MetaFile>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [n, f] of meta) Object.defineProperty(out, n, { value: f.toJSON(), enumerable: true, writable: true, configurable: true });
  return out;
}
