import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { pae, parseEnvelope, signEnvelope, verifyEnvelope, serializeEnvelope, envelopeToJSON } from '../../../lib/statements/dsse.js';
import { encodeBase64 } from '../../../lib/crypto/base64.js';
import { OcitrustError, isOcitrustError } from '../../../lib/errors/index.js';
import { SeedSigner } from '../../../lib/keys/signer.js';
import type { PublicKey } from '../../../lib/keys/key.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const seed = (n: number) => new Uint8Array(32).fill(n);
const a = new SeedSigner(seed(1));
const b = new SeedSigner(seed(2));
const c = new SeedSigner(seed(3));
const keys = (...s: SeedSigner[]) => new Map<string, PublicKey>(s.map((x) => [x.keyid, x.publicKey]));
const code = (c: string) => (e: unknown) => isOcitrustError(e, c as never);
const T = 'application/vnd.in-toto+json';

describe('DSSE PAE', () => {
  it('matches the DSSE spec example (protocol.md)', () => {
    assert.equal(dec(pae('http://example.com/HelloWorld', enc('hello world'))), 'DSSEv1 29 http://example.com/HelloWorld 11 hello world');
  });
  it('counts bytes, not characters, and handles empty values', () => {
    assert.equal(dec(pae('', new Uint8Array())), 'DSSEv1 0  0 ');
    assert.equal(dec(pae('é', enc('€'))), 'DSSEv1 2 é 3 €');
  });
});

describe('DSSE envelopes', () => {
  it('sign → serialize → parse → verify returns the signing key', async () => {
    const env = await signEnvelope(T, enc('{"a":1}'), [a]);
    const parsed = parseEnvelope(serializeEnvelope(env));
    assert.equal(parsed.payloadType, T);
    assert.deepEqual(parsed.payload, enc('{"a":1}'));
    assert.deepEqual(verifyEnvelope(parsed, keys(a, b)).map((k) => k.keyid), [a.keyid]);
  });

  it('signature is over PAE: changing the payloadType breaks it', async () => {
    const env = await signEnvelope(T, enc('x'), [a]);
    const j = envelopeToJSON(env);
    j.payloadType = 'text/plain';
    assert.deepEqual(verifyEnvelope(parseEnvelope(JSON.stringify(j)), keys(a)), []);
  });

  it('accepts URL-safe and unpadded base64 for payload and sig', async () => {
    const payload = new Uint8Array([0xfb, 0xff, 0xbf, 0x01]); // exercises +/ vs -_
    const env = await signEnvelope(T, payload, [a]);
    const j = envelopeToJSON(env);
    const urlsafe = {
      ...j,
      payload: Buffer.from(payload).toString('base64url'),
      signatures: j.signatures.map((s) => ({ ...s, sig: Buffer.from(env.signatures[0]!.sig).toString('base64url') })),
    };
    assert.ok(urlsafe.payload.includes('-') || urlsafe.payload.includes('_'));
    const parsed = parseEnvelope(JSON.stringify(urlsafe));
    assert.deepEqual(parsed.payload, payload);
    assert.equal(verifyEnvelope(parsed, keys(a)).length, 1);
  });

  it('keyid is only a hint: a wrong or missing hint still finds the key', async () => {
    const env = await signEnvelope(T, enc('x'), [a]);
    const j = envelopeToJSON(env);
    const wrong = { ...j, signatures: [{ keyid: b.keyid, sig: j.signatures[0]!.sig }] };
    assert.deepEqual(verifyEnvelope(parseEnvelope(JSON.stringify(wrong)), keys(a, b)).map((k) => k.keyid), [a.keyid]);
    const none = { ...j, signatures: [{ sig: j.signatures[0]!.sig }] };
    const parsed = parseEnvelope(JSON.stringify(none));
    assert.equal(parsed.signatures[0]!.keyid, '');
    assert.deepEqual(verifyEnvelope(parsed, keys(a, b)).map((k) => k.keyid), [a.keyid]);
  });

  it('a key claiming another keyid gains nothing: what counts is the verifying key', async () => {
    const env = await signEnvelope(T, enc('x'), [c]);
    const j = envelopeToJSON(env);
    j.signatures[0]!.keyid = a.keyid; // c pretends to be a
    assert.deepEqual(verifyEnvelope(parseEnvelope(JSON.stringify(j)), keys(a, b)), []);
  });

  it('the same key signing twice is counted once; distinct keys all count', async () => {
    const env = await signEnvelope(T, enc('x'), [a, b]);
    const j = envelopeToJSON(env);
    const dup = { ...j, signatures: [j.signatures[0]!, j.signatures[0]!, j.signatures[1]!] };
    const got = verifyEnvelope(parseEnvelope(JSON.stringify(dup)), keys(a, b, c)).map((k) => k.keyid);
    assert.deepEqual(got.sort(), [a.keyid, b.keyid].sort());
  });

  it('a valid signature under a duplicate hint is still credited to its real key', async () => {
    const ea = await signEnvelope(T, enc('x'), [a]);
    const eb = await signEnvelope(T, enc('x'), [b]);
    const j = envelopeToJSON(ea);
    j.signatures.push({ keyid: a.keyid, sig: encodeBase64(eb.signatures[0]!.sig) });
    assert.equal(verifyEnvelope(parseEnvelope(JSON.stringify(j)), keys(a, b)).length, 2);
  });

  it('tampered payload verifies with no key', async () => {
    const env = await signEnvelope(T, enc('{"a":1}'), [a]);
    const j = envelopeToJSON(env);
    j.payload = encodeBase64(enc('{"a":2}'));
    assert.deepEqual(verifyEnvelope(parseEnvelope(JSON.stringify(j)), keys(a)), []);
  });

  it('ignores unknown fields', async () => {
    const env = await signEnvelope(T, enc('x'), [a]);
    const j = { ...envelopeToJSON(env), extra: { nested: [1, 2] } };
    (j.signatures[0] as Record<string, unknown>).cert = 'whatever';
    assert.equal(verifyEnvelope(parseEnvelope(JSON.stringify(j)), keys(a)).length, 1);
  });

  const malformed: Array<[string, string, string]> = [
    ['not JSON', '{"payload":', 'JSON_MALFORMED'],
    ['duplicate key', '{"payload":"eA==","payload":"eQ==","payloadType":"t","signatures":[{"sig":"AA=="}]}', 'JSON_DUPLICATE_KEY'],
    ['array', '[]', 'ENVELOPE_MALFORMED'],
    ['missing payload', '{"payloadType":"t","signatures":[{"sig":"AA=="}]}', 'ENVELOPE_MALFORMED'],
    ['payloadType not string', '{"payload":"","payloadType":1,"signatures":[{"sig":"AA=="}]}', 'ENVELOPE_MALFORMED'],
    ['no signatures', '{"payload":"","payloadType":"t","signatures":[]}', 'ENVELOPE_MALFORMED'],
    ['signature not object', '{"payload":"","payloadType":"t","signatures":["AA=="]}', 'ENVELOPE_MALFORMED'],
    ['keyid not string', '{"payload":"","payloadType":"t","signatures":[{"keyid":1,"sig":"AA=="}]}', 'ENVELOPE_MALFORMED'],
    ['empty sig', '{"payload":"","payloadType":"t","signatures":[{"sig":""}]}', 'ENVELOPE_MALFORMED'],
    ['payload bad base64', '{"payload":"e A==","payloadType":"t","signatures":[{"sig":"AA=="}]}', 'BASE64_MALFORMED'],
    ['sig bad base64', '{"payload":"","payloadType":"t","signatures":[{"sig":"A*=="}]}', 'BASE64_MALFORMED'],
    ['invalid UTF-8', '', 'JSON_MALFORMED'],
  ];
  for (const [why, s, want] of malformed) {
    it(`refuses ${why} with ${want}`, () => {
      if (why === 'invalid UTF-8') {
        assert.throws(() => parseEnvelope(new Uint8Array([0x7b, 0xff, 0x7d])), code('JSON_MALFORMED'));
      } else {
        assert.throws(() => parseEnvelope(s), code(want));
      }
    });
  }

  it('bounds envelope size, payload size and signature count (INPUT_TOO_LARGE)', async () => {
    const env = await signEnvelope(T, new Uint8Array(5000), [a]);
    const bytes = serializeEnvelope(env);
    assert.throws(() => parseEnvelope(bytes, { maxEnvelopeBytes: 1000 }), code('INPUT_TOO_LARGE'));
    assert.throws(() => parseEnvelope(bytes, { maxPayloadBytes: 4999 }), code('INPUT_TOO_LARGE'));
    assert.equal(parseEnvelope(bytes, { maxPayloadBytes: 5000 }).payload.length, 5000);
    const j = envelopeToJSON(env);
    const many = { ...j, signatures: Array.from({ length: 17 }, () => j.signatures[0]!) };
    assert.throws(() => parseEnvelope(JSON.stringify(many)), code('INPUT_TOO_LARGE'));
  });

  it('signEnvelope refuses the same signer twice', async () => {
    await assert.rejects(signEnvelope(T, enc('x'), [a, a]), code('INVALID_ARGUMENT'));
  });

  it('bounds the verification attempts spent on unknown signatures', async () => {
    const env = await signEnvelope(T, enc('x'), [c]);
    let calls = 0;
    const spy = (i: number) => ({ keyid: `k${i}`, fingerprint: `f${i}`, verify: () => (calls++, false) }) as unknown as PublicKey;
    const many = new Map<string, PublicKey>(Array.from({ length: 50 }, (_, i) => [`k${i}`, spy(i)]));
    verifyEnvelope(env, many, { maxAttempts: 10 });
    assert.equal(calls, 10);
  });

  it('garbage never throws anything but OcitrustError (property)', () => {
    const field = fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.base64String(), fc.array(fc.anything(), { maxLength: 3 }));
    const sig = fc.record({ keyid: field, sig: fc.oneof(field, fc.base64String()) }, { requiredKeys: [] });
    const doc = fc.oneof(
      fc.string(),
      fc.json(),
      fc.record({ payload: field, payloadType: field, signatures: fc.oneof(field, fc.array(sig, { maxLength: 4 })) }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
    );
    fc.assert(
      fc.property(doc, (s) => {
        try {
          const env = parseEnvelope(s);
          verifyEnvelope(env, keys(a));
        } catch (e) {
          assert.ok(e instanceof OcitrustError, `escaped: ${String(e)}`);
          assert.notEqual(e.code, 'INTERNAL');
        }
      }),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          parseEnvelope(bytes);
        } catch (e) {
          assert.ok(e instanceof OcitrustError, `escaped: ${String(e)}`);
        }
      }),
    );
  });
});
