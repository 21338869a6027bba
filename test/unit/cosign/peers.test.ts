// Known-answer tests of the cosign scheme against real signatures made by cosign and captured
// by containers/image, and cosign's OCI attestation bundle (../shared/vectors/peers, README
// there gives each expected verdict). Each case runs through verifyCosign, the verifier the
// gate (and so the CLI, admission and the proxy) uses, over a fake registry holding the
// signed manifest's exact bytes and a cosign-layout `.sig` manifest.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { digestOf } from '../../../lib/crypto/hash.js';
import { parseReference, withDigest } from '../../../lib/reference.js';
import { verifyCosign, validateCosignConfig, type CosignConfig } from '../../../lib/cosign/index.js';
import { readSimpleSignature } from '../../../lib/cosign/simple-signing.js';
import { loadTrust, withIntermediates } from '../../../lib/cosign/trust.js';
import { verifyEntity } from '../../../lib/cosign/verify-entity.js';
import { DOCKER_MANIFEST } from '../../../lib/oci/types.js';
import { MemoryRegistryClient } from '../../helpers/memory-registry-client.js';
import {
  CI, COSIGN_TESTDATA, EMPTY_IMAGE_CONFIG, EMPTY_IMAGE_DIGEST, EMPTY_IMAGE_MANIFEST, FIXTURES,
  pushBundleReferrer, pushCosignSignatures, pushImage, readSignatureFile, type SignatureLayer,
} from '../../helpers/cosign-artifacts.js';

const NOW = new Date('2026-06-01T00:00:00Z');
const clock = { now: () => NOW };

function config(raw: unknown): CosignConfig {
  const problems: string[] = [];
  const c = validateCosignConfig(raw, '/cosign', { add: (p, m) => problems.push(`${p}: ${m}`) });
  assert.deepEqual(problems, []);
  return c!;
}

/** Pushes the fixture manifest and a .sig with `layers`, then verifies `ref` under `raw`. */
async function verifyFixture(opts: { manifest: string; layers: SignatureLayer[]; ref: string; cfg: unknown; referrersApi?: boolean }) {
  const reg = new MemoryRegistryClient({ referrersApi: opts.referrersApi ?? false });
  const bytes = readFileSync(opts.manifest);
  const image = parseReference(opts.ref);
  const digest = await pushImage(reg, image, bytes);
  await pushCosignSignatures(reg, image, digest, opts.layers);
  return verifyCosign(config(opts.cfg), { reference: withDigest(image, digest), digest, registry: reg, clock, env: {} });
}

const sig = (dir: string, n = 1): SignatureLayer => readSignatureFile(`${FIXTURES}/${dir}/signature-${n}`);
const codes = (r: { failures: readonly { code: string }[] }): string[] => r.failures.map((f) => f.code);

describe('cosign KAT: containers/image captures (simple signing)', () => {
  const valid = `${FIXTURES}/dir-img-cosign-valid/manifest.json`;
  const ref = '192.168.64.2:5000/cosign-signed-single-sample:latest';

  it('key-pair signature: valid with cosign.pub, reported with format and key id', async () => {
    const r = await verifyFixture({ manifest: valid, layers: [sig('dir-img-cosign-valid')], ref, cfg: { keys: [`${FIXTURES}/cosign.pub`] } });
    assert.equal(r.verified, true, JSON.stringify(r.failures));
    assert.equal(r.signatures.length, 1);
    assert.equal(r.signatures[0]!.format, 'cosign');
    assert.match(r.signatures[0]!.keyid, /^[0-9a-f]{64}$/);
  });

  it('two valid signatures of the same manifest both count', async () => {
    const r = await verifyFixture({ manifest: valid, layers: [sig('dir-img-cosign-valid'), sig('dir-img-cosign-valid-2', 2)], ref, cfg: { keys: [`${FIXTURES}/cosign.pub`] } });
    assert.equal(r.verified, true);
    assert.equal(r.signatures.length, 2);
  });

  it('cosign2.pub does not verify it: SIGSTORE_KEY_UNTRUSTED, not verified', async () => {
    const r = await verifyFixture({ manifest: valid, layers: [sig('dir-img-cosign-valid')], ref, cfg: { keys: [`${FIXTURES}/cosign2.pub`] } });
    assert.equal(r.verified, false);
    assert.deepEqual(codes(r), ['SIGSTORE_KEY_UNTRUSTED']);
  });

  it('a signature by an unknown key is rejected with both fixture keys', async () => {
    const r = await verifyFixture({ manifest: valid, layers: [readSignatureFile(`${FIXTURES}/unknown-cosign-key.signature`)], ref, cfg: { keys: [`${FIXTURES}/cosign.pub`, `${FIXTURES}/cosign2.pub`] } });
    assert.equal(r.verified, false);
    assert.deepEqual(codes(r), ['SIGSTORE_KEY_UNTRUSTED']);
  });

  it('a good signature over another manifest: COSIGN_DIGEST_MISMATCH', async () => {
    const r = await verifyFixture({ manifest: `${FIXTURES}/dir-img-cosign-modified-manifest/manifest.json`, layers: [sig('dir-img-cosign-valid')], ref, cfg: { keys: [`${FIXTURES}/cosign.pub`] } });
    assert.equal(r.verified, false);
    assert.deepEqual(codes(r), ['COSIGN_DIGEST_MISMATCH']);
  });

  it('an attachment that is not a signature is ignored: the image is unsigned', async () => {
    const r = await verifyFixture({ manifest: valid, layers: [sig('dir-img-cosign-other-attachment')], ref, cfg: { keys: [`${FIXTURES}/cosign.pub`] } });
    assert.equal(r.verified, false);
    assert.deepEqual(codes(r), ['COSIGN_NO_SIGNATURES']);
  });

  it('signed identity with tag: valid for :tag, rejected for :othertag under exact matching', async () => {
    const manifest = `${FIXTURES}/dir-img-cosign-valid-with-tag/manifest.json`;
    const layers = [sig('dir-img-cosign-valid-with-tag')];
    const cfg = { keys: [`${FIXTURES}/cosign.pub`], matchReference: 'exact' };
    const ok = await verifyFixture({ manifest, layers, ref: '192.168.64.2:5000/skopeo-signed:tag', cfg });
    assert.equal(ok.verified, true, JSON.stringify(ok.failures));
    const other = await verifyFixture({ manifest, layers, ref: '192.168.64.2:5000/skopeo-signed:othertag', cfg });
    assert.deepEqual([other.verified, codes(other)], [false, ['COSIGN_REFERENCE_MISMATCH']]);
    const repo = await verifyFixture({ manifest, layers, ref: '192.168.64.2:5000/other:tag', cfg: { ...cfg, matchReference: 'repository' } });
    assert.deepEqual([repo.verified, codes(repo)], [false, ['COSIGN_REFERENCE_MISMATCH']]);
    const ignored = await verifyFixture({ manifest, layers, ref: '192.168.64.2:5000/other:othertag', cfg: { keys: cfg.keys } });
    assert.equal(ignored.verified, true, 'cosign ignores docker-reference by default');
  });

  const keyRekor = `${FIXTURES}/dir-img-cosign-key-rekor-valid`;
  it('key + Rekor SET: valid with cosign2.pub and rekor.pub, time from the log', async () => {
    const r = await verifyFixture({ manifest: `${keyRekor}/manifest.json`, layers: [sig('dir-img-cosign-key-rekor-valid')], ref: '192.168.64.2:5000/cosign-signed/key-1:latest', cfg: { keys: [`${FIXTURES}/cosign2.pub`], rekorKeys: [`${CI}/internal/testdata/rekor.pub`], requireTlog: true } });
    assert.equal(r.verified, true, JSON.stringify(r.failures));
    assert.match(r.signatures[0]!.signedAt, /^20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('key + Rekor: invalid without the SET annotation or with the wrong Rekor key', async () => {
    const layer = sig('dir-img-cosign-key-rekor-valid');
    const noSet = { ...layer, annotations: Object.fromEntries(Object.entries(layer.annotations).filter(([k]) => k !== 'dev.sigstore.cosign/bundle')) };
    const cfg = { keys: [`${FIXTURES}/cosign2.pub`], rekorKeys: [`${CI}/internal/testdata/rekor.pub`], requireTlog: true };
    const a = await verifyFixture({ manifest: `${keyRekor}/manifest.json`, layers: [noSet], ref: '192.168.64.2:5000/cosign-signed/key-1:latest', cfg });
    assert.deepEqual([a.verified, codes(a)], [false, ['SIGSTORE_TLOG_INVALID']]);
    const b = await verifyFixture({ manifest: `${keyRekor}/manifest.json`, layers: [layer], ref: '192.168.64.2:5000/cosign-signed/key-1:latest', cfg: { ...cfg, rekorKeys: [`${FIXTURES}/cosign.pub`] } });
    assert.deepEqual([b.verified, codes(b)], [false, ['SIGSTORE_TLOG_INVALID']]);
  });

  const fulcio = `${FIXTURES}/dir-img-cosign-fulcio-rekor-valid`;
  const keyless = { caCerts: [`${FIXTURES}/fulcio_v1.crt.pem`], rekorKeys: [`${CI}/internal/testdata/rekor.pub`] };
  it('Fulcio + Rekor (keyless): valid for mitr@redhat.com from GitHub, identity reported', async () => {
    const r = await verifyFixture({ manifest: `${fulcio}/manifest.json`, layers: [sig('dir-img-cosign-fulcio-rekor-valid')], ref: '192.168.64.2:5000/cosign-signed/fulcio-rekor-1:latest', cfg: { ...keyless, identities: [{ issuer: 'https://github.com/login/oauth', subject: 'mitr@redhat.com' }] } });
    assert.equal(r.verified, true, JSON.stringify(r.failures));
    assert.deepEqual(r.signatures[0]!.identity, { subject: 'mitr@redhat.com', issuer: 'https://github.com/login/oauth' });
  });

  it('Fulcio + Rekor: another identity or issuer is SIGSTORE_IDENTITY_MISMATCH; a regexp matches the whole subject', async () => {
    const run = (identities: unknown) => verifyFixture({ manifest: `${fulcio}/manifest.json`, layers: [sig('dir-img-cosign-fulcio-rekor-valid')], ref: '192.168.64.2:5000/cosign-signed/fulcio-rekor-1:latest', cfg: { ...keyless, identities } });
    const a = await run([{ issuer: 'https://github.com/login/oauth', subject: 'someone@redhat.com' }]);
    assert.deepEqual([a.verified, codes(a)], [false, ['SIGSTORE_IDENTITY_MISMATCH']]);
    const b = await run([{ issuer: 'https://accounts.google.com', subject: 'mitr@redhat.com' }]);
    assert.deepEqual([b.verified, codes(b)], [false, ['SIGSTORE_IDENTITY_MISMATCH']]);
    assert.equal((await run([{ issuer: 'https://github.com/login/oauth', subjectRegExp: '.*@redhat\\.com' }])).verified, true);
    assert.equal((await run([{ issuer: 'https://github.com/login/oauth', subjectRegExp: 'mitr' }])).verified, false, 'anchored');
  });

  it('Fulcio + Rekor without the chain annotation: the leaf does not reach the Fulcio root (intermediate missing)', async () => {
    const layer = sig('dir-img-cosign-fulcio-rekor-valid');
    const noChain = { ...layer, annotations: Object.fromEntries(Object.entries(layer.annotations).filter(([k]) => k !== 'dev.sigstore.cosign/chain')) };
    const r = await verifyFixture({ manifest: `${fulcio}/manifest.json`, layers: [noChain], ref: '192.168.64.2:5000/cosign-signed/fulcio-rekor-1:latest', cfg: { ...keyless, identities: [{ issuer: 'https://github.com/login/oauth', subject: 'mitr@redhat.com' }] } });
    assert.deepEqual([r.verified, codes(r)], [false, ['SIGSTORE_CERTIFICATE_INVALID']]);
  });

  it('private PKI (RSA-4096, PKCS#1 v1.5), no Rekor: valid with the PKI root and intermediate', async () => {
    const r = await verifyFixture({ manifest: `${FIXTURES}/dir-img-cosign-pki-valid/manifest.json`, layers: [sig('dir-img-cosign-pki-valid')], ref: 'localhost:5000/test:latest', cfg: { caCerts: [`${FIXTURES}/pki_root_crts.pem`, `${FIXTURES}/pki_intermediate_crts.pem`], identities: [{ subject: 'qiwan@redhat.com' }], requireTlog: false } });
    assert.equal(r.verified, true, JSON.stringify(r.failures));
    assert.equal(r.signatures[0]!.identity?.subject, 'qiwan@redhat.com');
    const wrongCa = await verifyFixture({ manifest: `${FIXTURES}/dir-img-cosign-pki-valid/manifest.json`, layers: [sig('dir-img-cosign-pki-valid')], ref: 'localhost:5000/test:latest', cfg: { caCerts: [`${FIXTURES}/fulcio_v1.crt.pem`], identities: [{ subject: 'qiwan@redhat.com' }], requireTlog: false } });
    assert.deepEqual([wrongCa.verified, codes(wrongCa)], [false, ['SIGSTORE_CERTIFICATE_INVALID']]);
  });

  it('the Rekor pieces of internal/testdata (cert, payload, sig, SET) verify with rekor.pub', () => {
    const t = `${CI}/internal/testdata`;
    const chain = sig('dir-img-cosign-fulcio-rekor-valid').annotations['dev.sigstore.cosign/chain']!; // the same public sigstore-intermediate
    const read = readSimpleSignature(readFileSync(`${t}/rekor-payload`), {
      'dev.cosignproject.cosign/signature': readFileSync(`${t}/rekor-sig`, 'utf8').trim(),
      'dev.sigstore.cosign/certificate': readFileSync(`${t}/rekor-cert`, 'utf8'),
      'dev.sigstore.cosign/chain': chain,
      'dev.sigstore.cosign/bundle': readFileSync(`${t}/rekor-set`, 'utf8'),
    });
    assert.ok('entity' in read, JSON.stringify(read));
    assert.match(read.manifestDigest, /^sha256:fa93b016/);
    const trust = withIntermediates(loadTrust({ caCerts: [`${FIXTURES}/fulcio_v1.crt.pem`], rekorKeys: [`${t}/rekor.pub`] }), read.chain);
    const v = verifyEntity(read.entity, trust, { identities: [{ subjectRegExp: '.+' }] }, NOW);
    assert.equal(v.ok, true, JSON.stringify(v));
  });
});

describe('cosign KAT: cosign\'s OCI attestation bundle (v0.3, DSSE, keyless, Rekor dsse entry)', () => {
  const bundle = readFileSync(`${COSIGN_TESTDATA}/oci-attestation.sigstore.json`);
  const cfg = { trustedRoot: `${COSIGN_TESTDATA}/trusted_root_pgi.json`, identities: [{ issuer: 'https://github.com/login/oauth', subject: 'cody@soyland.com' }] };
  for (const referrersApi of [true, false]) {
    it(`valid for go-containerregistry's empty image (reproduced byte for byte), ${referrersApi ? 'referrers API' : 'fallback index'}`, async () => {
      const reg = new MemoryRegistryClient({ referrersApi });
      const image = parseReference('registry.example.com/empty:latest');
      assert.equal(digestOf(EMPTY_IMAGE_MANIFEST), EMPTY_IMAGE_DIGEST);
      const digest = await pushImage(reg, image, EMPTY_IMAGE_MANIFEST, DOCKER_MANIFEST, [EMPTY_IMAGE_CONFIG]);
      await pushBundleReferrer(reg, image, { digest, size: EMPTY_IMAGE_MANIFEST.length, mediaType: DOCKER_MANIFEST }, bundle);
      const r = await verifyCosign(config(cfg), { reference: withDigest(image, digest), digest, registry: reg, clock, env: {} });
      assert.equal(r.verified, true, JSON.stringify(r.failures));
      assert.deepEqual(r.signatures.map((s) => [s.format, s.identity?.subject, s.signedAt]), [['sigstore-bundle', 'cody@soyland.com', '2025-02-28T19:18:11Z']]);
    });
  }

  it('rejected for a different image (the statement names another digest)', async () => {
    const reg = new MemoryRegistryClient({ referrersApi: true });
    const image = parseReference('registry.example.com/other:latest');
    const manifest = readFileSync(`${FIXTURES}/dir-img-cosign-valid/manifest.json`);
    const digest = await pushImage(reg, image, manifest, DOCKER_MANIFEST);
    await pushBundleReferrer(reg, image, { digest, size: manifest.length, mediaType: DOCKER_MANIFEST }, bundle);
    const r = await verifyCosign(config(cfg), { reference: withDigest(image, digest), digest, registry: reg, clock, env: {} });
    assert.deepEqual([r.verified, codes(r)], [false, ['COSIGN_DIGEST_MISMATCH']]);
  });
});
