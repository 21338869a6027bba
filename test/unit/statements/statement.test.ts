import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  buildSignatureStatement,
  buildStatement,
  parseStatement,
  statementBytes,
  STATEMENT_TYPE,
  SIGNATURE_PREDICATE_TYPE,
} from '../../../lib/statements/statement.js';
import { OcitrustError, isOcitrustError } from '../../../lib/errors/index.js';

const HEX = 'ab'.repeat(32);
const D = `sha256:${HEX}`;
const code = (c: string) => (e: unknown) => isOcitrustError(e, c as never);
const input = {
  repository: 'registry.example.com/team/app',
  digest: D,
  tag: 'v1.2.3',
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  size: 1234,
  role: 'alice',
  signedAt: new Date('2026-01-02T03:04:05Z'),
  expires: new Date('2027-01-02T03:04:05Z'),
};
const str = (o: unknown) => JSON.stringify(o);

describe('in-toto Statement v1 with the ocitrust signature predicate', () => {
  it('builds the DESIGN §4 statement and serializes it with JCS', () => {
    const st = buildSignatureStatement(input);
    assert.equal(
      new TextDecoder().decode(statementBytes(st)),
      `{"_type":"https://in-toto.io/Statement/v1","predicate":{"expires":"2027-01-02T03:04:05Z","mediaType":"application/vnd.oci.image.manifest.v1+json","role":"alice","signedAt":"2026-01-02T03:04:05Z","size":1234,"tag":"v1.2.3"},"predicateType":"https://ocitrust.dev/signature/v1","subject":[{"digest":{"sha256":"${HEX}"},"name":"registry.example.com/team/app"}]}`,
    );
  });

  it('parses what it builds, typed', () => {
    const st = parseStatement(statementBytes(buildSignatureStatement(input)));
    assert.equal(st.kind, 'signature');
    if (st.kind !== 'signature') return;
    assert.equal(st.signature.role, 'alice');
    assert.equal(st.signature.tag, 'v1.2.3');
    assert.equal(st.signature.size, 1234);
    assert.equal(st.signature.signedAt.toISOString(), '2026-01-02T03:04:05.000Z');
    assert.equal(st.signature.expires?.toISOString(), '2027-01-02T03:04:05.000Z');
    assert.deepEqual(st.subject, [{ name: input.repository, digest: { sha256: HEX } }]);
  });

  it('tag and expires are optional', () => {
    const { tag: _t, expires: _e, ...rest } = input;
    const st = parseStatement(statementBytes(buildSignatureStatement(rest)));
    assert.ok(st.kind === 'signature' && st.signature.tag === undefined && st.signature.expires === undefined);
  });

  it('keeps unknown fields', () => {
    const st = { ...buildSignatureStatement(input), extra: 1 } as Record<string, unknown>;
    (st.predicate as Record<string, unknown>).note = 'hi';
    const p = parseStatement(str(st));
    assert.equal(p.json.extra, 1);
    assert.equal(p.predicate.note, 'hi');
  });

  it('other predicate types come back as attestations through the same code', () => {
    const st = buildStatement([{ name: 'registry.example.com/team/app', digest: { sha256: HEX } }], 'https://spdx.dev/Document', { spdxVersion: 'SPDX-2.3' });
    const p = parseStatement(statementBytes(st));
    assert.equal(p.kind, 'attestation');
    assert.equal(p.predicateType, 'https://spdx.dev/Document');
    assert.equal(p.predicate.spdxVersion, 'SPDX-2.3');
    // attestation without a predicate is allowed by in-toto v1
    const bare = { _type: STATEMENT_TYPE, subject: [{ digest: { sha256: HEX } }], predicateType: 'https://example.com/x' };
    assert.deepEqual(parseStatement(str(bare)).predicate, {});
  });

  it('builder refuses bad input with INVALID_ARGUMENT / INVALID_DIGEST', () => {
    assert.throws(() => buildSignatureStatement({ ...input, tag: 'bad tag' }), code('INVALID_ARGUMENT'));
    assert.throws(() => buildSignatureStatement({ ...input, size: 1.5 }), code('INVALID_ARGUMENT'));
    assert.throws(() => buildSignatureStatement({ ...input, digest: 'sha256:xyz' }), code('INVALID_DIGEST'));
  });

  const good = () => JSON.parse(new TextDecoder().decode(statementBytes(buildSignatureStatement(input))));
  const mutations: Array<[string, (o: any) => void]> = [
    ['wrong _type', (o) => (o._type = 'https://in-toto.io/Statement/v0.1')],
    ['missing subject', (o) => delete o.subject],
    ['empty subject', (o) => (o.subject = [])],
    ['two subjects in a signature', (o) => o.subject.push(o.subject[0])],
    ['subject without name', (o) => delete o.subject[0].name],
    ['subject digest not hex', (o) => (o.subject[0].digest.sha256 = 'XYZ')],
    ['subject digest uppercase', (o) => (o.subject[0].digest.sha256 = HEX.toUpperCase())],
    ['subject digest empty object', (o) => (o.subject[0].digest = {})],
    ['predicateType empty', (o) => (o.predicateType = '')],
    ['predicate not object', (o) => (o.predicate = [])],
    ['predicate missing', (o) => delete o.predicate],
    ['role missing', (o) => delete o.predicate.role],
    ['size negative', (o) => (o.predicate.size = -1)],
    ['size float', (o) => (o.predicate.size = 1.5)],
    ['size string', (o) => (o.predicate.size = '12')],
    ['signedAt fractional', (o) => (o.predicate.signedAt = '2026-01-02T03:04:05.123Z')],
    ['signedAt impossible date', (o) => (o.predicate.signedAt = '2026-02-30T03:04:05Z')],
    ['expires wrong type', (o) => (o.predicate.expires = 5)],
    ['tag invalid', (o) => (o.predicate.tag = '-bad')],
    ['mediaType missing', (o) => delete o.predicate.mediaType],
  ];
  for (const [why, mutate] of mutations) {
    it(`refuses ${why} (STATEMENT_MALFORMED)`, () => {
      const o = good();
      mutate(o);
      assert.throws(() => parseStatement(str(o)), code('STATEMENT_MALFORMED'));
    });
  }

  it('refuses duplicate JSON keys in the payload (JSON_DUPLICATE_KEY)', () => {
    const s = str(good()).replace('"role":"alice"', '"role":"alice","role":"admin"');
    assert.throws(() => parseStatement(s), code('JSON_DUPLICATE_KEY'));
  });

  it('refuses oversized payloads (INPUT_TOO_LARGE)', () => {
    assert.throws(() => parseStatement(str(good()), { maxBytes: 100 }), code('INPUT_TOO_LARGE'));
  });

  it('a "__proto__" digest key stays data', () => {
    const o = good();
    const s = str(o).replace('{"sha256"', '{"__proto__":"x","sha256"');
    const p = parseStatement(s);
    assert.equal(Object.getPrototypeOf(p.subject[0]!.digest), Object.prototype);
    assert.equal(p.subject[0]!.digest['__proto__' as 'x'], 'x');
  });

  it('garbage never throws anything but OcitrustError (property)', () => {
    const v = fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.boolean(), fc.object());
    const doc = fc.oneof(
      fc.string(),
      fc.json(),
      fc.record(
        {
          _type: fc.oneof(v, fc.constant(STATEMENT_TYPE)),
          subject: fc.oneof(v, fc.array(fc.record({ name: v, digest: fc.oneof(v, fc.dictionary(fc.string(), v)) }, { requiredKeys: [] }), { maxLength: 3 })),
          predicateType: fc.oneof(v, fc.constant(SIGNATURE_PREDICATE_TYPE)),
          predicate: fc.oneof(v, fc.record({ role: v, size: v, mediaType: v, signedAt: v, tag: v, expires: v }, { requiredKeys: [] })),
        },
        { requiredKeys: [] },
      ).map(str),
    );
    fc.assert(
      fc.property(doc, (s) => {
        try {
          parseStatement(s);
        } catch (e) {
          assert.ok(e instanceof OcitrustError, `escaped: ${String(e)}`);
          assert.notEqual(e.code, 'INTERNAL');
        }
      }),
      { numRuns: 3000 },
    );
  });
});
