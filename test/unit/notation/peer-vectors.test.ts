// Known answers from notation-go's own test data (../shared/vectors/peers/notation-go, README
// section 3): every envelope with an expected verdict, JWS and COSE, both signing schemes, with
// and without RFC 3161 timestamps, verified by the verifier the `notation:` scheme uses
// (lib/notation/verify.ts). "Now" is fixed (2025-12-01) so that the expected expiries hold.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { verifyEnvelope, parseTrustPolicy, loadStore, createCrlChecker, type TargetDescriptor, type EnvelopeVerdict, type RevocationChecker } from '../../../lib/notation/index.js';
import type { StoreType } from '../../../lib/notation/truststore.js';
import { notationDir, type StatementSpec } from '../../helpers/notation.js';

const V = '../shared/vectors/peers/notation-go/';
const NOW = new Date('2025-12-01T00:00:00Z');
const read = (p: string): Uint8Array => new Uint8Array(readFileSync(V + p));
const STORE = V + 'verifier/testdata/truststore';
const JWS = 'application/jose+json';
const COSE = 'application/cose';

const MOCK: TargetDescriptor = { mediaType: 'application/vnd.docker.distribution.manifest.v2+json', digest: 'sha256:60043cf45eaebc4c0867fea485a039b598f52fd09fd5b07b0b2d2f88fad9d74e', size: 528 };
const TS: TargetDescriptor = { mediaType: 'application/vnd.docker.distribution.manifest.v2+json', digest: 'sha256:c0669ef34cdc14332c0f1ab0c2c01acb91d96014b172f1a76f3a39e63d1f0bda', size: 528 };
const META: TargetDescriptor = { mediaType: 'application/vnd.docker.distribution.manifest.v2+json', digest: 'sha256:5a07385af4e6b6af81b0ebfd435aedccdfa3507f0609c658209e1aba57159b2b', size: 942 };
// The signed manifest is in the vectors: its descriptor is computed from the bytes.
const manifest = read('internal/testdata/oci-layout/blobs/sha256/19dbd2e48e921426ee8ace4dc892edfb2ecdc1d1a72d5416c83670c30acecef0');
const ALPINE: TargetDescriptor = {
  mediaType: (JSON.parse(Buffer.from(manifest).toString()) as { mediaType: string }).mediaType,
  digest: `sha256:${createHash('sha256').update(manifest).digest('hex')}`,
  size: manifest.length,
};

/** The first certificate of a JWS or COSE envelope, for the cases trusted by pinning it. */
function leafOf(file: string): Uint8Array {
  const e = JSON.parse(Buffer.from(read(file)).toString()) as { header: { x5c: string[] } };
  return new Uint8Array(Buffer.from(e.header.x5c[0]!, 'base64'));
}

/** A store loader over notation-go's trust store plus pinned stores written to a temp folder. */
function stores(pinned: Record<string, Uint8Array[]> = {}): (type: StoreType, name: string) => ReturnType<typeof loadStore> {
  const dir = notationDir([{ trustStores: ['ca:x'] }], pinned).trustStore;
  return (type, name) => (name.startsWith('pinned') ? loadStore(dir, type, name) : loadStore(STORE, type, name));
}

async function run(file: string, mediaType: string, target: TargetDescriptor, spec: StatementSpec, pinned: Record<string, Uint8Array[]> = {}, revocation?: RevocationChecker): Promise<EnvelopeVerdict> {
  const doc = parseTrustPolicy(JSON.stringify({
    version: '1.0',
    trustPolicies: [{ name: 'kat', registryScopes: ['*'], signatureVerification: { level: spec.level ?? 'strict', ...(spec.override ? { override: spec.override } : {}), ...(spec.verifyTimestamp ? { verifyTimestamp: spec.verifyTimestamp } : {}) }, trustStores: spec.trustStores, trustedIdentities: spec.trustedIdentities ?? ['*'] }],
  }));
  return verifyEnvelope(read(file), { mediaType, target, statement: doc.statements[0]!, store: stores(pinned), now: NOW, ...(revocation ? { revocation } : {}) });
}

const CA = ['ca:valid-trust-store'];
// notation-go's tests put NotationTestRoot.pem in a signingAuthority store built in code.
const SA = { 'signingAuthority:pinned-sa': [read('verifier/testdata/truststore/x509/ca/valid-trust-store/NotationTestRoot.pem')] };
const CA_TSA = ['ca:valid-trust-store', 'tsa:test-timestamp'];
const codes = (v: EnvelopeVerdict): string[] => v.failures.map((f) => f.code);

/** Every vector with its expected verdict (README "Notation"); `code` is the first failure's. */
const CASES: { name: string; file: string; mediaType: string; target: TargetDescriptor; spec: StatementSpec; pinned?: Record<string, Uint8Array[]>; valid: boolean; code?: string | RegExp }[] = [
  { name: 'ca_valid_sig_env: CA scheme, valid', file: 'internal/mock/testdata/ca_valid_sig_env.json', mediaType: JWS, target: MOCK, spec: { trustStores: CA }, valid: true },
  // Its payload's base64url has a trailing "=", which notation-core-go refuses as well.
  { name: 'ca_invalid_sig_env: integrity', file: 'internal/mock/testdata/ca_invalid_sig_env.json', mediaType: JWS, target: MOCK, spec: { trustStores: CA }, valid: false, code: /^NOTATION_(ENVELOPE|SIGNATURE)_INVALID$/ },
  { name: 'ca_expired_sig_env: expired', file: 'internal/mock/testdata/ca_expired_sig_env.json', mediaType: JWS, target: MOCK, spec: { trustStores: CA }, valid: false, code: 'NOTATION_EXPIRED' },
  { name: 'sa_valid_sig_env: signing authority, valid', file: 'internal/mock/testdata/sa_valid_sig_env.json', mediaType: JWS, target: MOCK, spec: { trustStores: ['signingAuthority:pinned-sa'] }, pinned: SA, valid: true },
  { name: 'sa_invalid_sig_env: integrity', file: 'internal/mock/testdata/sa_invalid_sig_env.json', mediaType: JWS, target: MOCK, spec: { trustStores: ['signingAuthority:pinned-sa'] }, pinned: SA, valid: false, code: /^NOTATION_(ENVELOPE|SIGNATURE)_INVALID$/ },
  { name: 'sa_expired_sig_env: expired', file: 'internal/mock/testdata/sa_expired_sig_env.json', mediaType: JWS, target: MOCK, spec: { trustStores: ['signingAuthority:pinned-sa'] }, pinned: SA, valid: false, code: 'NOTATION_EXPIRED' },
  { name: 'ca_plugin_sig_env: plugin-critical attributes refused', file: 'internal/mock/testdata/ca_plugin_sig_env.json', mediaType: JWS, target: MOCK, spec: { trustStores: CA }, valid: false, code: 'NOTATION_CRITICAL_UNKNOWN' },
  { name: 'sig_env_with_metadata: certificate expired, no timestamp', file: 'internal/mock/testdata/sig_env_with_metadata.json', mediaType: JWS, target: META, spec: { trustStores: ['ca:pinned'] }, pinned: { 'ca:pinned': [leafOf('internal/mock/testdata/sig_env_with_metadata.json')] }, valid: false, code: 'NOTATION_TIMESTAMP_INVALID' },
  { name: 'jws_signature.sig over the included manifest', file: 'internal/testdata/jws_signature.sig', mediaType: JWS, target: ALPINE, spec: { trustStores: ['ca:pinned'] }, pinned: { 'ca:pinned': [leafOf('internal/testdata/jws_signature.sig')] }, valid: true },
  { name: 'cose_signature.sig over the included manifest', file: 'internal/testdata/cose_signature.sig', mediaType: COSE, target: ALPINE, spec: { trustStores: ['ca:pinned'] }, pinned: { 'ca:pinned': [leafOf('internal/testdata/jws_signature.sig')] }, valid: true },
  { name: 'withoutTimestamp.sig, no tsa store: valid', file: 'verifier/testdata/timestamp/sigEnv/withoutTimestamp.sig', mediaType: JWS, target: TS, spec: { trustStores: CA }, valid: true },
  { name: 'withoutTimestamp.sig, tsa store: no countersignature', file: 'verifier/testdata/timestamp/sigEnv/withoutTimestamp.sig', mediaType: JWS, target: TS, spec: { trustStores: CA_TSA }, valid: false, code: 'NOTATION_TIMESTAMP_INVALID' },
  { name: 'jwsWithTimestamp.sig: valid with its timestamp', file: 'verifier/testdata/timestamp/sigEnv/jwsWithTimestamp.sig', mediaType: JWS, target: TS, spec: { trustStores: CA_TSA }, valid: true },
  { name: 'coseWithTimestamp.sig: valid with its timestamp', file: 'verifier/testdata/timestamp/sigEnv/coseWithTimestamp.sig', mediaType: COSE, target: TS, spec: { trustStores: CA_TSA }, valid: true },
  { name: 'jwsExpiredWithTimestamp.sig, tsa store: the timestamp proves signing in validity', file: 'verifier/testdata/timestamp/sigEnv/jwsExpiredWithTimestamp.sig', mediaType: JWS, target: TS, spec: { trustStores: ['ca:pinned', 'tsa:test-timestamp'] }, pinned: { 'ca:pinned': [leafOf('verifier/testdata/timestamp/sigEnv/jwsExpiredWithTimestamp.sig')] }, valid: true },
  { name: 'jwsExpiredWithTimestamp.sig, no tsa store: expired certificate', file: 'verifier/testdata/timestamp/sigEnv/jwsExpiredWithTimestamp.sig', mediaType: JWS, target: TS, spec: { trustStores: ['ca:pinned'] }, pinned: { 'ca:pinned': [leafOf('verifier/testdata/timestamp/sigEnv/jwsExpiredWithTimestamp.sig')] }, valid: false, code: 'NOTATION_TIMESTAMP_INVALID' },
  { name: 'timestampBeforeNotBefore.sig: timestamp before the certificate', file: 'verifier/testdata/timestamp/sigEnv/timestampBeforeNotBefore.sig', mediaType: JWS, target: TS, spec: { trustStores: ['ca:pinned', 'tsa:test-timestamp'] }, pinned: { 'ca:pinned': [leafOf('verifier/testdata/timestamp/sigEnv/timestampBeforeNotBefore.sig')] }, valid: false, code: 'NOTATION_TIMESTAMP_INVALID' },
];

describe('notation-go vectors (known answers)', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const v = await run(c.file, c.mediaType, c.target, c.spec, c.pinned);
      assert.equal(v.verified, c.valid, `${c.name}: ${JSON.stringify(v.failures)}`);
      if (c.valid) assert.deepEqual(codes(v), []);
      else if (c.code instanceof RegExp) assert.match(codes(v)[0] ?? '', c.code);
      else assert.equal(codes(v)[0], c.code);
    });
  }
  it(`covers every notation-go envelope with a verdict (${CASES.length} cases)`, () => {
    const files = new Set(CASES.map((c) => c.file));
    assert.equal(files.size, 15);
  });
});

describe('notation-go vectors under other trust policies', () => {
  it('a signing-authority signature is not trusted through a ca store, nor a CA one through signingAuthority', async () => {
    assert.deepEqual(codes(await run('internal/mock/testdata/sa_valid_sig_env.json', JWS, MOCK, { trustStores: CA })), ['NOTATION_UNTRUSTED']);
    assert.deepEqual(codes(await run('internal/mock/testdata/ca_valid_sig_env.json', JWS, MOCK, { trustStores: ['signingAuthority:pinned-sa'] }, SA)), ['NOTATION_UNTRUSTED']);
  });
  it('trustedIdentities: the subject must contain every attribute of one identity', async () => {
    const ok = await run('internal/mock/testdata/ca_valid_sig_env.json', JWS, MOCK, { trustStores: CA, trustedIdentities: ['x509.subject: C=US, ST=WA, O=Notary, CN=Notation Test Root'] });
    assert.equal(ok.verified, true);
    const other = await run('internal/mock/testdata/ca_valid_sig_env.json', JWS, MOCK, { trustStores: CA, trustedIdentities: ['x509.subject: C=US, ST=WA, O=Notary, CN=someone else'] });
    assert.deepEqual(codes(other), ['NOTATION_IDENTITY_MISMATCH']);
  });
  it('permissive logs expiry; audit logs authenticity; integrity is always enforced', async () => {
    const p = await run('internal/mock/testdata/ca_expired_sig_env.json', JWS, MOCK, { trustStores: CA, level: 'permissive' });
    assert.equal(p.verified, true);
    assert.deepEqual(p.failures.map((f) => [f.code, f.action]), [['NOTATION_EXPIRED', 'log']]);
    const a = await run('internal/mock/testdata/sa_valid_sig_env.json', JWS, MOCK, { trustStores: CA, level: 'audit' });
    assert.equal(a.verified, true);
    assert.deepEqual(a.failures.map((f) => [f.code, f.action]), [['NOTATION_UNTRUSTED', 'log']]);
    const i = await run('internal/mock/testdata/ca_invalid_sig_env.json', JWS, MOCK, { trustStores: CA, level: 'audit' });
    assert.equal(i.verified, false);
    const o = await run('internal/mock/testdata/ca_expired_sig_env.json', JWS, MOCK, { trustStores: CA, override: { expiry: 'log' } });
    assert.equal(o.verified, true);
  });
  it('verifyTimestamp afterCertExpiry: a timestamp is required only once a certificate has expired', async () => {
    const unexpired = await run('verifier/testdata/timestamp/sigEnv/withoutTimestamp.sig', JWS, TS, { trustStores: CA_TSA, verifyTimestamp: 'afterCertExpiry' });
    assert.deepEqual([unexpired.verified, codes(unexpired)], [true, []]);
    const pinned = { 'ca:pinned': [leafOf('verifier/testdata/timestamp/sigEnv/jwsExpiredWithTimestamp.sig')] };
    const expired = await run('verifier/testdata/timestamp/sigEnv/jwsExpiredWithTimestamp.sig', JWS, TS, { trustStores: ['ca:pinned', 'tsa:test-timestamp'], verifyTimestamp: 'afterCertExpiry' }, pinned);
    assert.deepEqual([expired.verified, codes(expired)], [true, []]);
  });
  it('a timestamp checked against a tsa store that does not hold its root fails', async () => {
    const v = await run('verifier/testdata/timestamp/sigEnv/jwsWithTimestamp.sig', JWS, TS, { trustStores: ['ca:valid-trust-store', 'tsa:pinned-tsa'] }, { 'tsa:pinned-tsa': [read('verifier/testdata/truststore/x509/ca/valid-trust-store/NotationTestRoot.pem')] });
    assert.deepEqual([v.verified, codes(v)], [false, ['NOTATION_TIMESTAMP_INVALID']]);
  });
  it('the TSA chain is checked for revocation as part of the authentic timestamp', async () => {
    // GlobalSign's TSA certificates name CRLs on the internet: offline, their status is unknown.
    const offline = await run('verifier/testdata/timestamp/sigEnv/jwsWithTimestamp.sig', JWS, TS, { trustStores: CA_TSA }, {}, createCrlChecker({ offline: true }));
    assert.deepEqual([offline.verified, offline.failures.map((f) => [f.code, f.type])], [false, [['NOTATION_REVOCATION_UNKNOWN', 'authenticTimestamp']]]);
    // A checker that answers "revoked" for the TSA (a stand-in: the CRL itself is not in the vectors).
    const revokedTsa: RevocationChecker = { check: async (chain) => (chain[0]!.subject.includes('TSA') ? { status: 'revoked', subject: chain[0]!.subject } : { status: 'ok' }) };
    const r = await run('verifier/testdata/timestamp/sigEnv/jwsWithTimestamp.sig', JWS, TS, { trustStores: CA_TSA }, {}, revokedTsa);
    assert.deepEqual([r.verified, codes(r)], [false, ['NOTATION_TIMESTAMP_INVALID']]);
    assert.match(r.failures[0]!.message, /revoked/);
  });
  it('a signature over another image is refused whatever the level', async () => {
    const other = { ...MOCK, size: 529 };
    const v = await run('internal/mock/testdata/ca_valid_sig_env.json', JWS, other, { trustStores: CA, level: 'audit' });
    assert.deepEqual([v.verified, codes(v)], [false, ['NOTATION_TARGET_MISMATCH']]);
  });
});
