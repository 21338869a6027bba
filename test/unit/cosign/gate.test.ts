// The cosign scheme through the gate (the engine of every face): a cosign-only rule, an
// ocitrust AND cosign rule (both needed), and the schema-1 manifest of the containers/image
// fixtures (its digest cannot be computed as signed: never verified). Real cosign signatures
// over the exact signed manifest bytes; ocitrust signatures made by the test collection.
import { describe, it, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { OcitrustError, isOcitrustError } from '../../../lib/errors/index.js';
import { parseReference } from '../../../lib/reference.js';
import { parsePolicy } from '../../../lib/policy/index.js';
import { signImage } from '../../../lib/usecases/sign.js';
import { parseManifest } from '../../../lib/oci/types.js';
import { createGate, type LocalTrustStore } from '../../../lib/gate/index.js';
import { buildCollection, TEST_TIME, type TestCollection } from '../../helpers/collection.js';
import { MemoryRegistryClient } from '../../helpers/memory-registry-client.js';
import { FIXTURES, pushCosignSignatures, pushImage, readSignatureFile } from '../../helpers/cosign-artifacts.js';

const HOST = 'registry.example.com';
const REPO = `${HOST}/team/app`;

describe('cosign through the gate', () => {
  const clock = { now: () => new Date(Date.parse(TEST_TIME)) };
  let c: TestCollection;
  let reg: MemoryRegistryClient;
  const store = (): LocalTrustStore => {
    const served = (name: string) => {
      const b = c.files.get(name);
      if (!b) throw new OcitrustError('METADATA_NOT_FOUND', `no ${name}`);
      return { body: b };
    };
    return { timestamp: async () => served('timestamp.json'), file: async (_n, role, version) => served(`${version}.${role}.json`) };
  };
  const policy = (rule: string) => parsePolicy(['version: 1', 'rules:', `  - {name: r, images: ["${HOST}/team/*"], collection: ${REPO}, ${rule}}`, 'unmatched: deny', ''].join('\n'));
  const key = (name: string) => resolve(FIXTURES, name);

  /** The fixture manifest under `tag`, cosign-signed, and ocitrust-signed when asked. */
  async function push(tag: string, ours: boolean, repo = REPO): Promise<string> {
    const ref = parseReference(`${repo}:${tag}`);
    const digest = await pushImage(reg, ref, readFileSync(`${FIXTURES}/dir-img-cosign-valid/manifest.json`), undefined, [], tag);
    await pushCosignSignatures(reg, ref, digest, [readSignatureFile(`${FIXTURES}/dir-img-cosign-valid/signature-1`)]);
    if (ours) await signImage({ reference: `${repo}:${tag}`, registry: reg, signer: c.signer('release'), role: 'release', clock });
    return digest;
  }

  beforeEach(async () => {
    c = await buildCollection({ collection: REPO, signers: [{ name: 'release' }] });
    reg = new MemoryRegistryClient({ referrersApi: true });
  });

  it('a cosign-only rule allows the cosign-signed image and reports the signature as cosign', async () => {
    const d = await push('v1', false);
    const gate = createGate({ registry: reg, policy: policy(`cosign: {keys: [${key('cosign.pub')}]}`), localTrust: store(), clock });
    const a = await gate.check(`${REPO}:v1`);
    assert.deepEqual([a.decision, a.outcome, a.digest], ['allow', 'verified', d], JSON.stringify(a.result.failures));
    assert.deepEqual(a.result.signatures.map((s) => s.format), ['cosign']);
    const wrong = createGate({ registry: reg, policy: policy(`cosign: {keys: [${key('cosign2.pub')}]}`), localTrust: store(), clock });
    const b = await wrong.check(`${REPO}:v1`);
    assert.deepEqual([b.decision, b.outcome, b.code], ['deny', 'failed', 'SIGSTORE_KEY_UNTRUSTED']);
  });

  it('ocitrust AND cosign: both signatures needed, each reported with its format', async () => {
    await push('both', true);
    // The same manifest in another repository of the rule: cosign-signed, no ocitrust signature there.
    await push('v1', false, `${HOST}/team/other`);
    const gate = createGate({ registry: reg, policy: policy(`ocitrust: true, cosign: {keys: [${key('cosign.pub')}]}, require: all`), localTrust: store(), clock });
    const a = await gate.check(`${REPO}:both`);
    assert.equal(a.decision, 'allow', JSON.stringify(a.result.failures));
    assert.deepEqual(a.result.signatures.map((s) => s.format ?? 'ocitrust').sort(), ['cosign', 'ocitrust']);
    const b = await gate.check(`${HOST}/team/other:v1`);
    assert.deepEqual([b.decision, b.outcome], ['deny', 'failed']);
    assert.ok(b.result.failures.some((f) => f.code === 'REQUIREMENTS_NOT_MET'), JSON.stringify(b.result.failures));
  });

  it('the schema-1 manifest of the fixtures has no digest to check: refused, never verified', () => {
    assert.throws(() => parseManifest(readFileSync(`${FIXTURES}/v2s1-invalid-signatures.manifest.json`)), (e: unknown) => isOcitrustError(e, 'MANIFEST_UNSUPPORTED'));
  });
});
