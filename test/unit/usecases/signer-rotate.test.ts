// `trust signer rotate` (issue 19): the targets change that rotates a delegated signer's keys —
// new key in, old key out of the signer and of `releases`, the threshold kept valid, every bad
// request a coded error — and the trust server's webhook event for it (key.rotated, reused).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fixedClock } from '../../../lib/clock.js';
import { isOcitrustError, type ErrorCode } from '../../../lib/errors/index.js';
import { newTargets } from '../../../lib/metadata/builders.js';
import { Metadata } from '../../../lib/metadata/metadata.js';
import type { Targets } from '../../../lib/metadata/targets.js';
import { RELEASES_ROLE, defaultSignerPaths, rotateSignerKeys } from '../../../lib/usecases/admin.js';
import { publishEvents } from '../../../server/webhooks/trust-diff.js';
import { freshSigners } from '../../helpers/collection.js';

const clock = fixedClock('2026-03-01T10:20:30Z');
const paths = defaultSignerPaths('reg.example/app');
const code = (c: ErrorCode, re?: RegExp) => (e: unknown) => isOcitrustError(e, c) && (re === undefined || re.test((e as Error).message));
const keyids = (t: Targets, role: string): string[] => [...(t.delegations?.role(role)?.keyids ?? [])].sort();

/** alice (key a) and bob (key b), both in releases as `signer add` puts them. */
function collection() {
  const [a, b, n, m] = freshSigners(4).map((s) => s.publicKey);
  const t = newTargets({ clock })
    .withDelegation({ name: 'alice', keys: [a!], paths })
    .withDelegation({ name: 'bob', keys: [b!], paths })
    .withDelegation({ name: RELEASES_ROLE, keys: [a!, b!], paths });
  return { t, a: a!, b: b!, n: n!, m: m! };
}

describe('rotateSignerKeys', () => {
  it('replaces the signer\'s key by the new one, in the signer and in releases; others untouched', () => {
    const { t, a, b, n } = collection();
    const { targets, rotation } = rotateSignerKeys(t, { name: 'alice', keys: [n] });
    assert.deepEqual(keyids(targets, 'alice'), [n.keyid]);
    assert.deepEqual(keyids(targets, RELEASES_ROLE), [b.keyid, n.keyid].sort());
    assert.deepEqual(keyids(targets, 'bob'), [b.keyid]);
    assert.equal(targets.delegations!.keys.has(a.keyid), false, 'the old key is gone from the delegation keys');
    assert.deepEqual(targets.delegations!.role('alice')!.paths, paths, 'paths kept');
    assert.deepEqual(rotation, {
      signer: 'alice',
      keyidsAdded: [n.keyid],
      keyidsRemoved: [a.keyid],
      keyids: [n.keyid],
      threshold: 1,
      releases: { keyidsAdded: [n.keyid], keyidsRemoved: [a.keyid] },
    });
    assert.equal(t.delegations!.role('alice')!.keyids[0], a.keyid, 'the input is unchanged');
  });

  it('--remove removes only the named keys (by keyid prefix); the signer name matches regardless of case', () => {
    const { t, a, n, m } = collection();
    const two = rotateSignerKeys(t, { name: 'alice', keys: [n], remove: [] }).targets;
    assert.deepEqual(keyids(two, 'alice'), [a.keyid, n.keyid].sort(), 'remove: [] only adds');
    const { targets, rotation } = rotateSignerKeys(two, { name: 'ALICE', keys: [m], remove: [n.keyid.slice(0, 8)] });
    assert.deepEqual(keyids(targets, 'alice'), [a.keyid, m.keyid].sort());
    assert.deepEqual(rotation.keyidsRemoved, [n.keyid]);
    assert.equal(rotation.signer, 'alice');
  });

  it('a key another signer still has stays in releases; a signer kept out of releases stays out', () => {
    const { t, a, b, n } = collection();
    const shared = t.withDelegation({ name: 'carol', keys: [a], paths });
    assert.deepEqual(keyids(rotateSignerKeys(shared, { name: 'alice', keys: [n] }).targets, RELEASES_ROLE), [a.keyid, b.keyid, n.keyid].sort());
    const noRel = newTargets({ clock }).withDelegation({ name: 'alice', keys: [a], paths }).withDelegation({ name: RELEASES_ROLE, keys: [b], paths });
    const r = rotateSignerKeys(noRel, { name: 'alice', keys: [n] });
    assert.deepEqual(keyids(r.targets, RELEASES_ROLE), [b.keyid]);
    assert.deepEqual(r.rotation.releases, { keyidsAdded: [], keyidsRemoved: [] });
  });

  it('keeps the threshold valid: refuses to leave fewer keys than it, --threshold changes it', () => {
    const [k1, k2, k3] = freshSigners(3).map((s) => s.publicKey);
    const t = newTargets({ clock }).withDelegation({ name: 'release', keys: [k1!, k2!], threshold: 2, paths });
    assert.throws(() => rotateSignerKeys(t, { name: 'release', keys: [k3!], remove: [k1!.keyid, k2!.keyid] }), code('METADATA_THRESHOLD_INVALID', /keep 1 key\(s\) with threshold 2.*--threshold/));
    const swap = rotateSignerKeys(t, { name: 'release', keys: [k3!], remove: [k1!.keyid] });
    assert.deepEqual(keyids(swap.targets, 'release'), [k2!.keyid, k3!.keyid].sort());
    assert.equal(swap.targets.delegations!.role('release')!.threshold, 2);
    const one = rotateSignerKeys(t, { name: 'release', keys: [k3!], threshold: 1 });
    assert.deepEqual(keyids(one.targets, 'release'), [k3!.keyid]);
    assert.equal(one.rotation.threshold, 1);
    assert.throws(() => rotateSignerKeys(t, { name: 'release', keys: [k3!], threshold: 4, remove: [] }), code('METADATA_THRESHOLD_INVALID'));
  });

  it('every bad request is a coded error', () => {
    const { t, a, b, n } = collection();
    assert.throws(() => rotateSignerKeys(t, { name: 'mallory', keys: [n] }), code('METADATA_ROLE_NOT_FOUND', /"alice"/));
    assert.throws(() => rotateSignerKeys(t, { name: 'alice', keys: [n], remove: [b.keyid] }), code('SIGNER_KEY_NOT_FOUND', /0 matches/));
    assert.throws(() => rotateSignerKeys(t, { name: 'alice', keys: [n], remove: [a.keyid.slice(0, 6)] }), code('SIGNER_KEY_NOT_FOUND', /shorter than 8/));
    assert.throws(() => rotateSignerKeys(t, { name: 'alice', keys: [a] }), code('INVALID_ARGUMENT', /no change/));
    assert.throws(() => rotateSignerKeys(t, { name: 'alice', keys: [n, a], remove: [a.keyid] }), code('INVALID_ARGUMENT', /both the new key/));
    assert.throws(() => rotateSignerKeys(t, { name: 'alice', keys: [] }), code('INVALID_ARGUMENT'));
  });
});

describe('trust server event of a signer rotation', () => {
  it('is key.rotated for the signer role (and releases), naming the keys added and removed', () => {
    const { t, a, n } = collection();
    const next = rotateSignerKeys(t, { name: 'alice', keys: [n] }).targets;
    const events = publishEvents('reg.example/app', { root: null, targets: new Metadata(t) }, { targets: new Metadata(next.withVersion(2, next.expires)) }, { actor: 'admin', tokenId: null });
    const rotated = events.filter((e) => e.name === 'key.rotated').map((e) => e.data as { role: string; keyidsAdded: string[]; keyidsRemoved: string[] });
    assert.deepEqual(rotated.map((e) => [e.role, e.keyidsAdded, e.keyidsRemoved]), [
      ['alice', [n.keyid], [a.keyid]],
      [RELEASES_ROLE, [n.keyid], [a.keyid]],
    ]);
    assert.equal(events.some((e) => e.name === 'signer.added' || e.name === 'signer.removed'), false);
  });
});
