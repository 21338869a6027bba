import { formatTime } from '../../lib/clock.js';
import { sha256Hex } from '../../lib/crypto/hash.js';
import type { Signer } from '../../lib/keys/signer.js';
import { Metadata } from '../../lib/metadata/metadata.js';
import { MetaFile } from '../../lib/metadata/meta-file.js';
import { SPEC_VERSION } from '../../lib/metadata/signed.js';
import { Snapshot } from '../../lib/metadata/snapshot.js';
import { Timestamp } from '../../lib/metadata/timestamp.js';

/** A metadata file as the server stores and serves it. */
export interface SignedFile {
  readonly version: number;
  /** Canonical bytes as UTF-8 text. */
  readonly body: string;
  readonly sha256: string;
  readonly length: number;
  /** Epoch ms. */
  readonly expires: number;
}

/** Describes served bytes (length and sha256), the form snapshot and timestamp `meta` entries take. */
export function describeFile(version: number, bytes: Uint8Array, expires: number): SignedFile {
  return { version, body: Buffer.from(bytes).toString('utf8'), sha256: sha256Hex(bytes), length: bytes.length, expires };
}

/** The METAFILES entry naming a stored file (version, length, sha256), as clients check it (TUF 5.5.2, 5.6.2). */
export function metaOf(f: { version: number; length: number; sha256: string }): MetaFile {
  return new MetaFile({ version: f.version, length: f.length, hashes: { sha256: f.sha256 } });
}

/** Signs a snapshot (server snapshot key) naming the given targets file by version, length and sha256. */
export async function signSnapshot(signer: Signer, version: number, expires: Date, targets: { version: number; length: number; sha256: string }): Promise<SignedFile> {
  const snapshot = new Snapshot({
    specVersion: SPEC_VERSION,
    version,
    expires: formatTime(expires),
    meta: new Map([['targets.json', metaOf(targets)]]),
  });
  const md = await new Metadata(snapshot).sign(signer);
  return describeFile(version, md.toBytes(), snapshot.expiresAt.getTime());
}

/** Signs a timestamp (server timestamp key) naming the given snapshot file by version, length and sha256. */
export async function signTimestamp(signer: Signer, version: number, expires: Date, snapshot: { version: number; length: number; sha256: string }): Promise<SignedFile> {
  const ts = new Timestamp({ specVersion: SPEC_VERSION, version, expires: formatTime(expires), snapshotMeta: metaOf(snapshot) });
  const md = await new Metadata(ts).sign(signer);
  return describeFile(version, md.toBytes(), ts.expiresAt.getTime());
}
