import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fixedClock } from '../../../lib/clock.js';
import { OcitrustError } from '../../../lib/errors/index.js';
import { bumpVersion, newRoot, newSnapshot, newTargets, newTimestamp, DEFAULT_EXPIRY_SECONDS } from '../../../lib/metadata/builders.js';
import { MetaFile } from '../../../lib/metadata/meta-file.js';
import { trustViewFromTargets } from '../../../lib/metadata/trust-view.js';
import { freshSigners } from '../../helpers/collection.js';

const clock = fixedClock('2026-03-01T10:20:30Z');
const code = (c: string) => (e: unknown) => e instanceof OcitrustError && e.code === c;

describe('builders', () => {
  it('use the default lifetimes of DESIGN §3', () => {
    const k = freshSigners(4).map((s) => s.publicKey);
    const root = newRoot({ clock, keys: { root: [k[0]!], targets: [k[1]!], snapshot: [k[2]!], timestamp: [k[3]!] } });
    assert.equal(root.expires, '2027-03-01T10:20:30Z');
    assert.equal(root.version, 1);
    assert.equal(root.consistentSnapshot, true);
    assert.equal(newTargets({ clock }).expires, '2026-05-30T10:20:30Z');
    const snap = newSnapshot({ clock, targets: new MetaFile({ version: 1 }) });
    assert.equal(snap.expires, '2026-03-08T10:20:30Z');
    assert.equal(newTimestamp({ clock, snapshot: new MetaFile({ version: 1 }) }).expires, '2026-03-02T10:20:30Z');
    assert.equal(DEFAULT_EXPIRY_SECONDS.timestamp, 86400);
  });

  it('bumpVersion steps the version and renews the expiry from the clock', () => {
    const t = newTargets({ clock, version: 4 });
    const later = fixedClock('2026-04-01T00:00:00Z');
    const n = bumpVersion(t, { clock: later, expiresInSeconds: 60 });
    assert.equal(n.version, 5);
    assert.equal(n.expires, '2026-04-01T00:01:00Z');
    assert.equal(t.version, 4, 'the original is unchanged');
  });

  it('withDelegation adds, replaces in place, prunes unused keys; withoutDelegation removes', () => {
    const [a, b, c2] = freshSigners(3);
    let t = newTargets({ clock });
    t = t.withDelegation({ name: 'alice', keys: [a!.publicKey], paths: ['reg.example/app*'] });
    t = t.withDelegation({ name: 'bob', keys: [b!.publicKey], paths: ['reg.example/*'], terminating: true });
    assert.deepEqual(t.roles.map((r) => r.name), ['alice', 'bob']);
    t = t.withDelegation({ name: 'alice', keys: [c2!.publicKey, a!.publicKey], threshold: 2, paths: ['reg.example/app:*'] });
    assert.deepEqual(t.roles.map((r) => r.name), ['alice', 'bob'], 'replaced in place');
    assert.equal(t.delegations!.role('alice')!.threshold, 2);
    assert.equal(t.delegations!.keys.size, 3);
    t = t.withoutDelegation('bob');
    assert.deepEqual(t.roles.map((r) => r.name), ['alice']);
    assert.ok(!t.delegations!.keys.has(b!.keyid), 'bob\'s key is dropped with his role');
    assert.throws(() => t.withoutDelegation('bob'), code('METADATA_ROLE_NOT_FOUND'));
    assert.throws(() => t.withDelegation({ name: 'x', keys: [a!.publicKey, a!.publicKey], paths: [] }), code('METADATA_DUPLICATE_KEYID'));
    assert.throws(() => t.withDelegation({ name: 'x', keys: [a!.publicKey], threshold: 2, paths: [] }), code('METADATA_THRESHOLD_INVALID'));
    assert.throws(() => t.withDelegation({ name: 'root', keys: [a!.publicKey], paths: [] }), code('METADATA_ROLE_NAME_INVALID'));
  });

  it('withRevocation appends entries that the trust view exposes', () => {
    const t = newTargets({ clock })
      .withRevocation({ digest: `sha256:${'1'.repeat(64)}`, reason: 'leaked key', revokedAt: '2026-03-01T00:00:00Z' })
      .withRevocation({ digest: `sha256:${'2'.repeat(64)}`, role: 'alice', envelope: `sha256:${'3'.repeat(64)}`, reason: 'bad build' });
    const v = trustViewFromTargets(t, 'reg.example/app');
    assert.equal(v.revocations.length, 2);
    assert.equal(v.revocations[1]!.role, 'alice');
    assert.equal(v.revocations[1]!.envelope, `sha256:${'3'.repeat(64)}`);
    assert.throws(() => t.withRevocation({ digest: 'nope', reason: 'x' }), code('METADATA_INVALID'));
  });

  it('Root#withRoleKeys rotates a role\'s keys and drops keys no role uses', () => {
    const k = freshSigners(6).map((s) => s.publicKey);
    const root = newRoot({ clock, keys: { root: [k[0]!], targets: [k[1]!], snapshot: [k[2]!], timestamp: [k[3]!] } });
    const r2 = root.withRoleKeys('root', [k[4]!, k[5]!], 2);
    assert.deepEqual(r2.role('root').keyids, [k[4]!.keyid, k[5]!.keyid]);
    assert.equal(r2.role('root').threshold, 2);
    assert.ok(!r2.keys.has(k[0]!.keyid));
    assert.equal(r2.keys.size, 5);
    assert.throws(() => root.withRoleKeys('root', [k[4]!], 2), code('METADATA_THRESHOLD_INVALID'));
  });

  it('trustViewFromTargets exposes roles, keys and expiry of the targets metadata, frozen', () => {
    const [a] = freshSigners(1);
    const t = newTargets({ clock }).withDelegation({ name: 'alice', keys: [a!.publicKey], paths: ['reg.example/app*'] });
    const v = trustViewFromTargets(t, 'reg.example/app');
    assert.equal(v.collection, 'reg.example/app');
    assert.equal(v.version, 1);
    assert.equal(v.expires.toISOString(), '2026-05-30T10:20:30.000Z');
    assert.deepEqual(v.roles, [{ name: 'alice', keyids: [a!.keyid], threshold: 1, paths: ['reg.example/app*'], terminating: false }]);
    assert.deepEqual(v.keys.get(a!.keyid)!.toJSON(), a!.publicKey.toJSON());
    assert.ok(Object.isFrozen(v) && Object.isFrozen(v.roles) && Object.isFrozen(v.roles[0]));
  });

  it('MetaFile#verify checks length and hashes', () => {
    const bytes = new TextEncoder().encode('{"x":1}');
    const m = MetaFile.forBytes(3, bytes);
    m.verify(bytes, 'x');
    assert.throws(() => m.verify(new TextEncoder().encode('{"x":2}'), 'x'), code('TUF_HASH_MISMATCH'));
    assert.throws(() => m.verify(new TextEncoder().encode('{"x":12}'), 'x'), code('TUF_LENGTH_MISMATCH'));
    assert.throws(() => new MetaFile({ version: 1, hashes: { md5: 'ab' } }).verify(bytes, 'x'), code('TUF_HASH_MISMATCH'));
  });
});
