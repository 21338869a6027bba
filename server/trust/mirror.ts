/**
 * Read-only mirrors of collections (issue 17, `trust server import PATH`): a trust server on the
 * inside network serves the trust data carried in a bundle exactly as the outside server signed
 * it — every root, snapshot, targets and timestamp byte for byte — so the admission webhooks, the
 * proxy and `trust verify` inside check the outside signatures against the same pinned roots.
 *
 * - A mirror holds no server keys (its key columns hold {@link MIRROR_KEY}): it never re-signs
 *   and refuses publishes (MIRROR_READ_ONLY). Its public key columns hold the outside server's
 *   snapshot and timestamp keys, as the outside root names them.
 * - An import runs the TUF checks against what the mirror already holds: the root chain from the
 *   stored root (or, for a new mirror, the given root or the bundle's version 1: the operator's
 *   first use, recorded in the audit log), the stored timestamp, snapshot and targets as rollback
 *   baselines (TUF_ROLLBACK), versions kept (older versions stay served). Roots the mirror has
 *   must mean the same keys as the bundle's of the same version, else BUNDLE_COLLECTION_MISMATCH.
 * - Expiry is not checked at import: the mirror stores what was signed; every verifier inside
 *   applies its own freshness rule when it reads the data.
 * - Everything is one transaction: a failed import changes nothing.
 */
import { OcitrustError, isOcitrustError } from '../../lib/errors/index.js';
import { fixedClock, type Clock } from '../../lib/clock.js';
import type { Limits } from '../../lib/config.js';
import { Metadata } from '../../lib/metadata/metadata.js';
import { rootMeaningFingerprint } from '../../lib/tuf/root-meaning.js';
import { TrustedSet } from '../../lib/tuf/trusted-set.js';
import type { TrustBundle } from '../../lib/oci/trust-bundle.js';
import type { Db } from '../storage/types.js';
import type { AuditLog } from '../audit.js';
import { describeFile } from './server-signing.js';
import { insertCollection, insertMetadata, readHead, readMetadata, updateHead } from './store.js';
import { TRUST_CHANNEL } from './service.js';

export { MIRROR_KEY } from './mirror-key.js';
import { MIRROR_KEY } from './mirror-key.js';

/** What an import did. */
export interface ImportResult {
  readonly collection: string;
  /** True when this import created the mirror. */
  readonly created: boolean;
  /** False when the bundle held nothing newer than the mirror. */
  readonly changed: boolean;
  readonly before: { readonly root: number; readonly targets: number; readonly snapshot: number; readonly timestamp: number };
  readonly versions: { readonly root: number; readonly targets: number; readonly snapshot: number; readonly timestamp: number };
}

/** Options of {@link importMirror}. */
export interface ImportMirrorOptions {
  readonly db: Db;
  readonly audit: AuditLog;
  readonly clock: Clock;
  readonly limits: Limits;
  /** Trust anchor of a new mirror (else the bundle's 1.root.json, recorded as the operator's first use). */
  readonly root?: Uint8Array;
  /** Who imports, for the audit log (default `cli`). */
  readonly actor?: string;
}

/** Loads stored metadata as a rollback baseline; a copy that no longer passes the final checks still counts as one. */
function baseline(load: () => unknown): void {
  try {
    load();
  } catch (e) {
    if (!isOcitrustError(e)) throw e;
  }
}

function file(b: TrustBundle, name: string): Uint8Array {
  const f = b.files.get(name);
  if (!f) throw new OcitrustError('TUF_METADATA_MISSING', `the bundle's trust data of ${b.collection} has no ${name}`);
  return f;
}

/**
 * Imports one collection's bundle into the mirror of that collection; see the module comment.
 * @throws MIRROR_READ_ONLY (a collection this server signs itself), BUNDLE_COLLECTION_MISMATCH, TUF_ROLLBACK,
 *   TUF_ROOT_ROTATION_INVALID, TUF_THRESHOLD_NOT_MET, TUF_HASH_MISMATCH, TUF_VERSION_MISMATCH, TUF_METADATA_MISSING, METADATA_*
 */
export async function importMirror(bundle: TrustBundle, o: ImportMirrorOptions): Promise<ImportResult> {
  const name = bundle.collection;
  const L = o.limits;
  // Expiry is the readers' business (module comment): evaluate as of a moment every document was valid.
  const ts0 = Metadata.fromBytes('timestamp', file(bundle, 'timestamp.json'), L).signed;
  const evalAt = fixedClock(new Date(Math.min(o.clock.now().getTime(), ts0.expiresAt.getTime() - 1000)));
  const audit = (outcome: 'ok' | 'rejected' | 'error', extra: { code?: string; versions?: Record<string, number>; detail?: string } = {}) =>
    o.audit.record({ actor: o.actor ?? 'cli', action: 'collection.import', collection: name, outcome, ...extra });
  try {
    const result = await o.db.transaction(async (tx) => {
      const head = await readHead(tx, name, true);
      if (head && head.snapshotKey !== MIRROR_KEY) {
        throw new OcitrustError('MIRROR_READ_ONLY', `collection ${name} is signed by this trust server itself, not a mirror; a bundle cannot replace it`);
      }
      const before = { root: head?.rootVersion ?? 0, targets: head?.targetsVersion ?? 0, snapshot: head?.snapshotVersion ?? 0, timestamp: head?.timestampVersion ?? 0 };
      // Roots the mirror holds must mean what the bundle's roots of the same versions mean.
      for (let v = 1; v <= before.root; v++) {
        const theirs = bundle.files.get(`${v}.root.json`);
        if (!theirs) continue;
        const ours = await readMetadata(tx, name, 'root', v);
        const same = ours && rootMeaningFingerprint(Metadata.fromBytes('root', Buffer.from(ours.body, 'utf8'), L).signed) === rootMeaningFingerprint(Metadata.fromBytes('root', theirs, L).signed);
        if (!same) {
          throw new OcitrustError('BUNDLE_COLLECTION_MISMATCH', `the bundle's root v${v} labelled ${name} means other keys than the mirror's root v${v}: it is another collection's trust data; nothing was imported`, { details: { collection: name } });
        }
      }
      let anchor: Uint8Array;
      if (head) anchor = Buffer.from((await readMetadata(tx, name, 'root', head.rootVersion))!.body, 'utf8');
      else anchor = o.root ?? file(bundle, '1.root.json');
      const set = new TrustedSet(anchor, { clock: evalAt, limits: L });
      if (!head && o.root) {
        // A given anchor must be one of the bundle's roots, meaning the same.
        const v = set.root.signed.version;
        const theirs = bundle.files.get(`${v}.root.json`);
        if (!theirs || rootMeaningFingerprint(Metadata.fromBytes('root', theirs, L).signed) !== rootMeaningFingerprint(set.root.signed)) {
          throw new OcitrustError('BUNDLE_COLLECTION_MISMATCH', `the bundle labelled ${name} has no root v${v} meaning the given --root: it is another collection's trust data; nothing was imported`, { details: { collection: name } });
        }
      }
      const newRoots: Uint8Array[] = [];
      if (!head) {
        // The chain from version 1 up to the anchor is stored too (clients walk from their pins).
        for (let v = 1; v <= set.root.signed.version; v++) newRoots.push(file(bundle, `${v}.root.json`));
      }
      for (let v = set.root.signed.version + 1; bundle.files.has(`${v}.root.json`); v++) {
        if (newRoots.length > L.maxRootRotations + set.root.signed.version) throw new OcitrustError('TUF_ROOT_CHAIN_TOO_LONG', `more than ${L.maxRootRotations} new roots in the bundle of ${name}`);
        const b = file(bundle, `${v}.root.json`);
        set.updateRoot(b);
        newRoots.push(b);
      }
      set.checkFinalRoot();
      // Rollback baselines: what the mirror serves now (TUF 5.4–5.6, as the client Updater does).
      if (head?.timestampBody) baseline(() => set.updateTimestamp(Buffer.from(head.timestampBody!, 'utf8')));
      const ts = set.updateTimestamp(file(bundle, 'timestamp.json'));
      const snapV = ts.signed.snapshotMeta.version;
      if (head) {
        const snap = await readMetadata(tx, name, 'snapshot', head.snapshotVersion);
        if (snap) baseline(() => set.updateSnapshot(Buffer.from(snap.body, 'utf8'), { trusted: true }));
      }
      let snapBytes: Uint8Array | undefined;
      if (!set.hasFinalSnapshot()) {
        snapBytes = file(bundle, `${snapV}.snapshot.json`);
        set.updateSnapshot(snapBytes);
      }
      const targetsV = set.snapshot!.signed.targetsMeta.version;
      const stored = head && targetsV <= before.targets ? await readMetadata(tx, name, 'targets', targetsV) : null;
      const targetsBytes = stored ? Buffer.from(stored.body, 'utf8') : file(bundle, `${targetsV}.targets.json`);
      set.updateTargets(targetsBytes);
      const versions = { root: set.root.signed.version, targets: targetsV, snapshot: snapV, timestamp: ts.signed.version };
      if (head && versions.timestamp === before.timestamp && versions.root === before.root) return { created: false, changed: false, before, versions };

      const now = o.clock.now().getTime();
      if (!head) {
        const key = (role: 'snapshot' | 'timestamp'): string => JSON.stringify(set.root.signed.keys.get(set.root.signed.role(role).keyids[0]!)!.toJSON());
        await insertCollection(tx, { name, snapshotKey: MIRROR_KEY, timestampKey: MIRROR_KEY, snapshotPublic: key('snapshot'), timestampPublic: key('timestamp'), now });
      }
      for (const b of newRoots) {
        const md = Metadata.fromBytes('root', b, L);
        if (md.signed.version <= before.root) continue;
        await insertMetadata(tx, { collection: name, role: 'root', ...describeFile(md.signed.version, b, md.signed.expiresAt.getTime()), now });
      }
      if (snapBytes && snapV > before.snapshot) await insertMetadata(tx, { collection: name, role: 'snapshot', ...describeFile(snapV, snapBytes, set.snapshot!.signed.expiresAt.getTime()), now });
      if (targetsV > before.targets) await insertMetadata(tx, { collection: name, role: 'targets', ...describeFile(targetsV, targetsBytes, set.targets!.signed.expiresAt.getTime()), now });
      const tsBytes = set.bytes('timestamp')!;
      const ok = await updateHead(tx, name, { generation: head?.generation ?? 0, timestampVersion: head?.timestampVersion ?? 0 }, {
        generation: (head?.generation ?? 0) + 1,
        rootVersion: versions.root,
        targetsVersion: versions.targets,
        snapshotVersion: versions.snapshot,
        snapshotExpires: set.snapshot!.signed.expiresAt.getTime(),
        timestampVersion: versions.timestamp,
        timestampExpires: ts.signed.expiresAt.getTime(),
        timestampBody: Buffer.from(tsBytes).toString('utf8'),
        now,
      });
      if (!ok) throw new OcitrustError('PUBLISH_VERSION_CONFLICT', `collection ${name} changed during the import; run it again`);
      await o.audit.record({ actor: o.actor ?? 'cli', action: 'collection.import', collection: name, outcome: 'ok', versions, detail: head ? `from ${bundle.server}` : `new mirror of ${bundle.server}; root v1 ${o.root ? 'given with --root' : 'trusted on first import'}` }, tx);
      await tx.notify(TRUST_CHANNEL, name);
      return { created: !head, changed: true, before, versions };
    });
    return { collection: name, ...result };
  } catch (e) {
    await audit(isOcitrustError(e) && e.exitCode !== 3 ? 'rejected' : 'error', { code: isOcitrustError(e) ? e.code : 'INTERNAL' }).catch(() => undefined);
    throw e;
  }
}
