import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normalizePolicy, expectedSubjectName } from '../../../lib/verify/policy.js';
import { SIGNATURE_PREDICATE_TYPE } from '../../../lib/statements/statement.js';
import { isOcitrustError } from '../../../lib/errors/index.js';

const invalid = (e: unknown) => isOcitrustError(e, 'POLICY_INVALID');

describe('normalizePolicy', () => {
  it('fills every default', () => {
    assert.deepEqual(normalizePolicy(), {
      requiredRoles: { allOf: [], anyOf: [] },
      bindTag: false,
      identityRemap: [],
      clockSkewSeconds: 300,
      maxSignatures: 256,
      multiArch: 'index',
      predicateType: SIGNATURE_PREDICATE_TYPE,
    });
  });

  it('is idempotent and frozen', () => {
    const p = normalizePolicy({ requiredRoles: { allOf: ['a'] }, identityRemap: { from: 'm.local/x', to: 'r.example.com/x' }, bindTag: true });
    assert.deepEqual(normalizePolicy(p), p);
    assert.ok(Object.isFrozen(p) && Object.isFrozen(p.requiredRoles.allOf));
  });

  const bad: Array<[string, unknown]> = [
    ['unknown field', { bindTags: true }],
    ['bindTag not boolean', { bindTag: 'yes' }],
    ['negative skew', { clockSkewSeconds: -1 }],
    ['float skew', { clockSkewSeconds: 1.5 }],
    ['huge skew', { clockSkewSeconds: 10 ** 9 }],
    ['zero maxSignatures', { maxSignatures: 0 }],
    ['unknown multiArch', { multiArch: 'some' }],
    ['empty predicateType', { predicateType: '' }],
    ['requiredRoles not object', { requiredRoles: ['a'] }],
    ['requiredRoles unknown key', { requiredRoles: { noneOf: ['a'] } }],
    ['allOf not array', { requiredRoles: { allOf: 'a' } }],
    ['allOf empty name', { requiredRoles: { allOf: [''] } }],
    ['anyOf duplicate', { requiredRoles: { anyOf: ['a', 'a'] } }],
    ['remap missing to', { identityRemap: { from: 'a.example/x' } }],
    ['remap with a tag', { identityRemap: { from: 'a.example/x:v1', to: 'b.example/x' } }],
    ['remap with a slash at the end', { identityRemap: [{ from: 'a.example/', to: 'b.example' }] }],
    ['not an object', 'strict'],
  ];
  for (const [why, v] of bad) {
    it(`refuses ${why} with POLICY_INVALID`, () => assert.throws(() => normalizePolicy(v as never), invalid));
  }
});

describe('expectedSubjectName', () => {
  const p = normalizePolicy({
    identityRemap: [
      { from: 'mirror.local/team', to: 'registry.example.com/team' },
      { from: 'mirror.local', to: 'docker.io' },
    ],
  });
  it('maps exact names and segment-boundary prefixes, first match wins', () => {
    assert.equal(expectedSubjectName(p, 'mirror.local/team'), 'registry.example.com/team');
    assert.equal(expectedSubjectName(p, 'mirror.local/team/app'), 'registry.example.com/team/app');
    assert.equal(expectedSubjectName(p, 'mirror.local/library/nginx'), 'docker.io/library/nginx');
  });
  it('leaves other names alone (no partial-segment match)', () => {
    assert.equal(expectedSubjectName(p, 'mirror.localhost/team/app'), 'mirror.localhost/team/app');
    assert.equal(expectedSubjectName(normalizePolicy({ identityRemap: { from: 'm.local/team', to: 'r.io/team' } }), 'm.local/teamx/app'), 'm.local/teamx/app');
  });
});
