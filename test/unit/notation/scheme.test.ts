// The notation: scheme through the gate (lib/gate), over an in-memory registry with and without
// the referrers API: discovery of Notation signature manifests, their bounds, the statement that
// applies, and the policy revision following the trust store's files.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createGate } from '../../../lib/gate/index.js';
import { loadPolicyFile } from '../../../lib/policy/index.js';
import { parseReference } from '../../../lib/reference.js';
import { digestOf } from '../../../lib/crypto/hash.js';
import { EMPTY_DESCRIPTOR, OCI_MANIFEST, emptyBlob } from '../../../lib/oci/types.js';
import { discoverNotationSignatures } from '../../../lib/notation/index.js';
import { MemoryRegistryClient } from '../../helpers/memory-registry-client.js';
import { makeImage } from '../../helpers/oci-layout.js';
import { makePki, signJws, type Issued, type TestPki } from '../../helpers/notation-pki.js';
import { notationDir, trustPolicyJson } from '../../helpers/notation.js';
import { pushNotationSignature } from '../../helpers/notation-push.js';

const HOST = 'registry.example.com';

describe('the notation: scheme through the gate', () => {
  let pki: TestPki;
  let leaf: Issued;
  let dir: ReturnType<typeof notationDir>;
  let policyFile: string;
  before(() => {
    pki = makePki();
    leaf = pki.leaf('signer');
    dir = notationDir(
      [
        { name: 'skipped', registryScopes: [`${HOST}/skip/app`], level: 'skip', trustStores: [] },
        { name: 'main', registryScopes: [`${HOST}/team/app`], trustStores: ['ca:t'] },
      ],
      { 'ca:t': [pki.root.der] },
    );
    policyFile = join(dir.dir, 'policy.yaml');
    writeFileSync(policyFile, ['version: 1', 'rules:', '  - name: n', `    images: ["${HOST}/**"]`, '    notation: {trustPolicy: trustpolicy.json, trustStore: truststore}', 'unmatched: deny', ''].join('\n'));
  });

  async function image(reg: MemoryRegistryClient, path: string, tag: string) {
    const ref = parseReference(`${HOST}/${path}:${tag}`);
    const img = makeImage();
    for (const b of img.blobs) await reg.pushBlob(ref, b.bytes);
    await reg.putManifest(ref, tag, img.manifest.bytes, img.manifest.mediaType);
    return { ref, subject: { mediaType: img.manifest.mediaType, digest: img.manifest.digest, size: img.manifest.bytes.length } };
  }

  /** A hand-made signature manifest (for shapes notation would not push). */
  async function rawSignature(reg: MemoryRegistryClient, ref: ReturnType<typeof parseReference>, subject: { digest: string; mediaType: string; size: number }, layers: { mediaType: string; bytes: Uint8Array; size?: number }[]) {
    await reg.pushBlob(ref, emptyBlob());
    for (const l of layers) await reg.pushBlob(ref, l.bytes);
    const m = { schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: 'application/vnd.cncf.notary.signature', config: EMPTY_DESCRIPTOR, layers: layers.map((l) => ({ mediaType: l.mediaType, digest: digestOf(l.bytes), size: l.size ?? l.bytes.length })), subject };
    const bytes = new TextEncoder().encode(JSON.stringify(m));
    await reg.putManifest(ref, digestOf(bytes), bytes, OCI_MANIFEST);
  }

  for (const referrersApi of [true, false]) {
    it(`finds and verifies Notation signatures (${referrersApi ? 'referrers API' : 'fallback tag index'})`, async () => {
      const reg = new MemoryRegistryClient({ referrersApi });
      const gate = createGate({ registry: reg, policy: await loadPolicyFile(policyFile), cache: false });
      const { ref, subject } = await image(reg, 'team/app', 'good');
      await pushNotationSignature(reg, ref, subject, signJws({ target: subject, signer: leaf, chain: [pki.root.der] }));
      const a = await gate.check(`${HOST}/team/app:good`);
      assert.deepEqual([a.decision, a.outcome], ['allow', 'verified'], JSON.stringify(a.result.failures));
      assert.deepEqual(a.result.signatures.map((s) => [s.format, s.role, s.identity?.subject]), [['notation', 'notation', 'C=US, ST=WA, O=ocitrust test, CN=signer']]);
      assert.match(a.result.signatures[0]!.keyid, /^sha256:[0-9a-f]{64}$/);
      await image(reg, 'team/app', 'unsigned');
      const b = await gate.check(`${HOST}/team/app:unsigned`);
      assert.deepEqual([b.decision, b.outcome], ['deny', 'failed']);
      assert.ok(b.result.failures.some((f) => f.code === 'NO_SIGNATURES'));
    });
  }

  it('signature manifests of the wrong shape are reported and skipped; a good one still counts', async () => {
    const reg = new MemoryRegistryClient({ referrersApi: true });
    const gate = createGate({ registry: reg, policy: await loadPolicyFile(policyFile), cache: false });
    const { ref, subject } = await image(reg, 'team/app', 'mixed');
    const good = signJws({ target: subject, signer: leaf, chain: [pki.root.der] });
    await rawSignature(reg, ref, subject, [{ mediaType: 'application/jose+json', bytes: good }, { mediaType: 'application/jose+json', bytes: new Uint8Array([1]) }]);
    await rawSignature(reg, ref, subject, [{ mediaType: 'application/octet-stream', bytes: good }]);
    await rawSignature(reg, ref, subject, [{ mediaType: 'application/jose+json', bytes: new Uint8Array([2]), size: 300 * 1024 }]);
    let a = await gate.check(`${HOST}/team/app:mixed`);
    assert.deepEqual([a.decision, a.result.failures.filter((f) => f.code === 'NOTATION_ENVELOPE_INVALID').length], ['deny', 3], JSON.stringify(a.result.failures));
    await pushNotationSignature(reg, ref, subject, good);
    a = await gate.check(`${HOST}/team/app:mixed`);
    assert.equal(a.decision, 'allow');
    assert.equal(a.result.failures.filter((f) => f.code === 'NOTATION_ENVELOPE_INVALID').length, 3, 'the bad ones are still reported');
  });

  it('at most maxSignatures signature manifests are examined', async () => {
    const reg = new MemoryRegistryClient({ referrersApi: true });
    const { ref, subject } = await image(reg, 'team/app', 'many');
    for (let i = 0; i < 3; i++) await pushNotationSignature(reg, ref, subject, signJws({ target: subject, signer: leaf, chain: [pki.root.der], signingTime: new Date(Date.now() - i * 1000) }));
    const d = await discoverNotationSignatures(reg, ref, subject.digest, { maxSignatures: 2 });
    assert.equal(d.signatures.length, 2);
    assert.deepEqual(d.failures.map((f) => f.code), ['SIGNATURE_LIMIT_EXCEEDED']);
  });

  it('no applicable statement cannot decide; level skip allows without verifying', async () => {
    const reg = new MemoryRegistryClient({ referrersApi: true });
    const gate = createGate({ registry: reg, policy: await loadPolicyFile(policyFile), cache: false });
    await image(reg, 'other/app', 'v1');
    const a = await gate.check(`${HOST}/other/app:v1`);
    assert.deepEqual([a.decision, a.outcome, a.code], ['deny', 'inconclusive', 'NOTATION_NO_TRUST_POLICY']);
    await image(reg, 'skip/app', 'v1');
    const s = await gate.check(`${HOST}/skip/app:v1`);
    assert.deepEqual([s.decision, s.result.signatures.length], ['allow', 0]);
  });

  it('the trust policy and every trust store file are part of the policy revision', async () => {
    const before = (await loadPolicyFile(policyFile)).revision;
    writeFileSync(join(dir.trustStore, 'x509', 'ca', 't', 'cert1.pem'), makePki('/C=US/ST=WA/O=second root').root.certPem);
    const afterStore = (await loadPolicyFile(policyFile)).revision;
    assert.notEqual(afterStore, before);
    writeFileSync(dir.trustPolicy, trustPolicyJson([{ trustStores: ['ca:t'] }]));
    assert.notEqual((await loadPolicyFile(policyFile)).revision, afterStore);
  });
});
