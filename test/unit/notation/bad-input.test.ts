// Hostile and broken Notation input: truncated and oversized envelopes, chains that loop or are
// 100 deep, an unknown signing scheme, unknown critical headers, a trust policy with mistakes.
// Every case ends in a coded error or a failed verdict, never in "verified".
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { OcitrustError, isOcitrustError } from '../../../lib/errors/index.js';
import { parseJws, parseCose, parseTrustPolicy, verifyEnvelope, loadStore, notationScheme, type TargetDescriptor } from '../../../lib/notation/index.js';
import { parseSigningChain } from '../../../lib/notation/x509.js';
import { verifyTimestamp } from '../../../lib/notation/timestamp.js';
import { makePki, signCose, signJws, type Issued, type TestPki } from '../../helpers/notation-pki.js';
import { notationDir, trustPolicyJson } from '../../helpers/notation.js';

const V = '../shared/vectors/peers/notation-go/';
const TARGET: TargetDescriptor = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'cd'.repeat(32)}`, size: 99 };

const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    if (e instanceof OcitrustError) return e.code;
    throw e;
  }
  return 'none';
};

describe('Notation bad input', () => {
  let pki: TestPki;
  let leaf: Issued;
  let web: Issued;
  let store: string;
  before(() => {
    pki = makePki();
    leaf = pki.leaf('signer');
    web = pki.leaf('web', { codeSigning: false });
    store = notationDir([{ trustStores: ['ca:t'] }], { 'ca:t': [pki.root.der] }).trustStore;
  });
  const statement = () => parseTrustPolicy(trustPolicyJson([{ trustStores: ['ca:t'] }])).statements[0]!;
  const verify = (env: Uint8Array, mediaType = 'application/jose+json') =>
    verifyEnvelope(env, { mediaType, target: TARGET, statement: statement(), store: (t, n) => loadStore(store, t, n), now: new Date() });
  const firstCode = async (env: Uint8Array, mediaType?: string): Promise<[boolean, string | undefined]> => {
    const v = await verify(env, mediaType);
    return [v.verified, v.failures[0]?.code];
  };

  it('good JWS and COSE envelopes of the test PKI verify (the baseline for what follows)', async () => {
    assert.deepEqual(await firstCode(signJws({ target: TARGET, signer: leaf, chain: [pki.root.der] })), [true, undefined]);
    assert.deepEqual(await firstCode(signCose({ target: TARGET, signer: leaf, chain: [pki.root.der] }), 'application/cose'), [true, undefined]);
    assert.deepEqual(await firstCode(signCose({ target: TARGET, signer: leaf, chain: [pki.root.der], expiry: new Date(Date.now() - 1000) }), 'application/cose'), [false, 'NOTATION_EXPIRED']);
    assert.deepEqual(await firstCode(signCose({ target: TARGET, signer: leaf, chain: [pki.root.der], extra: { 'io.example.x': 1 }, extraCrit: ['io.example.x'] }), 'application/cose'), [false, 'NOTATION_CRITICAL_UNKNOWN']);
    assert.deepEqual(await firstCode(signCose({ target: TARGET, signer: leaf, chain: [pki.root.der], signingScheme: 'notary.other' }), 'application/cose'), [false, 'NOTATION_SIGNING_SCHEME_UNKNOWN']);
  });

  it('truncated JWS and COSE envelopes: coded, never verified', async () => {
    const jws = signJws({ target: TARGET, signer: leaf, chain: [pki.root.der] });
    const cose = new Uint8Array(readFileSync(V + 'internal/testdata/cose_signature.sig'));
    for (const [env, mt] of [[jws, 'application/jose+json'], [cose, 'application/cose']] as const) {
      for (const n of [0, 1, 2, 10, Math.floor(env.length / 2), env.length - 1]) {
        assert.deepEqual(await firstCode(env.subarray(0, n), mt), [false, 'NOTATION_ENVELOPE_INVALID'], `${mt} cut at ${n}`);
      }
    }
  });

  it('a timestamp token of 12 000 nested SEQUENCEs is a coded error, not a crash', () => {
    const levels = 12000;
    const der: number[] = [];
    for (let i = 0; i < levels; i++) {
      const len = (levels - i - 1) * 5;
      der.push(0x30, 0x83, (len >> 16) & 255, (len >> 8) & 255, len & 255);
    }
    const anchors = loadStore(V + 'verifier/testdata/truststore', 'tsa', 'test-timestamp');
    assert.equal(code(() => verifyTimestamp(new Uint8Array(der), new Uint8Array(32), anchors)), 'NOTATION_TIMESTAMP_INVALID');
  });

  it('oversized envelopes are refused before parsing', () => {
    const big = new Uint8Array(300 * 1024).fill(0x20);
    assert.equal(code(() => parseJws(big)), 'NOTATION_ENVELOPE_INVALID');
    assert.equal(code(() => parseCose(big)), 'NOTATION_ENVELOPE_INVALID');
  });

  it('a chain that loops, a chain of 100, a chain of 11 and a broken link are refused', async () => {
    const loop = signJws({ target: TARGET, signer: leaf, chain: [pki.root.der, leaf.der] });
    assert.deepEqual(await firstCode(loop), [false, 'NOTATION_CERT_CHAIN_INVALID']);
    const rootTwice = signJws({ target: TARGET, signer: leaf, chain: [pki.root.der, pki.root.der] });
    assert.deepEqual(await firstCode(rootTwice), [false, 'NOTATION_CERT_CHAIN_INVALID']);
    const deep = signJws({ target: TARGET, signer: leaf, chain: Array.from({ length: 99 }, () => pki.root.der) });
    assert.deepEqual(await firstCode(deep), [false, 'NOTATION_ENVELOPE_INVALID'], 'the parser bounds the chain before any certificate is read');
    const eleven = Array.from({ length: 11 }, (_, i) => new Uint8Array([0x30, i]));
    assert.equal(code(() => parseSigningChain(eleven)), 'NOTATION_CERT_CHAIN_INVALID');
    const other = makePki('/C=US/ST=WA/O=other');
    const broken = signJws({ target: TARGET, signer: leaf, chain: [other.root.der] });
    assert.deepEqual(await firstCode(broken), [false, 'NOTATION_CERT_CHAIN_INVALID']);
    const notCodeSigning = signJws({ target: TARGET, signer: web, chain: [pki.root.der] });
    assert.deepEqual(await firstCode(notCodeSigning), [false, 'NOTATION_CERT_CHAIN_INVALID']);
  });

  it('an unknown signing scheme and unknown critical headers are refused', async () => {
    assert.deepEqual(await firstCode(signJws({ target: TARGET, signer: leaf, chain: [pki.root.der], signingScheme: 'notary.x509.future' })), [false, 'NOTATION_SIGNING_SCHEME_UNKNOWN']);
    assert.deepEqual(await firstCode(signJws({ target: TARGET, signer: leaf, chain: [pki.root.der], extra: { 'io.example.policy': 'x' }, extraCrit: ['io.example.policy'] })), [false, 'NOTATION_CRITICAL_UNKNOWN']);
    // An extended attribute that is not critical is ignored, as the spec says.
    assert.deepEqual(await firstCode(signJws({ target: TARGET, signer: leaf, chain: [pki.root.der], extra: { 'io.example.note': 'x' } })), [true, undefined]);
    // crit naming a header that is not there, or a JWS header, is a malformed envelope.
    assert.deepEqual(await firstCode(signJws({ target: TARGET, signer: leaf, chain: [pki.root.der], extraCrit: ['io.example.absent'] })), [false, 'NOTATION_ENVELOPE_INVALID']);
    assert.deepEqual(await firstCode(signJws({ target: TARGET, signer: leaf, chain: [pki.root.der], extraCrit: ['alg'] })), [false, 'NOTATION_ENVELOPE_INVALID']);
  });

  it('duplicate JSON keys and a payload that is not a Notation descriptor are refused', async () => {
    const env = JSON.parse(Buffer.from(signJws({ target: TARGET, signer: leaf, chain: [pki.root.der] })).toString()) as Record<string, unknown>;
    const dup = new TextEncoder().encode(JSON.stringify(env).replace('{"payload":', '{"signature":"AAAA","payload":'));
    assert.deepEqual(await firstCode(dup), [false, 'NOTATION_ENVELOPE_INVALID']);
    assert.deepEqual(await firstCode(new TextEncoder().encode('[]')), [false, 'NOTATION_ENVELOPE_INVALID']);
    assert.deepEqual(await firstCode(signJws({ target: { ...TARGET, size: -1 }, signer: leaf, chain: [pki.root.der] })), [false, 'NOTATION_ENVELOPE_INVALID']);
    assert.deepEqual(await firstCode(new Uint8Array([1, 2, 3]), 'application/octet-stream'), [false, 'NOTATION_ENVELOPE_INVALID']);
  });

  it('a trust policy with mistakes is refused with every mistake named', () => {
    const bad = JSON.stringify({
      version: '2.0',
      trustPolicies: [
        { name: 'a', registryScopes: ['*', 'x.io/app'], signatureVerification: { level: 'strict', override: { integrity: 'log' } }, trustStores: ['ca:s'], trustedIdentities: ['*'] },
        { name: 'a', registryScopes: ['x.io/app:tag'], signatureVerification: { level: 'skip' }, trustStores: ['ca:s'], trustedIdentities: ['*'] },
        { name: 'c', registryScopes: ['y.io/app'], signatureVerification: { level: 'lenient' }, trustStores: ['x509:s', 'tsa:t'], trustedIdentities: ['x509.subject: CN=only'] },
      ],
    });
    try {
      parseTrustPolicy(bad);
      assert.fail('accepted');
    } catch (e) {
      assert.ok(isOcitrustError(e, 'NOTATION_TRUST_POLICY_INVALID'), String(e));
      const problems = (e.details?.['problems'] as string[]).map((p) => p.split(':')[0]);
      for (const p of ['/version', '/trustPolicies/0/registryScopes', '/trustPolicies/0/signatureVerification/override/integrity', '/trustPolicies/1/registryScopes/0', '/trustPolicies/1', '/trustPolicies/2/signatureVerification/level', '/trustPolicies/2/trustStores/0', '/trustPolicies/2/trustedIdentities/0']) {
        assert.ok(problems.includes(p), `expected a problem at ${p}, got ${problems.join(', ')}`);
      }
    }
    assert.equal(code(() => parseTrustPolicy('{"version": "1.0", "trustPolicies": [')), 'NOTATION_TRUST_POLICY_INVALID');
  });

  it('the notation: rule block is validated with pointers', () => {
    const problems: string[] = [];
    const p = { add: (ptr: string) => void problems.push(ptr) };
    assert.equal(notationScheme.validate({ trustPolicy: 'a.json', extra: 1 }, '/rules/0/notation', p), undefined);
    assert.deepEqual(problems, ['/rules/0/notation/extra', '/rules/0/notation/trustStore']);
    assert.deepEqual(notationScheme.validate({ trustPolicy: 'a.json', trustStore: 'ts' }, '/r', p), { trustPolicy: 'a.json', trustStore: 'ts' });
  });

  it('a trust store that is missing or holds a non-certificate cannot decide (exit 2), never verifies', async () => {
    const broken = notationDir([{ trustStores: ['ca:t'] }], { 'ca:t': [new TextEncoder().encode('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')] }).trustStore;
    const env = signJws({ target: TARGET, signer: leaf, chain: [pki.root.der] });
    for (const root of [broken, '/nonexistent/ocitrust']) {
      await assert.rejects(
        verifyEnvelope(env, { mediaType: 'application/jose+json', target: TARGET, statement: statement(), store: (t, n) => loadStore(root, t, n), now: new Date() }),
        (e: unknown) => isOcitrustError(e, 'NOTATION_TRUST_STORE_INVALID'),
      );
    }
  });
});
