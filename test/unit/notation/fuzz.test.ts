// fast-check over the Notation parsers written here (JWS and COSE envelope shape, trust policy,
// the DN parser) and over the verifier with mutated real envelopes: only coded errors, and a
// mutated envelope verifies only if what the signature covers is unchanged.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { OcitrustError } from '../../../lib/errors/index.js';
import { parseJws, parseCose, parseTrustPolicy, verifyEnvelope, loadStore, parseEnvelope, type TargetDescriptor } from '../../../lib/notation/index.js';
import { parseDn } from '../../../lib/notation/x509.js';
import { verifyTimestamp } from '../../../lib/notation/timestamp.js';
import { trustPolicyJson } from '../../helpers/notation.js';

const V = '../shared/vectors/peers/notation-go/';
const RUNS = 200;
const read = (p: string): Uint8Array => new Uint8Array(readFileSync(V + p));

function onlyOurErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof OcitrustError)) assert.fail(`threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
  }
}

/** Byte mutations: flip, overwrite, insert, delete, truncate. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 8 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;
function apply(b: Uint8Array, m: Mutation): Uint8Array {
  const at = b.length === 0 ? 0 : m.at % b.length;
  const out = Array.from(b);
  if (m.kind === 'flip') out[at] = out[at]! ^ (1 << m.bit);
  else if (m.kind === 'set') out[at] = m.byte;
  else if (m.kind === 'insert') out.splice(at, 0, ...m.bytes);
  else if (m.kind === 'delete') out.splice(at, m.n);
  else out.length = at;
  return new Uint8Array(out);
}

describe('Notation parsers under fast-check', () => {
  const jws = read('verifier/testdata/timestamp/sigEnv/jwsWithTimestamp.sig');
  const cose = read('verifier/testdata/timestamp/sigEnv/coseWithTimestamp.sig');

  it('parseJws and parseCose on arbitrary bytes and JSON: only coded errors', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (b) => {
      onlyOurErrors(() => parseJws(b));
      onlyOurErrors(() => parseCose(b));
    }), { numRuns: RUNS });
    fc.assert(fc.property(fc.jsonValue(), (v) => onlyOurErrors(() => parseJws(new TextEncoder().encode(JSON.stringify(v))))), { numRuns: RUNS });
  });

  it('mutated real envelopes: only coded errors from the parsers', () => {
    fc.assert(fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (ms) => {
      onlyOurErrors(() => parseJws(ms.reduce(apply, jws)));
      onlyOurErrors(() => parseCose(ms.reduce(apply, cose)));
    }), { numRuns: RUNS });
  });

  it('a mutated envelope verifies only when what its signature covers is unchanged', async () => {
    const target: TargetDescriptor = { mediaType: 'application/vnd.docker.distribution.manifest.v2+json', digest: 'sha256:c0669ef34cdc14332c0f1ab0c2c01acb91d96014b172f1a76f3a39e63d1f0bda', size: 528 };
    const statement = parseTrustPolicy(trustPolicyJson([{ trustStores: ['ca:valid-trust-store', 'tsa:test-timestamp'] }])).statements[0]!;
    const stores = new Map<string, ReturnType<typeof loadStore>>();
    const store = (t: 'ca' | 'signingAuthority' | 'tsa', n: string) => stores.get(`${t}:${n}`) ?? stores.set(`${t}:${n}`, loadStore(V + 'verifier/testdata/truststore', t, n)).get(`${t}:${n}`)!;
    const now = new Date('2025-12-01T00:00:00Z');
    for (const [orig, mediaType] of [[jws, 'application/jose+json'], [cose, 'application/cose']] as const) {
      const base = parseEnvelope(mediaType, orig);
      await fc.assert(fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (ms) => {
        const b = ms.reduce(apply, orig);
        const v = await verifyEnvelope(b, { mediaType, target, statement, store, now });
        for (const f of v.failures) assert.match(f.code, /^NOTATION_/);
        if (v.verified) {
          const e = parseEnvelope(mediaType, b);
          assert.deepEqual([Buffer.from(e.signingInput), Buffer.from(e.signature)], [Buffer.from(base.signingInput), Buffer.from(base.signature)]);
        }
      }), { numRuns: 60 });
    }
  });

  it('timestamp tokens: mutated tokens never verify over another signature, only coded errors', () => {
    const e = parseEnvelope('application/jose+json', jws);
    const anchors = loadStore(V + 'verifier/testdata/truststore', 'tsa', 'test-timestamp');
    fc.assert(fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (ms) => {
      onlyOurErrors(() => verifyTimestamp(ms.reduce(apply, e.timestamp!), e.signature, anchors));
    }), { numRuns: 100 });
    assert.throws(() => verifyTimestamp(e.timestamp!, new Uint8Array(e.signature.length), anchors), (x: unknown) => x instanceof OcitrustError && x.code === 'NOTATION_TIMESTAMP_INVALID');
  });

  it('parseTrustPolicy and parseDn on arbitrary input: only coded errors / undefined', () => {
    fc.assert(fc.property(fc.jsonValue(), (v) => onlyOurErrors(() => parseTrustPolicy(JSON.stringify({ version: '1.0', trustPolicies: [v] })))), { numRuns: RUNS });
    fc.assert(fc.property(fc.string(), (s) => {
      const r = parseDn(s);
      assert.ok(r === undefined || r instanceof Map);
    }), { numRuns: RUNS });
  });
});
