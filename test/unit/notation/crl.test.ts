// Certificate revocation of Notation signatures through real CRLs: a test CA made with openssl
// issues and revokes code-signing certificates, its CRL (openssl ca -gencrl) is served over
// HTTP on 127.0.0.1, and JWS envelopes signed with those certificates are verified with the
// CRL checker (fetched once, then cached; unreachable → what the policy's revocation action says).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyEnvelope, parseTrustPolicy, loadStore, createCrlChecker, combineVerdicts, type TargetDescriptor } from '../../../lib/notation/index.js';
import { isOcitrustError } from '../../../lib/errors/index.js';
import { makePki, signJws, type TestPki, type Issued } from '../../helpers/notation-pki.js';
import { notationDir } from '../../helpers/notation.js';

const TARGET: TargetDescriptor = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'ab'.repeat(32)}`, size: 1234 };

describe('Notation revocation through CRLs', () => {
  let server: Server;
  let base: string;
  let pki: TestPki;
  let other: TestPki;
  let good: Issued;
  let revoked: Issued;
  let misissued: Issued;
  let noDp: Issued;
  let down: Issued;
  let huge: Issued;
  let hits = 0;
  let store: string;
  before(async () => {
    server = createServer((req, res) => {
      hits++;
      if (req.url === '/root.crl') res.end(Buffer.from(pki.crl()));
      else if (req.url === '/other.crl') res.end(Buffer.from(other.crl()));
      else if (req.url === '/huge.crl') res.end(Buffer.alloc(9 * 1024 * 1024));
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    pki = makePki();
    other = makePki('/C=US/ST=WA/O=someone else');
    good = pki.leaf('good', { crlUrl: `${base}/root.crl` });
    revoked = pki.leaf('revoked', { crlUrl: `${base}/root.crl` });
    misissued = pki.leaf('misissued', { crlUrl: `${base}/other.crl` });
    noDp = pki.leaf('nodp');
    down = pki.leaf('down', { crlUrl: 'http://127.0.0.1:9/root.crl' });
    huge = pki.leaf('huge', { crlUrl: `${base}/huge.crl` });
    pki.revoke(revoked);
    store = notationDir([{ trustStores: ['ca:test'] }], { 'ca:test': [pki.root.der] }).trustStore;
  });
  after(() => server.close());

  const statement = (level = 'strict', override?: Record<string, string>) =>
    parseTrustPolicy(JSON.stringify({ version: '1.0', trustPolicies: [{ name: 'crl', registryScopes: ['*'], signatureVerification: { level, ...(override ? { override } : {}) }, trustStores: ['ca:test'], trustedIdentities: ['*'] }] })).statements[0]!;
  const verify = (signer: Issued, checker = createCrlChecker(), level = 'strict', override?: Record<string, string>) =>
    verifyEnvelope(signJws({ target: TARGET, signer, chain: [pki.root.der] }), { mediaType: 'application/jose+json', target: TARGET, statement: statement(level, override), store: (t, n) => loadStore(store, t, n), now: new Date(), revocation: checker });

  it('a certificate absent from the CRL verifies; the CRL is fetched once and cached', async () => {
    const checker = createCrlChecker();
    const v1 = await verify(good, checker);
    assert.deepEqual([v1.verified, v1.failures], [true, []]);
    const v2 = await verify(good, checker);
    assert.equal(v2.verified, true);
    assert.equal(checker.fetches, 1);
  });

  it('a revoked certificate fails under strict and is logged under permissive', async () => {
    const v = await verify(revoked);
    assert.deepEqual([v.verified, v.failures.map((f) => f.code)], [false, ['NOTATION_CERT_REVOKED']]);
    const p = await verify(revoked, createCrlChecker(), 'permissive');
    assert.deepEqual([p.verified, p.failures.map((f) => [f.code, f.action])], [true, [['NOTATION_CERT_REVOKED', 'log']]]);
  });

  it('an unreachable CRL fails closed under strict: the scheme cannot decide (exit 3)', async () => {
    const v = await verify(down);
    assert.deepEqual([v.verified, v.failures.map((f) => f.code)], [false, ['NOTATION_REVOCATION_UNKNOWN']]);
    assert.throws(() => combineVerdicts([v], []), (e: unknown) => isOcitrustError(e, 'NOTATION_REVOCATION_UNKNOWN'));
    // Beside a revoked signature it still might have counted: still undecided; beside a good one, verified.
    const rev = await verify(revoked);
    assert.throws(() => combineVerdicts([v, rev], []), (e: unknown) => isOcitrustError(e, 'NOTATION_REVOCATION_UNKNOWN'));
    const withGood = combineVerdicts([v, await verify(good)], []);
    assert.deepEqual([withGood.verified, withGood.failures.map((f) => f.code)], [true, ['NOTATION_REVOCATION_UNKNOWN']]);
    const logged = await verify(down, createCrlChecker(), 'strict', { revocation: 'log' });
    assert.equal(logged.verified, true);
    const skipped = await verify(down, createCrlChecker(), 'strict', { revocation: 'skip' });
    assert.deepEqual([skipped.verified, skipped.failures], [true, []]);
  });

  it('a CRL signed by another CA, an oversized CRL, or offline without a cached CRL: unknown', async () => {
    for (const [signer, checker] of [[misissued, createCrlChecker()], [huge, createCrlChecker({ maxCrlBytes: 1024 * 1024 })], [good, createCrlChecker({ offline: true })]] as const) {
      const v = await verify(signer, checker);
      assert.deepEqual([v.verified, v.failures.map((f) => f.code)], [false, ['NOTATION_REVOCATION_UNKNOWN']], signer.name);
    }
  });

  it('a certificate without a CRL distribution point cannot be revoked (notation: non-revokable)', async () => {
    const before = hits;
    const v = await verify(noDp);
    assert.equal(v.verified, true);
    assert.equal(hits, before);
  });

  it('a revocation after the CRL was cached is seen once the cache is cleared', async () => {
    const checker = createCrlChecker();
    const late = pki.leaf('late', { crlUrl: `${base}/root.crl` });
    assert.equal((await verify(late, checker)).verified, true);
    pki.revoke(late);
    assert.equal((await verify(late, checker)).verified, true, 'cached until nextUpdate');
    checker.clear();
    assert.deepEqual((await verify(late, checker)).failures.map((f) => f.code), ['NOTATION_CERT_REVOKED']);
  });
});
