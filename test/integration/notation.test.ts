// Notation signatures in real registries, decided by policy (issue 16): images pushed to
// Debian's docker-registry (no referrers API: notation's fallback tag index) and to ocitrust's
// embedded registry (referrers API), each with Notation signature manifests whose JWS envelopes
// were signed with a real openssl test PKI over the pushed manifests. A `notation:` rule names
// a Notation trust policy and trust store; the library gate, `trust verify` (the shipped
// bundle), the validating admission webhook and the verifying proxy (a trust server with the
// proxy plugin in front of each registry: 200 or 403) decide every image the same way.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createGate, type Gate } from '../../lib/gate/index.js';
import { loadPolicyFile } from '../../lib/policy/index.js';
import { HttpRegistryClient } from '../../lib/oci/client.js';
import { anonymous } from '../../lib/oci/credentials.js';
import { parseReference } from '../../lib/reference.js';
import { startDistribution, type Distribution } from '../helpers/distribution.js';
import { startEmbeddedRegistry, type EmbeddedRegistry } from '../helpers/embedded-registry.js';
import { makeImage, makeIndex } from '../helpers/oci-layout.js';
import { CliSession } from '../helpers/cli.js';
import { testApp } from '../helpers/trust-server.js';
import { podReview } from '../helpers/admission-review.js';
import { proxyFace } from '../helpers/faces.js';
import { startProxyServer, type ProxyServer } from '../helpers/proxy.js';
import { closedPort } from '../helpers/faces-world.js';
import { makePki, signCose, signJws, thumbprints, type Issued, type TestPki } from '../helpers/notation-pki.js';
import { notationDir } from '../helpers/notation.js';
import { pushNotationSignature } from '../helpers/notation-push.js';

type Expect = { decision: 'allow' | 'deny' | 'undecided'; code?: string };

describe('Notation signatures decided by policy in every face', { timeout: 300_000 }, () => {
  let dist: Distribution;
  let embedded: EmbeddedRegistry;
  let crlServer: Server;
  let pki: TestPki;
  let stranger: TestPki;
  let good: Issued;
  let revoked: Issued;
  let alien: Issued;
  let unreachable: Issued;
  let client: HttpRegistryClient;
  let policyFile: string;
  let gate: Gate;
  let admission: Awaited<ReturnType<typeof testApp>>;
  let cli: CliSession;
  let proxies: Record<string, ProxyServer> = {};
  const cases: { image: string; expect: Expect; registry: string }[] = [];
  /** Per registry: a signed multi-architecture index (notation signs the index) and its children's digests. */
  const indexes: { registry: string; host: string; children: string[] }[] = [];

  async function push(host: string, path: string, tag: string): Promise<{ mediaType: string; digest: string; size: number }> {
    const img = makeImage();
    const ref = parseReference(`${host}/${path}:${tag}`);
    for (const b of img.blobs) await client.pushBlob(ref, b.bytes);
    await client.putManifest(ref, tag, img.manifest.bytes, img.manifest.mediaType);
    return { mediaType: img.manifest.mediaType, digest: img.manifest.digest, size: img.manifest.bytes.length };
  }

  async function signed(host: string, path: string, tag: string, signer: Issued, root: Uint8Array, o: { expiry?: Date; target?: { mediaType: string; digest: string; size: number }; cose?: boolean; signingScheme?: string } = {}) {
    const subject = await push(host, path, tag);
    const spec = { target: o.target ?? subject, signer, chain: [root], ...(o.expiry ? { expiry: o.expiry } : {}), ...(o.signingScheme ? { signingScheme: o.signingScheme } : {}) };
    const env = o.cose ? signCose(spec) : signJws(spec);
    const r = await pushNotationSignature(client, parseReference(`${host}/${path}`), subject, env, { thumbprints: thumbprints([signer.der, root]), ...(o.cose ? { mediaType: 'application/cose' } : {}) });
    return { subject, api: r.api };
  }

  before(async () => {
    crlServer = createServer((req, res) => (req.url === '/root.crl' ? res.end(Buffer.from(pki.crl())) : res.writeHead(404).end()));
    await new Promise<void>((r) => crlServer.listen(0, '127.0.0.1', r));
    const crlUrl = `http://127.0.0.1:${(crlServer.address() as AddressInfo).port}/root.crl`;
    pki = makePki();
    stranger = makePki('/C=US/ST=WA/O=stranger');
    good = pki.leaf('release', { crlUrl });
    revoked = pki.leaf('leaked', { crlUrl });
    pki.revoke(revoked);
    unreachable = pki.leaf('unreachable', { crlUrl: `http://127.0.0.1:${await closedPort()}/root.crl` });
    alien = stranger.leaf('alien', { crlUrl });
    dist = await startDistribution();
    embedded = await startEmbeddedRegistry();
    client = new HttpRegistryClient({ credentials: anonymous, retry: { maxAttempts: 2 } });
    const hosts = [dist.host, embedded.host];
    const n = notationDir(
      [
        { name: 'audit', registryScopes: hosts.map((h) => `${h}/audit/app`), level: 'audit', trustStores: ['ca:partner'], trustedIdentities: ['*'] },
        { name: 'partner', registryScopes: ['*'], trustStores: ['ca:partner', 'signingAuthority:partner'], trustedIdentities: ['x509.subject: C=US, ST=WA, O=ocitrust test, CN=release', 'x509.subject: C=US, ST=WA, O=ocitrust test, CN=leaked', 'x509.subject: C=US, ST=WA, O=ocitrust test, CN=unreachable'] },
      ],
      { 'ca:partner': [pki.root.der], 'signingAuthority:partner': [pki.root.der] },
    );
    policyFile = join(n.dir, 'policy.yaml');
    writeFileSync(
      policyFile,
      ['version: 1', 'rules:', ...hosts.flatMap((h, i) => [`  - name: partner${i}`, `    images: ["${h}/**"]`, '    notation: {trustPolicy: trustpolicy.json, trustStore: truststore}']), 'unmatched: deny', ''].join('\n'),
    );
    for (const host of hosts) {
      const via = host === dist.host ? 'docker-registry' : 'embedded';
      const s = await signed(host, 'partner/app', 'signed', good, pki.root.der);
      assert.equal(s.api, host === embedded.host, `${via}: referrers API ${host === embedded.host ? 'expected' : 'not expected'}`);
      cases.push({ registry: via, image: `${host}/partner/app:signed`, expect: { decision: 'allow' } });
      await signed(host, 'partner/app', 'cose', good, pki.root.der, { cose: true });
      cases.push({ registry: via, image: `${host}/partner/app:cose`, expect: { decision: 'allow' } });
      await signed(host, 'partner/app', 'authority', good, pki.root.der, { signingScheme: 'notary.x509.signingAuthority' });
      cases.push({ registry: via, image: `${host}/partner/app:authority`, expect: { decision: 'allow' } });
      await push(host, 'partner/app', 'unsigned');
      cases.push({ registry: via, image: `${host}/partner/app:unsigned`, expect: { decision: 'deny', code: 'NO_SIGNATURES' } });
      await signed(host, 'partner/app', 'revoked', revoked, pki.root.der);
      cases.push({ registry: via, image: `${host}/partner/app:revoked`, expect: { decision: 'deny', code: 'NOTATION_CERT_REVOKED' } });
      await signed(host, 'partner/app', 'stranger', alien, stranger.root.der);
      cases.push({ registry: via, image: `${host}/partner/app:stranger`, expect: { decision: 'deny', code: 'NOTATION_UNTRUSTED' } });
      await signed(host, 'partner/app', 'expired', good, pki.root.der, { expiry: new Date(Date.now() - 3600_000) });
      cases.push({ registry: via, image: `${host}/partner/app:expired`, expect: { decision: 'deny', code: 'NOTATION_EXPIRED' } });
      // A good signature of the signed image attached to another image: the payload decides.
      await signed(host, 'partner/app', 'swapped', good, pki.root.der, { target: s.subject });
      cases.push({ registry: via, image: `${host}/partner/app:swapped`, expect: { decision: 'deny', code: 'NOTATION_TARGET_MISMATCH' } });
      await signed(host, 'partner/app', 'crl-down', unreachable, pki.root.der);
      cases.push({ registry: via, image: `${host}/partner/app:crl-down`, expect: { decision: 'undecided', code: 'NOTATION_REVOCATION_UNKNOWN' } });
      // A multi-architecture image: the signature is on the index only, as `notation sign image:tag` makes it.
      const idx = makeIndex();
      const idxRef = parseReference(`${host}/partner/multi:v1`);
      for (const im of idx.images) {
        for (const b of im.blobs) await client.pushBlob(idxRef, b.bytes);
        await client.putManifest(idxRef, im.manifest.digest, im.manifest.bytes, im.manifest.mediaType);
      }
      await client.putManifest(idxRef, 'v1', idx.index.bytes, idx.index.mediaType);
      const idxSubject = { mediaType: idx.index.mediaType, digest: idx.index.digest, size: idx.index.size };
      await pushNotationSignature(client, parseReference(`${host}/partner/multi`), idxSubject, signJws({ target: idxSubject, signer: good, chain: [pki.root.der] }), { thumbprints: thumbprints([good.der, pki.root.der]) });
      indexes.push({ registry: via, host, children: idx.images.map((im) => im.manifest.digest) });
      // Level audit: authenticity is logged, not enforced.
      await signed(host, 'audit/app', 'stranger', alien, stranger.root.der);
      cases.push({ registry: via, image: `${host}/audit/app:stranger`, expect: { decision: 'allow' } });
    }
    gate = createGate({ registry: client, policy: await loadPolicyFile(policyFile), cache: false });
    admission = await testApp({ admission: { policy: policyFile } });
    cli = new CliSession();
    const policy = await loadPolicyFile(policyFile);
    proxies = { 'docker-registry': await startProxyServer({ upstream: dist.url, policy }), embedded: await startProxyServer({ upstream: embedded.url, policy }) };
  });

  after(async () => {
    for (const p of Object.values(proxies)) await p.close();
    await admission?.close();
    cli?.cleanup();
    await dist?.stop();
    await embedded?.close();
    crlServer?.close();
  });

  it('the library gate', async () => {
    assert.equal(cases.length, 20, 'ten images on each registry');
    for (const c of cases) {
      const a = await gate.check(c.image);
      const got = a.decision === 'allow' ? 'allow' : a.outcome === 'inconclusive' ? 'undecided' : a.decision;
      const codes = [a.code, ...a.result.failures.map((f) => f.code)];
      assert.equal(got, c.expect.decision, `${c.registry} ${c.image}: ${JSON.stringify(a.result.failures)} ${a.error?.message ?? ''}`);
      if (c.expect.code) assert.ok(codes.includes(c.expect.code), `${c.image}: expected ${c.expect.code}, got ${codes.join(', ')}`);
      if (c.expect.decision === 'allow' && c.image.includes('partner/app:signed')) {
        assert.deepEqual(a.result.signatures.map((s) => [s.format, s.identity?.subject]), [['notation', 'C=US, ST=WA, O=ocitrust test, CN=release']]);
      }
    }
  });

  it('trust verify -o json (the shipped bundle)', async () => {
    for (const c of cases) {
      const run = await cli.run(['verify', '-o', 'json', '--policy', policyFile, c.image], { dist: true, timeoutMs: 90_000 });
      const exit = { allow: 0, deny: 1, undecided: 3 }[c.expect.decision];
      assert.equal(run.code, exit, `${c.registry} ${c.image}: ${run.stdout.slice(0, 600)} ${run.stderr.slice(0, 300)}`);
      if (c.expect.code) assert.match(run.stdout + run.stderr, new RegExp(c.expect.code), c.image);
    }
  });

  it('trust verify --offline fetches no CRL: a certificate with a CRL distribution point cannot be decided', async () => {
    const signedImage = cases.find((c) => c.image.endsWith('partner/app:signed'))!.image;
    const run = await cli.run(['verify', '-o', 'json', '--offline', '--policy', policyFile, signedImage], { dist: true, timeoutMs: 90_000 });
    assert.equal(run.code, 3, run.stdout.slice(0, 600));
    assert.match(run.stdout, /NOTATION_REVOCATION_UNKNOWN/);
  });

  it('the validating admission webhook', async () => {
    for (const c of cases) {
      const r = await admission.app.inject({ method: 'POST', url: '/admission/validate', payload: podReview({ namespace: 'prod', images: [c.image] }) });
      assert.equal(r.statusCode, 200, r.body);
      const response = r.json().response as { allowed: boolean; status?: { message?: string } };
      assert.equal(response.allowed, c.expect.decision === 'allow', `${c.registry} ${c.image}: ${r.body.slice(0, 600)}`);
      if (c.expect.code) assert.match(String(response.status?.message), new RegExp(c.expect.code), c.image);
    }
  });

  it('the verifying proxy (200, or 403 naming the code)', async () => {
    for (const c of cases) {
      const o = await proxyFace(proxies[c.registry]!.url, c.image);
      assert.equal(o.decision, c.expect.decision, `${c.registry} ${c.image}: ${o.raw}`);
      if (c.expect.code) assert.deepEqual(o.codes, [c.expect.code], `${c.image}: ${o.raw}`);
    }
  });

  it('the verifying proxy serves the children of a signed index by digest, as a client pulling the index asks them', async () => {
    assert.equal(indexes.length, 2);
    for (const x of indexes) {
      const url = proxies[x.registry]!.url;
      const first = await proxyFace(url, `${x.host}/partner/multi@${x.children[0]}`);
      assert.deepEqual([first.decision, first.codes], ['deny', ['NO_SIGNATURES']], `${x.registry}: a child alone is not signed: ${first.raw}`);
      const index = await proxyFace(url, `${x.host}/partner/multi:v1`);
      assert.equal(index.decision, 'allow', `${x.registry}: ${index.raw}`);
      for (const d of x.children) {
        const child = await proxyFace(url, `${x.host}/partner/multi@${d}`);
        assert.equal(child.decision, 'allow', `${x.registry} child ${d}: ${child.raw}`);
      }
    }
  });
});
