// Role names are compared regardless of case (issue 12 item 7): the top-level role names are
// reserved in every case, `releases` is only spelled in lowercase, and a delegation set may not
// hold two names that differ only in case. Names become `<role>.json` file names on file
// systems that ignore case, and are what policies and revocations name.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkRoleName, roleNameKey, RELEASES_ROLE } from '../../../lib/metadata/role.js';
import { Delegations } from '../../../lib/metadata/delegations.js';
import { DelegatedRole } from '../../../lib/metadata/role.js';
import { Revocation } from '../../../lib/metadata/revocation.js';
import { Targets } from '../../../lib/metadata/targets.js';
import { SeedSigner } from '../../../lib/keys/signer.js';

const isNameError = (e: any): boolean => e?.code === 'METADATA_ROLE_NAME_INVALID';
const key = new SeedSigner(new Uint8Array(32).fill(4)).publicKey;

/** Every spelling of `word` with each letter in either case. */
function caseVariant(word: string): fc.Arbitrary<string> {
  return fc.array(fc.boolean(), { minLength: word.length, maxLength: word.length }).map((up) => [...word].map((c, i) => (up[i] ? c.toUpperCase() : c)).join(''));
}

function targetsWith(names: string[]): unknown {
  return {
    _type: 'targets',
    spec_version: '1.0.31',
    version: 2,
    expires: '2030-01-01T00:00:00Z',
    targets: {},
    delegations: {
      keys: { [key.keyid]: key.toJSON() },
      roles: names.map((name) => ({ name, keyids: [key.keyid], threshold: 1, paths: ['r/*'], terminating: false })),
    },
  };
}

describe('role names regardless of case', () => {
  it('top-level role names are refused in every case', () => {
    fc.assert(
      fc.property(fc.constantFrom('root', 'targets', 'snapshot', 'timestamp').chain(caseVariant), (name) => {
        assert.throws(() => checkRoleName(name), isNameError, name);
      }),
    );
  });

  it('releases is accepted only in lowercase', () => {
    assert.equal(checkRoleName(RELEASES_ROLE), 'releases');
    fc.assert(
      fc.property(caseVariant('releases').filter((n) => n !== 'releases'), (name) => {
        assert.throws(() => checkRoleName(name), isNameError, name);
      }),
    );
  });

  it('other names keep their case (a lone Alice is fine), and roleNameKey folds ASCII case only', () => {
    for (const ok of ['alice', 'Alice', 'ops-Team_2', 'targets2', 'root.old']) assert.equal(checkRoleName(ok), ok);
    assert.equal(roleNameKey('OPS-Team'), 'ops-team');
  });

  it('a delegation set may not hold two names that differ only in case', () => {
    const role = (name: string) => new DelegatedRole({ name, keyids: [key.keyid], threshold: 1, paths: ['r/*'], terminating: false });
    assert.throws(() => new Delegations({ keys: new Map([[key.keyid, key]]), roles: [role('alice'), role('ALICE')] }), (e: any) => isNameError(e) && /regardless of case/.test(e.message));
    assert.throws(() => Targets.fromJSON(targetsWith(['team', 'Team'])), isNameError);
    assert.doesNotThrow(() => Targets.fromJSON(targetsWith(['alice', 'bob', 'releases'])));
  });

  it('metadata naming a reserved role in another case does not parse (delegations and revocations)', () => {
    for (const bad of ['Targets', 'ROOT', 'Releases']) {
      assert.throws(() => Targets.fromJSON(targetsWith([bad])), isNameError, bad);
      assert.throws(() => Revocation.fromJSON({ digest: `sha256:${'1'.repeat(64)}`, role: bad, reason: 'x' }, 'revocations[0]'), isNameError, bad);
    }
  });

  it('the builders refuse them too (trust signer add goes through withDelegation)', () => {
    const t = Targets.fromJSON(targetsWith(['alice']));
    assert.throws(() => t.withDelegation({ name: 'Targets', keys: [key], paths: ['r/*'] }), isNameError);
    assert.throws(() => t.withDelegation({ name: 'Alice', keys: [key], paths: ['r/*'] }), isNameError);
    assert.equal(t.withDelegation({ name: 'alice', keys: [key], paths: ['r/x'] }).roles.length, 1, 'the same name replaces the role');
  });
});
