import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { verifyImage } from '../../../lib/verify/verifier.js';
import type { VerifyResult } from '../../../lib/verify/result.js';
import { isOcitrustError } from '../../../lib/errors/index.js';
import { fixedClock } from '../../../lib/clock.js';
import { digestOf } from '../../../lib/crypto/hash.js';
import { buildStatement, statementBytes } from '../../../lib/statements/statement.js';
import { signStatement } from '../../../lib/statements/sign.js';
import { serializeEnvelope } from '../../../lib/statements/dsse.js';
import {
  alice, bob, carol, mallory, REPO, DIGEST, OTHER_DIGEST, SIZE, NOW,
  trust, role, sigEnvelope, rawEnvelope, asInput, envelopeJSON, input,
} from './fixtures.js';

const codes = (r: VerifyResult) => r.failures.map((f) => f.code);
const enc = (s: string) => new TextEncoder().encode(s);

function assertFails(r: VerifyResult, ...want: string[]): void {
  assert.equal(r.verified, false, `expected failure, got verified with ${JSON.stringify(r.failures)}`);
  for (const c of want) assert.ok(codes(r).includes(c as never), `missing ${c} in ${JSON.stringify(r.failures)}`);
}

describe('verifyImage: a valid signature', () => {
  it('verifies a statement signed by a delegated key for its role', async () => {
    const r = verifyImage(input([await sigEnvelope([alice])]));
    assert.equal(r.verified, true, JSON.stringify(r.failures));
    assert.deepEqual(r.failures, []);
    assert.deepEqual(r.signatures, [{ role: 'releases', keyid: alice.keyid, signedAt: '2026-03-01T11:00:00Z' }]);
    assert.equal(r.reference, `${REPO}:v1`);
    assert.equal(r.digest, DIGEST);
  });

  it('verifies by digest reference (target path <repo>@<digest>)', async () => {
    const r = verifyImage(input([await sigEnvelope([alice], { tag: undefined })], { reference: { repository: REPO, digest: DIGEST } }));
    assert.equal(r.verified, true, JSON.stringify(r.failures));
    assert.equal(r.reference, `${REPO}@${DIGEST}`);
  });

  it('is deterministic and pure: same input, same result', async () => {
    const i = input([await sigEnvelope([alice]), await sigEnvelope([mallory])]);
    assert.deepEqual(verifyImage(i), verifyImage(i));
  });
});

describe('verifyImage: attack cases (each asserts its code)', () => {
  it('signature by an undelegated key → SIG_KEY_NOT_DELEGATED', async () => {
    assertFails(verifyImage(input([await sigEnvelope([mallory])])), 'SIG_KEY_NOT_DELEGATED', 'NO_SIGNATURES');
  });

  it('undelegated key claiming a delegated keyid → SIG_INVALID', async () => {
    const e = await sigEnvelope([mallory]);
    const j = envelopeJSON(e);
    j.signatures[0]!.keyid = alice.keyid;
    assertFails(verifyImage(input([asInput(enc(JSON.stringify(j)))])), 'SIG_INVALID');
  });

  it('tampered payload → SIG_INVALID', async () => {
    const e = await sigEnvelope([alice]);
    const j = envelopeJSON(e);
    const other = await sigEnvelope([alice], { digest: OTHER_DIGEST });
    j.payload = envelopeJSON(other).payload;
    j.signatures = envelopeJSON(e).signatures;
    assertFails(verifyImage(input([asInput(enc(JSON.stringify(j)))])), 'SIG_INVALID');
  });

  it('threshold not met → THRESHOLD_NOT_MET (ops needs 2 of bob, carol)', async () => {
    const r = verifyImage(input([await sigEnvelope([bob], { role: 'ops' })], { policy: { requiredRoles: { allOf: ['ops'] } } }));
    assertFails(r, 'THRESHOLD_NOT_MET', 'REQUIRED_ROLE_MISSING');
  });

  it('threshold met by two distinct keys (one envelope or two)', async () => {
    const policy = { requiredRoles: { allOf: ['ops'] } };
    const both = verifyImage(input([await sigEnvelope([bob, carol], { role: 'ops' })], { policy }));
    assert.equal(both.verified, true, JSON.stringify(both.failures));
    const two = verifyImage(input([await sigEnvelope([bob], { role: 'ops' }), await sigEnvelope([carol], { role: 'ops' })], { policy }));
    assert.equal(two.verified, true, JSON.stringify(two.failures));
    assert.equal(two.signatures.length, 2);
  });

  it('the same key signing twice counts once → THRESHOLD_NOT_MET', async () => {
    const e1 = await sigEnvelope([bob], { role: 'ops' });
    const e2 = await sigEnvelope([bob], { role: 'ops', signedAt: new Date('2026-03-01T11:30:00Z') });
    const r = verifyImage(input([e1, e2, e1], { policy: { requiredRoles: { allOf: ['ops'] } } }));
    assertFails(r, 'THRESHOLD_NOT_MET');
    assert.deepEqual(r.signatures, [{ role: 'ops', keyid: bob.keyid, signedAt: '2026-03-01T11:30:00Z' }]);
  });

  it('a signature counts only for the role it names: bob signing as releases does not fill ops', async () => {
    const r = verifyImage(
      input([await sigEnvelope([bob], { role: 'releases' }), await sigEnvelope([bob], { role: 'ops' })], { policy: { requiredRoles: { allOf: ['ops'] } } }),
    );
    assertFails(r, 'THRESHOLD_NOT_MET', 'REQUIRED_ROLE_MISSING');
  });

  it('a delegated key naming a role it is not in → SIG_KEY_NOT_IN_ROLE', async () => {
    assertFails(verifyImage(input([await sigEnvelope([carol], { role: 'releases' })])), 'SIG_KEY_NOT_IN_ROLE');
  });

  it('a role the metadata does not delegate → SIG_ROLE_UNKNOWN', async () => {
    assertFails(verifyImage(input([await sigEnvelope([alice], { role: 'admin' })])), 'SIG_ROLE_UNKNOWN');
  });

  it('statement for another repository with the same digest → STATEMENT_SUBJECT_MISMATCH', async () => {
    const e = await sigEnvelope([alice], { repository: 'registry.example.com/team/other' });
    assertFails(verifyImage(input([e])), 'STATEMENT_SUBJECT_MISMATCH');
  });

  it('wrong digest → STATEMENT_DIGEST_MISMATCH', async () => {
    assertFails(verifyImage(input([await sigEnvelope([alice], { digest: OTHER_DIGEST })])), 'STATEMENT_DIGEST_MISMATCH');
  });

  it('mediaType or size differing from the manifest → STATEMENT_DESCRIPTOR_MISMATCH', async () => {
    assertFails(verifyImage(input([await sigEnvelope([alice], { size: SIZE + 1 })])), 'STATEMENT_DESCRIPTOR_MISMATCH');
    assertFails(verifyImage(input([await sigEnvelope([alice], { mediaType: 'application/vnd.oci.image.index.v1+json' })])), 'STATEMENT_DESCRIPTOR_MISMATCH');
  });

  it('tag mismatch under tag binding → STATEMENT_TAG_MISMATCH; ignored without binding', async () => {
    const v2 = await sigEnvelope([alice], { tag: 'v2' });
    assertFails(verifyImage(input([v2], { policy: { bindTag: true } })), 'STATEMENT_TAG_MISMATCH');
    const untagged = await sigEnvelope([alice], { tag: undefined });
    assertFails(verifyImage(input([untagged], { policy: { bindTag: true } })), 'STATEMENT_TAG_MISMATCH');
    assert.equal(verifyImage(input([v2], { policy: { bindTag: false } })).verified, true);
    assert.equal(verifyImage(input([await sigEnvelope([alice])], { policy: { bindTag: true } })).verified, true);
  });

  it('revoked digest → SIG_REVOKED', async () => {
    const t = trust({ revocations: [{ digest: DIGEST, reason: 'key compromise', revokedAt: '2026-02-01T00:00:00Z' }] });
    assertFails(verifyImage(input([await sigEnvelope([alice])], { trust: t })), 'SIG_REVOKED', 'NO_SIGNATURES');
  });

  it('revocation of another digest does not apply', async () => {
    const t = trust({ revocations: [{ digest: OTHER_DIGEST, reason: 'x' }] });
    assert.equal(verifyImage(input([await sigEnvelope([alice])], { trust: t })).verified, true);
  });

  it('role-scoped revocation revokes that role only', async () => {
    const t = trust({ revocations: [{ digest: DIGEST, role: 'releases', reason: 'bad release' }] });
    assertFails(verifyImage(input([await sigEnvelope([alice], { role: 'releases' })], { trust: t })), 'SIG_REVOKED');
    const r = verifyImage(input([await sigEnvelope([alice], { role: 'alice' })], { trust: t }));
    assert.equal(r.verified, true, JSON.stringify(r.failures));
  });

  it('envelope-scoped revocation revokes that envelope only', async () => {
    const e1 = await sigEnvelope([alice]);
    const e2 = await sigEnvelope([alice], { signedAt: new Date('2026-03-01T11:05:00Z') });
    const t = trust({ revocations: [{ digest: DIGEST, envelope: digestOf(e1.bytes), reason: 'leaked' }] });
    assertFails(verifyImage(input([e1], { trust: t })), 'SIG_REVOKED');
    const r = verifyImage(input([e1, e2], { trust: t }));
    assert.equal(r.verified, true);
    assert.deepEqual(codes(r), ['SIG_REVOKED']);
  });

  it('removed signer (key no longer in TrustedTargets) → SIG_KEY_NOT_DELEGATED', async () => {
    const t = trust();
    const keys = new Map(t.keys);
    keys.delete(alice.keyid);
    const removed = trust({ keys, roles: [role('releases', [bob]), role('ops', [bob, carol], 2)] });
    assertFails(verifyImage(input([await sigEnvelope([alice])], { trust: removed })), 'SIG_KEY_NOT_DELEGATED');
  });

  it('path pattern not covering the image → SIG_PATH_NOT_COVERED', async () => {
    const t = trust({ roles: [role('releases', [alice], 1, ['registry.example.com/other/*'])] });
    assertFails(verifyImage(input([await sigEnvelope([alice])], { trust: t })), 'SIG_PATH_NOT_COVERED');
    // '*' does not cross '/'
    const t2 = trust({ roles: [role('releases', [alice], 1, ['registry.example.com/*'])] });
    assertFails(verifyImage(input([await sigEnvelope([alice])], { trust: t2 })), 'SIG_PATH_NOT_COVERED');
    // a tag-specific path covers only that tag
    const t3 = trust({ roles: [role('releases', [alice], 1, [`${REPO}:v1`])] });
    assert.equal(verifyImage(input([await sigEnvelope([alice])], { trust: t3 })).verified, true);
    assertFails(
      verifyImage(input([await sigEnvelope([alice], { tag: 'v2' })], { trust: t3, reference: { repository: REPO, tag: 'v2' } })),
      'SIG_PATH_NOT_COVERED',
    );
  });

  it('an earlier terminating delegation claims the path → SIG_PATH_NOT_COVERED for later roles', async () => {
    const t = trust({ roles: [role('owner', [bob], 1, [`${REPO}:*`], true), role('releases', [alice])] });
    assertFails(verifyImage(input([await sigEnvelope([alice])], { trust: t })), 'SIG_PATH_NOT_COVERED');
    assert.equal(verifyImage(input([await sigEnvelope([bob], { role: 'owner' })], { trust: t })).verified, true);
  });

  it('signedAt in the future beyond skew → STATEMENT_FUTURE; within skew passes', async () => {
    const future = await sigEnvelope([alice], { signedAt: new Date(NOW.getTime() + 301_000) });
    assertFails(verifyImage(input([future])), 'STATEMENT_FUTURE');
    const near = await sigEnvelope([alice], { signedAt: new Date(NOW.getTime() + 299_000) });
    assert.equal(verifyImage(input([near])).verified, true);
    assertFails(verifyImage(input([near], { policy: { clockSkewSeconds: 0 } })), 'STATEMENT_FUTURE');
  });

  it('expired statement → STATEMENT_EXPIRED', async () => {
    assertFails(verifyImage(input([await sigEnvelope([alice], { expires: NOW })])), 'STATEMENT_EXPIRED');
    const later = await sigEnvelope([alice], { expires: new Date(NOW.getTime() + 1000) });
    assert.equal(verifyImage(input([later])).verified, true);
  });

  it('expired trust view → TRUST_EXPIRED and nothing counts', async () => {
    const r = verifyImage(input([await sigEnvelope([alice])], { clock: fixedClock('2026-06-01T00:00:00Z') }));
    assertFails(r, 'TRUST_EXPIRED');
    assert.deepEqual(r.signatures, []);
  });

  it('reference pinning another digest → REFERENCE_DIGEST_MISMATCH even with valid signatures', async () => {
    const r = verifyImage(input([await sigEnvelope([alice])], { reference: { repository: REPO, tag: 'v1', digest: OTHER_DIGEST } }));
    assertFails(r, 'REFERENCE_DIGEST_MISMATCH');
  });

  it('envelope bytes not matching their digest → ENVELOPE_DIGEST_MISMATCH', async () => {
    const e = await sigEnvelope([alice]);
    assertFails(verifyImage(input([{ bytes: e.bytes, digest: OTHER_DIGEST }])), 'ENVELOPE_DIGEST_MISMATCH');
    assertFails(verifyImage(input([{ bytes: e.bytes, digest: 'nonsense' }])), 'ENVELOPE_DIGEST_MISMATCH');
  });

  it('no envelopes → NO_SIGNATURES', () => {
    const r = verifyImage(input([]));
    assertFails(r, 'NO_SIGNATURES');
    assert.equal(r.failures.length, 1);
  });

  it('malformed base64 in the envelope → BASE64_MALFORMED (one failed signature, not a throw)', async () => {
    const j = envelopeJSON(await sigEnvelope([alice]));
    j.payload = j.payload.slice(0, 10) + ' ' + j.payload.slice(10);
    assertFails(verifyImage(input([asInput(enc(JSON.stringify(j)))])), 'BASE64_MALFORMED');
  });

  it('malformed envelope JSON → JSON_MALFORMED', () => {
    assertFails(verifyImage(input([asInput(enc('{"payload": "'))])), 'JSON_MALFORMED');
  });

  it('envelope not DSSE-shaped → ENVELOPE_MALFORMED', () => {
    assertFails(verifyImage(input([asInput(enc('{"payload":"","payloadType":"x"}'))])), 'ENVELOPE_MALFORMED');
  });

  it('oversized envelope and oversized payload → INPUT_TOO_LARGE', async () => {
    const big = await sigEnvelope([alice]);
    assertFails(verifyImage(input([big], { limits: { maxEnvelopeBytes: 200 } })), 'INPUT_TOO_LARGE');
    assertFails(verifyImage(input([big], { limits: { maxPayloadBytes: 100 } })), 'INPUT_TOO_LARGE');
  });

  it('duplicate JSON keys in the signed payload → JSON_DUPLICATE_KEY', async () => {
    const good = new TextDecoder().decode(statementBytes(JSON.parse(new TextDecoder().decode(await payloadOf([alice])))));
    const dup = good.replace('"role":"releases"', '"role":"releases","role":"ops"');
    assert.notEqual(dup, good);
    assertFails(verifyImage(input([await rawEnvelope([alice], enc(dup))])), 'JSON_DUPLICATE_KEY');
  });

  it('signed payload that is not a statement → STATEMENT_MALFORMED', async () => {
    assertFails(verifyImage(input([await rawEnvelope([alice], enc('{"_type":"nope"}'))])), 'STATEMENT_MALFORMED');
  });

  it('another payloadType → PAYLOAD_TYPE_UNSUPPORTED', async () => {
    const p = await payloadOf([alice]);
    assertFails(verifyImage(input([await rawEnvelope([alice], p, 'application/json')])), 'PAYLOAD_TYPE_UNSUPPORTED');
  });

  it('more envelopes than maxSignatures → SIGNATURE_LIMIT_EXCEEDED, the rest unexamined', async () => {
    const bad = await sigEnvelope([mallory]);
    const good = await sigEnvelope([alice]);
    const r = verifyImage(input([bad, bad, good], { policy: { maxSignatures: 2 } }));
    assertFails(r, 'SIGNATURE_LIMIT_EXCEEDED', 'NO_SIGNATURES');
  });

  it('every failure is reported when several envelopes fail', async () => {
    const r = verifyImage(
      input([
        await sigEnvelope([mallory]),
        await sigEnvelope([alice], { digest: OTHER_DIGEST }),
        await sigEnvelope([alice], { repository: 'registry.example.com/x/y', expires: NOW }),
        asInput(enc('garbage')),
        await sigEnvelope([alice], { role: 'admin' }),
      ]),
    );
    assert.equal(r.verified, false);
    assert.deepEqual(codes(r), [
      'SIG_KEY_NOT_DELEGATED',
      'STATEMENT_DIGEST_MISMATCH',
      'STATEMENT_SUBJECT_MISMATCH',
      'STATEMENT_EXPIRED',
      'JSON_MALFORMED',
      'SIG_ROLE_UNKNOWN',
      'NO_SIGNATURES',
    ]);
    assert.match(r.failures[3]!.message, /^envelope 3: /);
  });

  it('bad envelopes are reported but do not veto a policy that good ones satisfy', async () => {
    const r = verifyImage(input([await sigEnvelope([mallory]), await sigEnvelope([alice])]));
    assert.equal(r.verified, true);
    assert.deepEqual(codes(r), ['SIG_KEY_NOT_DELEGATED']);
  });

  it('random envelope bytes never throw and never verify (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        const r = verifyImage(input([asInput(bytes)]));
        assert.equal(r.verified, false);
        assert.ok(r.failures.length >= 1 && !codes(r).includes('INTERNAL'));
      }),
      { numRuns: 500 },
    );
  });

  it('ill-typed caller input is INVALID_ARGUMENT, not a verdict', () => {
    assert.throws(() => verifyImage(input([], { digest: 'latest' })), (e) => isOcitrustError(e, 'INVALID_ARGUMENT'));
    assert.throws(() => verifyImage({ ...input([]), envelopes: [{ bytes: 'x' }] } as never), (e) => isOcitrustError(e, 'INVALID_ARGUMENT'));
    assert.throws(() => verifyImage(input([], { policy: { bindTags: true } as never })), (e) => isOcitrustError(e, 'POLICY_INVALID'));
  });
});

describe('verifyImage: policy', () => {
  it('default: any one delegated role with its threshold met', async () => {
    assert.equal(verifyImage(input([await sigEnvelope([alice], { role: 'alice' })])).verified, true);
  });

  it('allOf requires every listed role', async () => {
    const policy = { requiredRoles: { allOf: ['releases', 'ops'] } };
    const rel = await sigEnvelope([alice]);
    const ops = await sigEnvelope([bob, carol], { role: 'ops' });
    assertFails(verifyImage(input([rel], { policy })), 'REQUIRED_ROLE_MISSING');
    assert.equal(verifyImage(input([rel, ops], { policy })).verified, true);
  });

  it('allOf naming an undelegated role fails', async () => {
    const r = verifyImage(input([await sigEnvelope([alice])], { policy: { requiredRoles: { allOf: ['security'] } } }));
    assertFails(r, 'REQUIRED_ROLE_MISSING');
    assert.match(r.failures[0]!.message, /not delegated/);
  });

  it('anyOf requires at least one listed role', async () => {
    const policy = { requiredRoles: { anyOf: ['ops', 'alice'] } };
    assertFails(verifyImage(input([await sigEnvelope([alice])], { policy })), 'REQUIRED_ROLE_MISSING');
    assert.equal(verifyImage(input([await sigEnvelope([alice], { role: 'alice' })], { policy })).verified, true);
  });

  it('identity remap: a mirror verifies against signatures for the original', async () => {
    const mirror = 'mirror.internal:5000/team/app';
    const e = await sigEnvelope([alice]);
    const plain = verifyImage(input([e], { reference: { repository: mirror, tag: 'v1' } }));
    assertFails(plain, 'STATEMENT_SUBJECT_MISMATCH');
    const policy = { identityRemap: { from: 'mirror.internal:5000/team', to: 'registry.example.com/team' } };
    const r = verifyImage(input([e], { reference: { repository: mirror, tag: 'v1' }, policy }));
    assert.equal(r.verified, true, JSON.stringify(r.failures));
    assert.equal(r.reference, `${mirror}:v1`);
    // a statement naming the mirror itself is not what the remap allows
    const mirrorSigned = await sigEnvelope([alice], { repository: mirror });
    assertFails(verifyImage(input([mirrorSigned], { reference: { repository: mirror, tag: 'v1' }, policy })), 'STATEMENT_SUBJECT_MISMATCH');
  });

  it('identity remap matches at segment boundaries only', async () => {
    const policy = { identityRemap: { from: 'mirror.internal/team', to: 'registry.example.com/team' } };
    const e = await sigEnvelope([alice], { repository: 'registry.example.com/teamx/app' });
    const r = verifyImage(input([e], { reference: { repository: 'mirror.internal/teamx/app', tag: 'v1' }, policy }));
    assertFails(r, 'STATEMENT_SUBJECT_MISMATCH');
  });

  it('attestations: counted only when the policy asks for their predicate type', async () => {
    const sbomType = 'https://spdx.dev/Document';
    const st = buildStatement([{ name: REPO, digest: { sha256: DIGEST.slice(7) } }], sbomType, { spdxVersion: 'SPDX-2.3' });
    const sbom = asInput(serializeEnvelope(await signStatement(st, [alice])));
    const asSig = verifyImage(input([sbom]));
    assertFails(asSig, 'NO_SIGNATURES');
    assert.match(asSig.failures[0]!.message, /1 of another predicate type ignored/);
    // no role in the predicate: counts for each role that delegates the key and covers the path
    const r = verifyImage(input([sbom], { policy: { predicateType: sbomType } }));
    assert.equal(r.verified, true, JSON.stringify(r.failures));
    assert.deepEqual(r.signatures.map((s) => s.role).sort(), ['alice', 'releases']);
    // the subject checks still apply to attestations
    const other = buildStatement([{ name: REPO, digest: { sha256: OTHER_DIGEST.slice(7) } }], sbomType, {});
    const wrong = asInput(serializeEnvelope(await signStatement(other, [alice])));
    assertFails(verifyImage(input([wrong], { policy: { predicateType: sbomType } })), 'STATEMENT_DIGEST_MISMATCH');
  });
});

async function payloadOf(signers: typeof alice[]): Promise<Uint8Array> {
  const j = envelopeJSON(await sigEnvelope(signers));
  return new Uint8Array(Buffer.from(j.payload, 'base64'));
}
