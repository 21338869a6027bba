import { describe, it, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { fixedClock } from '../../../lib/clock.js';
import { OcitrustError } from '../../../lib/errors/index.js';
import { MetaFile } from '../../../lib/metadata/meta-file.js';
import { bumpVersion } from '../../../lib/metadata/builders.js';
import { TrustedSet } from '../../../lib/tuf/trusted-set.js';
import { TEST_TIME, buildCollection, freshSigners, signDocument, signMetadata, toBytes, type TestCollection } from '../../helpers/collection.js';

const clock = fixedClock(TEST_TIME);

function throwsCode(fn: () => unknown, code: string): OcitrustError {
  let err: OcitrustError | undefined;
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof OcitrustError, `expected OcitrustError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    err = e;
    return true;
  });
  return err!;
}

/** A set loaded through timestamp, snapshot and targets of the collection as it is now. */
function loaded(c: TestCollection, at = clock): TrustedSet {
  const set = new TrustedSet(c.rootBytes(1), { clock: at });
  for (let v = 2; c.files.has(`${v}.root.json`); v++) set.updateRoot(c.file(`${v}.root.json`));
  set.checkFinalRoot();
  set.updateTimestamp(c.file('timestamp.json'));
  set.updateSnapshot(c.file(`${c.snapshot.signed.version}.snapshot.json`));
  set.updateTargets(c.file(`${c.targets.signed.version}.targets.json`));
  return set;
}

let c: TestCollection;
beforeEach(async () => {
  c = await buildCollection({ collection: 'reg.example/app', rootKeys: 2, rootThreshold: 2, signers: [{ name: 'alice' }] });
});

describe('TrustedSet', () => {
  describe('when everything is valid', () => {
    it('trusts root, timestamp, snapshot and targets in workflow order', () => {
      const set = loaded(c);
      assert.equal(set.targets!.signed.roles[0]!.name, 'alice');
      assert.equal(set.referenceTime.toISOString(), new Date(TEST_TIME).toISOString());
      assert.deepEqual(set.bytes('targets'), c.file('1.targets.json'));
    });

    it('refuses out-of-order updates as an internal error', () => {
      const set = new TrustedSet(c.rootBytes(), { clock });
      throwsCode(() => set.updateSnapshot(c.file('1.snapshot.json')), 'INTERNAL');
      throwsCode(() => set.updateTargets(c.file('1.targets.json')), 'INTERNAL');
    });
  });

  describe('trusted root (5.2)', () => {
    it('must be signed by its own root threshold', () => {
      const doc = signDocument(c.json('1.root.json'), [c.keys.root[0]!]);
      throwsCode(() => new TrustedSet(toBytes(doc), { clock }), 'TUF_THRESHOLD_NOT_MET');
    });
  });

  describe('#updateRoot (5.3)', () => {
    it('accepts a rotation signed by a threshold of the old keys and of the new keys', async () => {
      const newKeys = await c.rotateRoot({ newKeys: 2, threshold: 2 });
      const set = new TrustedSet(c.rootBytes(1), { clock });
      set.updateRoot(c.file('2.root.json'));
      assert.equal(set.root.signed.version, 2);
      assert.deepEqual(set.root.signed.role('root').keyids, newKeys.map((k) => k.keyid));
    });

    it('root rotation without the old threshold (only one of two old keys) → TUF_ROOT_ROTATION_INVALID', async () => {
      const old = c.keys.root;
      const [n1] = freshSigners(1);
      await c.rotateRoot({ newKeys: [n1!], threshold: 1, signWith: [old[0]!, n1!] });
      const set = new TrustedSet(c.rootBytes(1), { clock });
      const e = throwsCode(() => set.updateRoot(c.file('2.root.json')), 'TUF_ROOT_ROTATION_INVALID');
      assert.match(e.message, /trusted root v1/);
      assert.equal(set.root.signed.version, 1, 'trust state unchanged');
    });

    it('rotation signed only by the new keys → TUF_ROOT_ROTATION_INVALID', async () => {
      const fresh = freshSigners(1);
      await c.rotateRoot({ newKeys: fresh, threshold: 1, signWith: fresh });
      throwsCode(() => new TrustedSet(c.rootBytes(1), { clock }).updateRoot(c.file('2.root.json')), 'TUF_ROOT_ROTATION_INVALID');
    });

    it('rotation signed only by the old keys (not by its own) → TUF_ROOT_ROTATION_INVALID', async () => {
      const old = c.keys.root;
      await c.rotateRoot({ newKeys: 1, signWith: old });
      const e = throwsCode(() => new TrustedSet(c.rootBytes(1), { clock }).updateRoot(c.file('2.root.json')), 'TUF_ROOT_ROTATION_INVALID');
      assert.match(e.message, /its own root keys/);
    });

    it('a version that does not step by exactly one → TUF_ROOT_ROTATION_INVALID', async () => {
      const skipped = bumpVersion(c.root.signed, { clock }).withVersion(3, '2027-01-01T00:00:00Z');
      const md = await signMetadata(skipped, c.keys.root);
      throwsCode(() => new TrustedSet(c.rootBytes(1), { clock }).updateRoot(md.toBytes()), 'TUF_ROOT_ROTATION_INVALID');
      // replaying version 1 as the "next" root
      throwsCode(() => new TrustedSet(c.rootBytes(1), { clock }).updateRoot(c.rootBytes(1)), 'TUF_ROOT_ROTATION_INVALID');
    });

    it('an expired final root → TUF_EXPIRED (5.3.10); an expired initial root may still be rotated away from', async () => {
      const late = fixedClock('2027-02-01T00:00:00Z'); // root 1 expired 2027-01-15
      throwsCode(() => new TrustedSet(c.rootBytes(1), { clock: late }).checkFinalRoot(), 'TUF_EXPIRED');
      await c.rotateRoot({ clock: late });
      const set = new TrustedSet(c.rootBytes(1), { clock: late });
      set.updateRoot(c.file('2.root.json'));
      set.checkFinalRoot();
    });
  });

  describe('#updateTimestamp (5.4)', () => {
    it('signed by a key that is not the timestamp key → TUF_THRESHOLD_NOT_MET', () => {
      const doc = signDocument(c.json('timestamp.json'), [c.keys.snapshot[0]!]);
      throwsCode(() => new TrustedSet(c.rootBytes(), { clock }).updateTimestamp(toBytes(doc)), 'TUF_THRESHOLD_NOT_MET');
    });

    it('rollback to a lower timestamp version → TUF_ROLLBACK', async () => {
      const v1 = c.file('timestamp.json');
      await c.publishTimestamp();
      const set = new TrustedSet(c.rootBytes(), { clock });
      set.updateTimestamp(c.file('timestamp.json'));
      throwsCode(() => set.updateTimestamp(v1), 'TUF_ROLLBACK');
      assert.equal(set.timestamp!.signed.version, 2);
    });

    it('an equal version keeps the trusted copy', () => {
      const set = new TrustedSet(c.rootBytes(), { clock });
      const first = set.updateTimestamp(c.file('timestamp.json'));
      assert.equal(set.updateTimestamp(c.file('timestamp.json')), first);
    });

    it('a newer timestamp naming an older snapshot → TUF_ROLLBACK', async () => {
      await c.publishSnapshot(); // snapshot v2, timestamp v2
      const set = new TrustedSet(c.rootBytes(), { clock });
      set.updateTimestamp(c.file('timestamp.json'));
      const back = c.timestamp.signed.withVersion(3, '2026-01-16T00:00:00Z').withSnapshotMeta(MetaFile.forBytes(1, c.file('1.snapshot.json')));
      const md = await signMetadata(back, c.keys.timestamp);
      throwsCode(() => set.updateTimestamp(md.toBytes()), 'TUF_ROLLBACK');
    });

    it('expired timestamp → TUF_EXPIRED (freeze)', () => {
      const late = fixedClock('2026-01-16T12:00:00Z'); // timestamp lives one day
      throwsCode(() => new TrustedSet(c.rootBytes(), { clock: late }).updateTimestamp(c.file('timestamp.json')), 'TUF_EXPIRED');
      // exactly at the expiry instant is expired too
      throwsCode(() => new TrustedSet(c.rootBytes(), { clock: fixedClock(c.timestamp.signed.expires) }).updateTimestamp(c.file('timestamp.json')), 'TUF_EXPIRED');
    });
  });

  describe('#updateSnapshot (5.5)', () => {
    const withTs = (): TrustedSet => {
      const set = new TrustedSet(c.rootBytes(), { clock });
      set.updateTimestamp(c.file('timestamp.json'));
      return set;
    };

    it('bytes that differ from the timestamp\'s hash → TUF_HASH_MISMATCH; other length → TUF_LENGTH_MISMATCH', () => {
      const good = Buffer.from(c.file('1.snapshot.json')).toString();
      const sameLength = good.replace('"version":1}', '"version":2}');
      assert.equal(sameLength.length, good.length);
      throwsCode(() => withTs().updateSnapshot(Buffer.from(sameLength)), 'TUF_HASH_MISMATCH');
      throwsCode(() => withTs().updateSnapshot(Buffer.from(good + ' ')), 'TUF_LENGTH_MISMATCH');
    });

    it('signed by the wrong key → TUF_THRESHOLD_NOT_MET', async () => {
      const md = await signMetadata(c.snapshot.signed, c.keys.timestamp);
      const ts = await signMetadata(c.timestamp.signed.withVersion(2, c.timestamp.signed.expires).withSnapshotMeta(MetaFile.forBytes(1, md.toBytes())), c.keys.timestamp);
      const set = new TrustedSet(c.rootBytes(), { clock });
      set.updateTimestamp(ts.toBytes());
      throwsCode(() => set.updateSnapshot(md.toBytes()), 'TUF_THRESHOLD_NOT_MET');
    });

    it('a version other than the timestamp names → TUF_VERSION_MISMATCH', async () => {
      const ts = await signMetadata(c.timestamp.signed.withVersion(2, c.timestamp.signed.expires).withSnapshotMeta(new MetaFile({ version: 2 })), c.keys.timestamp);
      const set = new TrustedSet(c.rootBytes(), { clock });
      set.updateTimestamp(ts.toBytes());
      throwsCode(() => set.updateSnapshot(c.file('1.snapshot.json')), 'TUF_VERSION_MISMATCH');
    });

    it('a targets version lower than the trusted snapshot names → TUF_ROLLBACK', async () => {
      await c.publishTargets(); // targets v2, snapshot v2, timestamp v2
      const trustedSnap = c.file('2.snapshot.json');
      // snapshot v3 naming targets v1 again, and a timestamp v3 naming it
      const back = await signMetadata(bumpVersion(c.snapshot.signed.withTargetsMeta(MetaFile.forBytes(1, c.file('1.targets.json'))), { clock }), c.keys.snapshot);
      const ts = await signMetadata(bumpVersion(c.timestamp.signed.withSnapshotMeta(MetaFile.forBytes(3, back.toBytes())), { clock }), c.keys.timestamp);
      const set = new TrustedSet(c.rootBytes(), { clock });
      set.updateTimestamp(ts.toBytes());
      // the previously trusted snapshot is kept as the rollback baseline, though not final
      throwsCode(() => set.updateSnapshot(trustedSnap, { trusted: true }), 'TUF_VERSION_MISMATCH');
      throwsCode(() => set.updateSnapshot(back.toBytes()), 'TUF_ROLLBACK');
    });

    it('expired snapshot → TUF_EXPIRED', async () => {
      await c.publishSnapshot({ expiresInSeconds: 60 });
      const set = new TrustedSet(c.rootBytes(), { clock: fixedClock('2026-01-15T12:05:00Z') });
      set.updateTimestamp(c.file('timestamp.json'));
      throwsCode(() => set.updateSnapshot(c.file('2.snapshot.json')), 'TUF_EXPIRED');
    });
  });

  describe('#updateTargets (5.6)', () => {
    const withSnap = (): TrustedSet => {
      const set = new TrustedSet(c.rootBytes(), { clock });
      set.updateTimestamp(c.file('timestamp.json'));
      set.updateSnapshot(c.file(`${c.snapshot.signed.version}.snapshot.json`));
      return set;
    };

    it('targets signed by an undelegated key → TUF_THRESHOLD_NOT_MET', async () => {
      const [stranger] = freshSigners(1);
      await c.publishTargets((t) => t, { signWith: [stranger!] });
      throwsCode(() => withSnap().updateTargets(c.file('2.targets.json')), 'TUF_THRESHOLD_NOT_MET');
    });

    it('tampered targets → TUF_HASH_MISMATCH / TUF_LENGTH_MISMATCH', () => {
      const doc = c.json('1.targets.json');
      doc.signed.delegations.roles[0].paths = ['*'];
      throwsCode(() => withSnap().updateTargets(toBytes(doc)), 'TUF_LENGTH_MISMATCH');
      const good = Buffer.from(c.file('1.targets.json')).toString();
      const flipped = good.replace(/"sig":"(.)/, (_m, ch: string) => `"sig":"${ch === 'a' ? 'b' : 'a'}`);
      assert.equal(flipped.length, good.length);
      throwsCode(() => withSnap().updateTargets(Buffer.from(flipped)), 'TUF_HASH_MISMATCH');
    });

    it('a version other than the snapshot names → TUF_VERSION_MISMATCH', async () => {
      const snap = await signMetadata(bumpVersion(c.snapshot.signed.withTargetsMeta(new MetaFile({ version: 2 })), { clock }), c.keys.snapshot);
      const ts = await signMetadata(bumpVersion(c.timestamp.signed.withSnapshotMeta(MetaFile.forBytes(2, snap.toBytes())), { clock }), c.keys.timestamp);
      const set = new TrustedSet(c.rootBytes(), { clock });
      set.updateTimestamp(ts.toBytes());
      set.updateSnapshot(snap.toBytes());
      throwsCode(() => set.updateTargets(c.file('1.targets.json')), 'TUF_VERSION_MISMATCH');
    });

    it('expired targets → TUF_EXPIRED', async () => {
      await c.publishTargets((t) => t, { expiresInSeconds: 60 });
      const set = new TrustedSet(c.rootBytes(), { clock: fixedClock('2026-01-15T12:01:00Z') });
      set.updateTimestamp(c.file('timestamp.json'));
      set.updateSnapshot(c.file('2.snapshot.json'));
      throwsCode(() => set.updateTargets(c.file('2.targets.json')), 'TUF_EXPIRED');
    });
  });
});
