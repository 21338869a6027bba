import { join } from 'node:path';
import { systemClock } from '../lib/clock.js';
import { DEFAULT_LIMITS } from '../lib/config.js';
import { OcitrustError } from '../lib/errors/index.js';
import { openLayoutPath } from '../lib/oci/layout-tar.js';
import { listTrustBundles, readTrustBundle, type TrustBundle } from '../lib/oci/trust-bundle.js';
import { openDb } from './storage/index.js';
import { trustMigrations } from './trust/migrations.js';
import { webhookMigrations } from './webhooks/index.js';
import { AuditLog } from './audit.js';
import { importMirror, type ImportResult } from './trust/mirror.js';

/** Options of {@link importCommand} (what `trust server import` parses). */
export interface ImportCommandOptions {
  /** Layout folder or .tar written by `trust save`. */
  readonly path: string;
  readonly database?: string;
  readonly dataDir?: string;
  /** Only these collections (default: every bundle in the layout). */
  readonly collections?: readonly string[];
  /** Trust anchor for a new mirror (one collection only). */
  readonly root?: Uint8Array;
}

/**
 * `trust server import PATH`: every trust bundle of a layout into the read-only mirror of its
 * collection, directly in the server's database (as `trust server token` does). Every bundle is
 * read and checked (digests, tar) before the first import; each collection is one transaction.
 *
 * @throws BUNDLE_TRUST_MISSING, LAYOUT_*, TAR_*, and the codes of {@link importMirror}
 */
export async function importCommand(o: ImportCommandOptions): Promise<ImportResult[]> {
  const opened = await openLayoutPath(o.path);
  try {
    const all = (await listTrustBundles(opened.layout)).map((e) => e.collection);
    const wanted = o.collections && o.collections.length > 0 ? [...o.collections] : all;
    if (wanted.length === 0) throw new OcitrustError('BUNDLE_TRUST_MISSING', `layout ${o.path} carries no trust data (expected a layout written by trust save)`);
    if (o.root && wanted.length > 1) throw new OcitrustError('CLI_USAGE', '--root anchors one collection: name it with --collection');
    const bundles: TrustBundle[] = [];
    for (const c of wanted) bundles.push(await readTrustBundle(opened.layout, c));
    const db = await openDb(o.database ?? join(o.dataDir ?? 'ocitrust-data', 'ocitrust.db'), { migrations: [trustMigrations, webhookMigrations] });
    try {
      const audit = new AuditLog(db, systemClock);
      const out: ImportResult[] = [];
      for (const b of bundles) out.push(await importMirror(b, { db, audit, clock: systemClock, limits: DEFAULT_LIMITS, ...(o.root ? { root: o.root } : {}) }));
      return out;
    } finally {
      await db.close();
    }
  } finally {
    await opened.close();
  }
}
