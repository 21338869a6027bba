// python-tuf's test repository (../shared/vectors/tuf-python-tuf, README there): real TUF 1.0
// metadata written by another implementation. What ocitrust accepts and refuses of it:
//   - targets, snapshot, timestamp, role1, role2: parsed; keys carry the legacy
//     `keyid_hash_algorithms` field, which is hashed into the keyid as given (keyids match);
//     their Ed25519 signatures verify with the keys root.json lists (JCS bytes = OLPC bytes here).
//   - root.json: refused with METADATA_UNSUPPORTED (`consistent_snapshot: false`; ocitrust
//     needs consistent snapshots). Its RSA root key is refused by PublicKey.fromJSON with
//     KEY_UNSUPPORTED (ocitrust is Ed25519-only); its three Ed25519 keys are accepted.
//   - Byte-exact round trip: re-serializing gives JCS of the same values, and the signatures
//     cover exactly those bytes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OcitrustError } from '../../../lib/errors/index.js';
import { Metadata } from '../../../lib/metadata/metadata.js';
import { Role } from '../../../lib/metadata/role.js';
import { PublicKey } from '../../../lib/keys/key.js';
import { canonicalBytes } from '../../../lib/crypto/canonical.js';
import { bytesEqual } from '../../../lib/crypto/hash.js';

const projectRoot = new URL('../../../', import.meta.url).pathname;
const dir = join(projectRoot, '..', 'shared', 'vectors', 'tuf-python-tuf');
const read = (f: string): Uint8Array => new Uint8Array(readFileSync(join(dir, f)));
const json = (f: string): any => JSON.parse(readFileSync(join(dir, f), 'utf8'));

describe('python-tuf test repository metadata', () => {
  const root = json('root.json');

  it('root.json is refused: consistent_snapshot false → METADATA_UNSUPPORTED', () => {
    assert.throws(() => Metadata.fromBytes('root', read('root.json')), (e: unknown) => e instanceof OcitrustError && e.code === 'METADATA_UNSUPPORTED');
  });

  it('root.json keys: the RSA key → KEY_UNSUPPORTED; the Ed25519 keys parse and their keyids match (legacy fields hashed in)', () => {
    let ed = 0;
    for (const [id, k] of Object.entries(root.signed.keys) as Array<[string, any]>) {
      if (k.keytype === 'rsa') {
        assert.throws(() => PublicKey.fromJSON(k), (e: unknown) => e instanceof OcitrustError && e.code === 'KEY_UNSUPPORTED');
        continue;
      }
      const key = PublicKey.fromJSON(k);
      assert.equal(key.keyid, id);
      assert.deepEqual(key.toJSON().keyid_hash_algorithms, ['sha256', 'sha512']);
      ed++;
    }
    assert.equal(ed, 3);
  });

  const keyOf = (id: string): PublicKey => PublicKey.fromJSON(root.signed.keys[id]);
  const cases = [
    ['timestamp.json', 'timestamp', 'timestamp'],
    ['snapshot.json', 'snapshot', 'snapshot'],
    ['targets.json', 'targets', 'targets'],
  ] as const;
  for (const [file, type, role] of cases) {
    it(`${file} parses, round-trips, and is signed by root's ${role} key`, () => {
      const md = Metadata.fromBytes(type, read(file));
      assert.equal(md.signed.version, 1);
      assert.equal(md.signed.expires, '2030-01-01T00:00:00Z');
      assert.deepEqual(md.toJSON(), json(file));
      assert.ok(bytesEqual(md.signedBytes(), canonicalBytes(json(file).signed)));
      const r = root.signed.roles[role];
      const role_ = new Role({ keyids: r.keyids, threshold: r.threshold });
      const keys = new Map<string, PublicKey>(r.keyids.map((id: string) => [id, keyOf(id)] as [string, PublicKey]));
      assert.deepEqual([...Metadata.validSigners(role_, keys, md)], r.keyids);
    });
  }

  for (const file of ['role1.json', 'role2.json']) {
    it(`${file} (delegated targets) parses and is signed by the delegation key in targets.json`, () => {
      const targets = Metadata.fromBytes('targets', read('targets.json'));
      const md = Metadata.fromBytes('targets', read(file));
      assert.deepEqual(md.toJSON(), json(file));
      if (file === 'role1.json') {
        targets.verifyDelegate('role1', md);
        assert.deepEqual(targets.signed.delegations!.role('role1')!.paths, ['file3.txt']);
        assert.ok(targets.signed.delegations!.role('role1')!.isDelegatedPath('file3.txt'));
      } else {
        // role2 is delegated by role1 with the same key
        const role1 = Metadata.fromBytes('targets', read('role1.json'));
        role1.verifyDelegate('role2', md);
        assert.deepEqual(role1.signed.delegations!.role('role2')!.paths, []);
      }
    });
  }

  it('a tampered python-tuf document no longer verifies', () => {
    const doc = json('snapshot.json');
    doc.signed.meta['targets.json'].version = 2;
    const md = Metadata.fromJSON('snapshot', doc);
    const r = root.signed.roles.snapshot;
    const keys = new Map<string, PublicKey>([[r.keyids[0], keyOf(r.keyids[0])]]);
    assert.equal(Metadata.validSigners(new Role({ keyids: r.keyids, threshold: 1 }), keys, md).size, 0);
  });
});
