// Bad input for the cosign scheme (issue 16 "Done means", last bullet): truncated and oversized
// bundles, certificate chains that loop or are 100 deep, unknown signing schemes, a `.sig` tag
// pointing at an index, oversized payloads and too many layers. Each is a coded catalogue
// error, bounded in work, never a crash and never "verified". Built from the peers' real
// signatures, changed here only to make them bad.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isOcitrustError } from '../../../lib/errors/index.js';
import { digestOf } from '../../../lib/crypto/hash.js';
import { parseReference, withDigest } from '../../../lib/reference.js';
import { OCI_INDEX, OCI_MANIFEST } from '../../../lib/oci/types.js';
import { loadPublicKey, loadTrust, MAX_BUNDLE_BYTES, verifyBundle, verifyCosign, validateCosignConfig, readSimpleSignature } from '../../../lib/cosign/index.js';
import { MemoryRegistryClient } from '../../helpers/memory-registry-client.js';
import { CONFORMANCE, FIXTURES, PUBLIC_GOOD_ROOT, pushCosignSignatures, pushImage, readSignatureFile } from '../../helpers/cosign-artifacts.js';

const NOW = new Date('2026-06-01T00:00:00Z');
const ID = [{ issuer: 'https://token.actions.githubusercontent.com', subject: 'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main' }];
const happy = readFileSync(`${CONFORMANCE}/happy-path-v0.1/bundle.sigstore.json`);
const artifact = readFileSync(`${CONFORMANCE}/a.txt`);
const trust = loadTrust({ trustedRoot: PUBLIC_GOOD_ROOT });
const verify = (bytes: Uint8Array) => verifyBundle(bytes, { bytes: artifact }, trust, { identities: ID }, NOW);

describe('cosign bad input: bundles', () => {
  it('the untouched bundle verifies (the baseline the cases below break)', () => {
    assert.equal(verify(happy).ok, true);
  });

  it('every truncation of a bundle is SIGSTORE_BUNDLE_INVALID', () => {
    for (let n = 0; n < happy.length; n += 97) {
      const v = verify(happy.subarray(0, n));
      assert.deepEqual([v.ok, v.ok ? '' : v.code], [false, 'SIGSTORE_BUNDLE_INVALID'], `truncated at ${n}`);
    }
  });

  it('an oversized bundle is refused before it is parsed', () => {
    const big = Buffer.concat([happy.subarray(0, happy.length - 2), Buffer.from(`,"x":"${'a'.repeat(MAX_BUNDLE_BYTES)}"}`)]);
    const v = verify(big);
    assert.equal(v.ok, false);
    assert.ok(!v.ok && v.code === 'SIGSTORE_BUNDLE_INVALID' && /too large|at most|bytes/i.test(v.message), JSON.stringify(v));
  });

  it('a chain of 100 certificates, or one that repeats its leaf (a loop), is refused unread', () => {
    const doc = JSON.parse(happy.toString('utf8'));
    const certs = doc.verificationMaterial.x509CertificateChain.certificates;
    for (const chain of [Array.from({ length: 100 }, () => certs[0]), [certs[0], certs[1] ?? certs[0], certs[0], certs[1] ?? certs[0]]]) {
      doc.verificationMaterial.x509CertificateChain.certificates = chain;
      const v = verify(Buffer.from(JSON.stringify(doc)));
      assert.equal(v.ok, false);
      assert.ok(!v.ok && ['SIGSTORE_CERTIFICATE_INVALID', 'SIGSTORE_BUNDLE_INVALID'].includes(v.code), JSON.stringify(v));
    }
  });

  it('a DSSE bundle whose payload type is not in-toto cannot be bound to an artifact', () => {
    const doc = JSON.parse(readFileSync(`${CONFORMANCE}/happy-path-intoto-in-dsse-v3/bundle.sigstore.json`, 'utf8'));
    doc.dsseEnvelope.payloadType = 'application/x-unknown';
    const v = verify(Buffer.from(JSON.stringify(doc)));
    assert.deepEqual([v.ok, !v.ok && v.code], [false, 'COSIGN_DIGEST_MISMATCH']);
  });
});

describe('cosign bad input: classic signatures and keys', () => {
  const layer = readSignatureFile(`${FIXTURES}/dir-img-cosign-fulcio-rekor-valid/signature-1`);
  const chainPem = layer.annotations['dev.sigstore.cosign/chain']!;

  it('a chain annotation 100 deep or with a repeated certificate (a loop) is SIGSTORE_CERTIFICATE_INVALID', () => {
    for (const chain of [chainPem.repeat(100), chainPem + chainPem]) {
      const r = readSimpleSignature(layer.payload, { ...layer.annotations, 'dev.sigstore.cosign/chain': chain });
      assert.ok(!('entity' in r) && r.code === 'SIGSTORE_CERTIFICATE_INVALID', JSON.stringify(r));
    }
  });

  it('a signature that is not base64, a payload of another type, and garbage payloads are coded', () => {
    const bad = readSimpleSignature(layer.payload, { ...layer.annotations, 'dev.cosignproject.cosign/signature': '%%%not base64' });
    assert.ok(!('entity' in bad) && bad.code === 'SIGSTORE_SIGNATURE_INVALID');
    const other = readSimpleSignature(Buffer.from('{"critical":{"type":"something else","image":{"docker-manifest-digest":"sha256:' + '0'.repeat(64) + '"}}}'), layer.annotations);
    assert.ok(!('entity' in other) && other.code === 'COSIGN_PAYLOAD_INVALID');
    for (const junk of ['', '{', '[]', 'null', '{"critical":1}']) {
      const r = readSimpleSignature(Buffer.from(junk), layer.annotations);
      assert.ok(!('entity' in r) && r.code === 'COSIGN_PAYLOAD_INVALID', junk);
    }
  });

  it('an unknown signing scheme (a secp256k1 or X25519 key) is refused when the rule is loaded', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ocitrust-cosign-keys-'));
    try {
      for (const [name, pair] of [['k1', generateKeyPairSync('ec', { namedCurve: 'secp256k1' })], ['x25519', generateKeyPairSync('x25519')]] as const) {
        const file = join(dir, `${name}.pub`);
        writeFileSync(file, pair.publicKey.export({ type: 'spki', format: 'pem' }));
        assert.throws(() => loadPublicKey(file), (e: unknown) => isOcitrustError(e, 'COSIGN_TRUST_FILE_INVALID') && e.exitCode === 2);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('policy blocks: keyless without trust, tlog required without log keys, bad regexps are reported with pointers', () => {
    const check = (raw: unknown): string[] => {
      const out: string[] = [];
      validateCosignConfig(raw, '/rules/0/cosign', { add: (p) => out.push(p) });
      return out;
    };
    assert.deepEqual(check({ identities: [{ issuer: 'x', subject: 'y' }] }), ['/rules/0/cosign/identities']);
    assert.deepEqual(check({ identities: [{ issuer: 'x', subject: 'y' }], caCerts: ['ca.pem'] }), ['/rules/0/cosign/requireTlog']);
    assert.deepEqual(check({ identities: [{ issuer: 'x', subjectRegExp: '(' }], trustedRoot: 'r.json' }), ['/rules/0/cosign/identities/0/subjectRegExp']);
    assert.deepEqual(check({ keys: [] }), ['/rules/0/cosign/keys']);
    assert.deepEqual(check({}), ['/rules/0/cosign']);
    assert.deepEqual(check({ keys: ['k.pub'], bogus: 1 }), ['/rules/0/cosign/bogus']);
    assert.deepEqual(check({ keys: ['k.pub'] }), []);
  });
});

describe('cosign bad input: what the registry serves', () => {
  const clock = { now: () => NOW };
  const manifest = readFileSync(`${FIXTURES}/dir-img-cosign-valid/manifest.json`);
  const cfg = validateCosignConfig({ keys: [`${FIXTURES}/cosign.pub`] }, '', { add: () => assert.fail('valid') })!;
  const valid = readSignatureFile(`${FIXTURES}/dir-img-cosign-valid/signature-1`);

  async function world() {
    const reg = new MemoryRegistryClient();
    const ref = parseReference('registry.example.com/app:v1');
    const digest = await pushImage(reg, ref, manifest);
    return { reg, ref, digest, input: { reference: withDigest(ref, digest), digest, registry: reg, clock, env: {} } };
  }

  it('a .sig tag pointing at an index: COSIGN_SIG_NOT_MANIFEST, nothing verified', async () => {
    const { reg, ref, digest, input } = await world();
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] }));
    await reg.putManifest(ref, `${digest.replace(':', '-')}.sig`, index, OCI_INDEX);
    const r = await verifyCosign(cfg, input);
    assert.deepEqual([r.verified, r.failures.map((f) => f.code)], [false, ['COSIGN_SIG_NOT_MANIFEST']]);
  });

  it('an oversized payload layer is refused without fetching it; a good layer beside it still counts', async () => {
    const { reg, ref, digest, input } = await world();
    const huge = { ...valid, payload: Buffer.alloc(70 * 1024, 0x20) };
    await pushCosignSignatures(reg, ref, digest, [huge, valid]);
    const before = reg.calls['getBlob'] ?? 0;
    const r = await verifyCosign(cfg, input);
    assert.equal(r.verified, true);
    assert.deepEqual(r.failures.map((f) => f.code), ['COSIGN_PAYLOAD_INVALID']);
    assert.equal((reg.calls['getBlob'] ?? 0) - before, 1, 'only the small payload was fetched');
  });

  it('a payload blob the registry lost or serves changed is COSIGN_PAYLOAD_INVALID (a verdict, exit 1)', async () => {
    const { reg, ref, digest, input } = await world();
    await pushCosignSignatures(reg, ref, digest, [valid]);
    const blobs = reg.repo(ref).blobs;
    blobs.set(digestOf(valid.payload), Buffer.from('tampered'));
    const changed = await verifyCosign(cfg, input);
    assert.deepEqual([changed.verified, changed.failures.map((f) => f.code)], [false, ['COSIGN_PAYLOAD_INVALID']]);
    assert.match(changed.failures[0]!.message, /BLOB_/);
    blobs.delete(digestOf(valid.payload));
    const lost = await verifyCosign(cfg, input);
    assert.deepEqual([lost.verified, lost.failures.map((f) => f.code)], [false, ['COSIGN_PAYLOAD_INVALID']]);
  });

  it('more layers than maxSignatures: SIGNATURE_LIMIT_EXCEEDED and only the first are examined', async () => {
    const { reg, ref, digest, input } = await world();
    await pushCosignSignatures(reg, ref, digest, Array.from({ length: 300 }, () => valid));
    const r = await verifyCosign(cfg, input);
    assert.equal(r.verified, true);
    assert.equal(r.signatures.length, 256);
    assert.deepEqual([...new Set(r.failures.map((f) => f.code))], ['SIGNATURE_LIMIT_EXCEEDED']);
  });

  it('a bundle referrer that is an index, or has no bundle layer, is coded and not verified', async () => {
    const reg = new MemoryRegistryClient({ referrersApi: true });
    const ref = parseReference('registry.example.com/app:v1');
    const digest = await pushImage(reg, ref, manifest);
    const subject = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: manifest.length };
    const noLayer = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json', config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: digestOf(Buffer.from('{}')), size: 2 }, layers: [], subject }));
    await reg.pushBlob(ref, Buffer.from('{}'));
    await reg.putManifest(ref, digestOf(noLayer), noLayer, OCI_MANIFEST);
    const r = await verifyCosign(cfg, { reference: withDigest(ref, digest), digest, registry: reg, clock, env: {} });
    assert.deepEqual([r.verified, r.failures.map((f) => f.code)], [false, ['SIGSTORE_BUNDLE_INVALID']]);
  });
});

describe('cosign trust files', () => {
  it('Rekor and CT keys may be RSA, ECDSA or Ed25519 PEM files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ocitrust-cosign-logkeys-'));
    try {
      const files = [generateKeyPairSync('rsa', { modulusLength: 2048 }), generateKeyPairSync('ec', { namedCurve: 'P-384' }), generateKeyPairSync('ed25519')].map((pair, i) => {
        const file = join(dir, `log${i}.pub`);
        writeFileSync(file, pair.publicKey.export({ type: 'spki', format: 'pem' }));
        return file;
      });
      const t = loadTrust({ rekorKeys: files, ctKeys: files });
      assert.deepEqual([t.material.tlogs.length, t.material.ctlogs.length, t.hasTlogs, t.hasCtlogs], [3, 3, true, true]);
      assert.deepEqual(t.material.tlogs.map((l) => l.publicKey.asymmetricKeyType), ['rsa', 'ec', 'ed25519']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a trusted root whose CA lacks validFor.start, or that is not JSON, is COSIGN_TRUST_FILE_INVALID', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ocitrust-cosign-roots-'));
    try {
      const root = JSON.parse(readFileSync(PUBLIC_GOOD_ROOT, 'utf8'));
      delete root.certificateAuthorities[0].validFor.start;
      writeFileSync(join(dir, 'a.json'), JSON.stringify(root));
      writeFileSync(join(dir, 'b.json'), '{"mediaType": ');
      for (const f of ['a.json', 'b.json', 'missing.json']) {
        assert.throws(() => loadTrust({ trustedRoot: join(dir, f) }), (e: unknown) => isOcitrustError(e, 'COSIGN_TRUST_FILE_INVALID'), f);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
