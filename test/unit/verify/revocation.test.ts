// Revocation of one signature (DESIGN §6, issue 12 item 1): a revocation names the key that
// made a signature (its material fingerprint) and the DSSE PAE it signed, so no re-encoding of
// the envelope escapes it — whitespace, key order, unknown fields, base64 alphabet or padding,
// keyid hints, extra junk signatures. A new statement signed later is a new signature and is
// not covered. Property tests over the pure verifier (fast-check), plus the edges by hand.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { digestOf } from '../../../lib/crypto/hash.js';
import { keyFingerprint } from '../../../lib/crypto/key-fingerprint.js';
import { PublicKey } from '../../../lib/keys/key.js';
import { parseEnvelope } from '../../../lib/statements/dsse.js';
import { paeDigestOf, signatureIds } from '../../../lib/verify/signature-id.js';
import { verifyImage } from '../../../lib/verify/verifier.js';
import type { Revocation, TrustedTargets } from '../../../lib/verify/trust.js';
import { Revocation as RevocationEntry } from '../../../lib/metadata/revocation.js';
import { Targets } from '../../../lib/metadata/targets.js';
import { DIGEST, alice, asInput, bob, carol, envelopeJSON, input, role, sigEnvelope, trust } from './fixtures.js';

const enc = new TextEncoder();

/** The revocation `trust revoke --envelope` publishes for the signatures of `e` under `t`. */
function revocationsOf(bytes: Uint8Array, t: TrustedTargets, reason = 'leaked'): Revocation[] {
  return signatureIds(parseEnvelope(bytes), t.keys).map((s) => ({ digest: DIGEST, signature: { key: s.key, pae: s.pae }, reason }));
}

function codes(r: { failures: readonly { code: string }[] }): string[] {
  return r.failures.map((f) => f.code);
}

/** A base64 re-encoding of the same bytes: either alphabet, padded or not (all accepted by DSSE). */
function base64Variant(std: string, v: number): string {
  const bytes = Buffer.from(std, 'base64');
  const s = v & 1 ? bytes.toString('base64url') : bytes.toString('base64');
  return v & 2 ? s.replace(/=+$/, '') : v & 1 ? s + '='.repeat((4 - (s.length % 4)) % 4) : s;
}

const hex = (min: number, max: number): fc.Arbitrary<string> => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: min, maxLength: max });

const KNOWN = new Set(['payload', 'payloadType', 'signatures', 'keyid', 'sig', '__proto__']);
const unknownFields = fc.dictionary(
  fc.string({ minLength: 1, maxLength: 8 }).filter((k) => !KNOWN.has(k)),
  fc.oneof(fc.string({ maxLength: 16 }), fc.integer(), fc.boolean(), fc.constant(null)),
  { maxKeys: 3 },
);

/** Builds an object from entries in a chosen order (JSON key order is not meaning). */
function ordered(entries: [string, unknown][], order: number[]): Record<string, unknown> {
  const keyed = entries.map((e, i) => [order[i] ?? i, e] as const).sort((a, b) => a[0] - b[0]);
  const o: Record<string, unknown> = {};
  for (const [, [k, v]] of keyed) Object.defineProperty(o, k, { value: v, enumerable: true, configurable: true, writable: true });
  return o;
}

/** Every way an attacker may re-encode an envelope without touching its signatures. */
const reencoding = fc.record({
  payloadB64: fc.integer({ min: 0, max: 3 }),
  sigB64: fc.integer({ min: 0, max: 3 }),
  keyid: fc.oneof(fc.constantFrom('keep', 'drop', 'empty'), hex(64, 64)),
  top: unknownFields,
  inSig: unknownFields,
  order: fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 8, maxLength: 8 }),
  junk: fc.array(fc.record({ keyid: fc.oneof(fc.constant(alice.keyid), hex(0, 64)), sig: fc.uint8Array({ minLength: 64, maxLength: 64 }), at: fc.nat() }), { maxLength: 4 }),
  indent: fc.oneof(fc.constant<number | string>(0), fc.integer({ min: 1, max: 8 }), fc.constant<number | string>('\t'), fc.constant<number | string>(' \n')),
});

type Reencoding = typeof reencoding extends fc.Arbitrary<infer T> ? T : never;

function reencode(original: ReturnType<typeof envelopeJSON>, r: Reencoding): Uint8Array {
  const sigs: Record<string, unknown>[] = original.signatures.map((s) => {
    const entries: [string, unknown][] = [['sig', base64Variant(s.sig, r.sigB64)], ...Object.entries(r.inSig)];
    if (r.keyid === 'keep') entries.push(['keyid', s.keyid]);
    else if (r.keyid === 'empty') entries.push(['keyid', '']);
    else if (r.keyid !== 'drop') entries.push(['keyid', r.keyid]);
    return ordered(entries, r.order);
  });
  for (const j of r.junk) {
    sigs.splice(j.at % (sigs.length + 1), 0, { keyid: j.keyid, sig: Buffer.from(j.sig).toString('base64') });
  }
  const top = ordered(
    [['payload', base64Variant(original.payload, r.payloadB64)], ['payloadType', original.payloadType], ['signatures', sigs], ...Object.entries(r.top)],
    [...r.order].reverse(),
  );
  // JSON.stringify takes any string as indent; whitespace ones (' \n', '\t') keep it valid JSON.
  return enc.encode(JSON.stringify(top, null, r.indent));
}

describe('revocation of one signature by key and PAE', () => {
  it('property: every re-encoding of a revoked envelope stays revoked', async () => {
    const original = await sigEnvelope([alice]);
    const t = trust({ revocations: revocationsOf(original.bytes, trust()) });
    assert.equal(verifyImage(input([original], { trust: t })).verified, false);
    const json = envelopeJSON(original);
    fc.assert(
      fc.property(reencoding, (r) => {
        const bytes = reencode(json, r);
        // The re-encoding is a valid envelope with the same signature (a sanity check of the generator).
        const plain = verifyImage(input([asInput(bytes)]));
        assert.equal(plain.verified, true, `the generator made an envelope that does not verify unrevoked: ${JSON.stringify(plain.failures)}`);
        const res = verifyImage(input([asInput(bytes)], { trust: t }));
        assert.equal(res.verified, false, `re-encoded envelope verified: ${new TextDecoder().decode(bytes)}`);
        assert.ok(codes(res).includes('SIG_REVOKED'), codes(res).join());
        assert.deepEqual(res.signatures, []);
        return true;
      }),
      { numRuns: 300 },
    );
  });

  it('property: the same revocation never covers a new statement (another signedAt, tag or expiry)', async () => {
    const original = await sigEnvelope([alice]);
    const t = trust({ revocations: revocationsOf(original.bytes, trust()) });
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3600 }), fc.option(fc.constantFrom('v1'), { nil: undefined }), async (seconds, tag) => {
        const fresh = await sigEnvelope([alice], { signedAt: new Date(Date.parse('2026-03-01T11:00:00Z') - seconds * 1000), ...(tag === undefined ? {} : { tag }) });
        const res = verifyImage(input([fresh], { trust: t }));
        assert.equal(res.verified, true, JSON.stringify(res.failures));
      }),
      { numRuns: 40 },
    );
  });

  it('names the key material, not the keyid: a key listed under another keyid stays revoked', async () => {
    const original = await sigEnvelope([alice]);
    // The same public key object with an extra field has another (valid) keyid.
    const alias = PublicKey.fromJSON({ ...alice.publicKey.toJSON(), keyid_hash_algorithms: ['sha256', 'sha512'] });
    assert.notEqual(alias.keyid, alice.keyid);
    assert.equal(keyFingerprint(alias), keyFingerprint(alice.publicKey));
    assert.equal(keyFingerprint(alice.publicKey), alice.keyid, 'for a bare key object the fingerprint is the keyid');
    const aliased = trust({ keys: new Map([[alias.keyid, alias]]), roles: [role('releases', [])].map((r) => ({ ...r, keyids: [alias.keyid] })) });
    assert.equal(verifyImage(input([original], { trust: aliased })).verified, true);
    const revoked = { ...aliased, revocations: revocationsOf(original.bytes, trust()) };
    const res = verifyImage(input([original], { trust: revoked }));
    assert.equal(res.verified, false);
    assert.ok(codes(res).includes('SIG_REVOKED'));
  });

  it('revokes one key of a multi-signed envelope: the other signatures still count', async () => {
    const both = await sigEnvelope([bob, carol], { role: 'ops' });
    const carolOnly = signatureIds(parseEnvelope(both.bytes), trust().keys).filter((s) => s.keyid === carol.keyid);
    assert.equal(carolOnly.length, 1);
    const t = trust({ revocations: [{ digest: DIGEST, signature: { key: carolOnly[0]!.key, pae: carolOnly[0]!.pae }, reason: 'carol leaked' }] });
    const res = verifyImage(input([both], { trust: t, policy: { requiredRoles: { allOf: ['ops'] } } }));
    assert.equal(res.verified, false);
    assert.deepEqual(codes(res).sort(), ['REQUIRED_ROLE_MISSING', 'SIG_REVOKED', 'THRESHOLD_NOT_MET']);
    assert.match(res.failures.find((f) => f.code === 'THRESHOLD_NOT_MET')!.message, /1 of 2/);
  });

  it('a revocation of the whole digest is reported once per envelope, not once per key', async () => {
    const both = await sigEnvelope([bob, carol], { role: 'ops' });
    const res = verifyImage(input([both], { trust: trust({ revocations: [{ digest: DIGEST, reason: 'all' }] }) }));
    assert.deepEqual(codes(res), ['SIG_REVOKED', 'NO_SIGNATURES']);
  });

  it('applies only to its subject digest, and to the role when one is named (regardless of case)', async () => {
    const e = await sigEnvelope([alice]);
    const [id] = signatureIds(parseEnvelope(e.bytes), trust().keys);
    const sig = { key: id!.key, pae: id!.pae };
    const other = trust({ revocations: [{ digest: digestOf('another manifest'), signature: sig, reason: 'x' }] });
    assert.equal(verifyImage(input([e], { trust: other })).verified, true);
    const otherRole = trust({ revocations: [{ digest: DIGEST, role: 'ops', signature: sig, reason: 'x' }] });
    assert.equal(verifyImage(input([e], { trust: otherRole })).verified, true);
    const sameRole = trust({ revocations: [{ digest: DIGEST, role: 'RELEASES', signature: sig, reason: 'x' }] });
    assert.ok(codes(verifyImage(input([e], { trust: sameRole }))).includes('SIG_REVOKED'));
    const byRole = trust({ revocations: [{ digest: DIGEST, role: 'Releases', reason: 'x' }] });
    assert.ok(codes(verifyImage(input([e], { trust: byRole }))).includes('SIG_REVOKED'), 'a role revocation is not escaped by case');
  });

  it('a PAE digest in sha512 matches too; a wrong PAE or another key does not', async () => {
    const e = await sigEnvelope([alice]);
    const env = parseEnvelope(e.bytes);
    const key = keyFingerprint(alice.publicKey);
    const r512 = trust({ revocations: [{ digest: DIGEST, signature: { key, pae: paeDigestOf(env, 'sha512') }, reason: 'x' }] });
    assert.ok(codes(verifyImage(input([e], { trust: r512 }))).includes('SIG_REVOKED'));
    const wrongPae = trust({ revocations: [{ digest: DIGEST, signature: { key, pae: digestOf('other') }, reason: 'x' }] });
    assert.equal(verifyImage(input([e], { trust: wrongPae })).verified, true);
    const wrongKey = trust({ revocations: [{ digest: DIGEST, signature: { key: keyFingerprint(bob.publicKey), pae: paeDigestOf(env) }, reason: 'x' }] });
    assert.equal(verifyImage(input([e], { trust: wrongKey })).verified, true);
  });

  it('legacy envelope-digest entries are still honoured (they can only revoke more)', async () => {
    const e = await sigEnvelope([alice]);
    const t = trust({ revocations: [{ digest: DIGEST, envelope: e.digest, reason: 'old entry' }] });
    assert.ok(codes(verifyImage(input([e], { trust: t }))).includes('SIG_REVOKED'));
  });
});

describe('revocations[] entries in targets metadata', () => {
  const key = 'a'.repeat(64);
  const pae = `sha256:${'b'.repeat(64)}`;

  it('parse and round-trip `signature`, with unknown fields at both levels', () => {
    const json = { digest: DIGEST, reason: 'leaked', signature: { key, pae, note: 'kept' }, custom: [1] };
    const r = RevocationEntry.fromJSON(json, 'revocations[0]');
    assert.deepEqual(r.signature && { key: r.signature.key, pae: r.signature.pae }, { key, pae });
    assert.deepEqual(r.toJSON(), json);
  });

  it('keep parsing the legacy `envelope` field', () => {
    const json = { digest: DIGEST, reason: 'legacy', envelope: DIGEST };
    assert.deepEqual(RevocationEntry.fromJSON(json, 'r').toJSON(), json);
  });

  it('refuse a malformed signature (keyid-like but not hex, bad PAE digest, wrong types)', () => {
    for (const signature of [{ key: 'A'.repeat(64), pae }, { key, pae: 'sha256:xyz' }, { key: 1, pae }, { key }, 'x', null]) {
      assert.throws(() => RevocationEntry.fromJSON({ digest: DIGEST, reason: 'r', signature }, 'r'), (e: any) => e.code === 'METADATA_INVALID', JSON.stringify(signature));
    }
  });

  it('withRevocation writes a signature entry and no envelope field', () => {
    const t = Targets.fromJSON({ _type: 'targets', spec_version: '1.0.31', version: 1, expires: '2030-01-01T00:00:00Z', targets: {} });
    const next = t.withRevocation({ digest: DIGEST, reason: 'r', signature: { key, pae } });
    assert.deepEqual(next.toJSON().revocations, [{ digest: DIGEST, reason: 'r', signature: { key, pae } }]);
  });
});
