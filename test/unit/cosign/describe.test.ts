// What `trust inspect` lists of cosign artifacts (lib/cosign/describe.ts): each `.sig` layer and
// bundle referrer with its format and the signer it claims, unverified; unreadable ones say why.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseReference } from '../../../lib/reference.js';
import { DOCKER_MANIFEST } from '../../../lib/oci/types.js';
import { findCosignSignatures } from '../../../lib/cosign/describe.js';
import { MemoryRegistryClient } from '../../helpers/memory-registry-client.js';
import { COSIGN_TESTDATA, EMPTY_IMAGE_CONFIG, EMPTY_IMAGE_MANIFEST, FIXTURES, pushBundleReferrer, pushCosignSignatures, pushImage, readSignatureFile } from '../../helpers/cosign-artifacts.js';

describe('findCosignSignatures (trust inspect)', () => {
  it('lists a keyless .sig layer, a key-signed one and a bundle referrer with their claimed signers', async () => {
    const reg = new MemoryRegistryClient({ referrersApi: true });
    const ref = parseReference('registry.example.com/empty:v1');
    const digest = await pushImage(reg, ref, EMPTY_IMAGE_MANIFEST, DOCKER_MANIFEST, [EMPTY_IMAGE_CONFIG]);
    await pushCosignSignatures(reg, ref, digest, [
      readSignatureFile(`${FIXTURES}/dir-img-cosign-fulcio-rekor-valid/signature-1`),
      readSignatureFile(`${FIXTURES}/dir-img-cosign-valid/signature-1`),
      readSignatureFile(`${FIXTURES}/dir-img-cosign-other-attachment/signature-1`),
    ]);
    await pushBundleReferrer(reg, ref, { digest, size: EMPTY_IMAGE_MANIFEST.length, mediaType: DOCKER_MANIFEST }, readFileSync(`${COSIGN_TESTDATA}/oci-attestation.sigstore.json`));
    await pushBundleReferrer(reg, ref, { digest, size: EMPTY_IMAGE_MANIFEST.length, mediaType: DOCKER_MANIFEST }, Buffer.from('{"mediaType": "truncated'));
    const found = await findCosignSignatures(reg, ref, digest);
    const shown = found.map((f) => [f.format, f.identity?.subject ?? null, f.identity?.issuer ?? null, f.loggedAt ?? null, f.problem === undefined ? null : 'problem']);
    assert.deepEqual(shown.slice(0, 2), [
      ['cosign', 'mitr@redhat.com', 'https://github.com/login/oauth', shown[0]![3], null],
      ['cosign', null, null, null, null],
    ]);
    assert.match(String(shown[0]![3]), /^2023-01-20T/);
    assert.deepEqual(shown.slice(2).sort(), [
      ['sigstore-bundle', 'cody@soyland.com', 'https://github.com/login/oauth', '2025-02-28T19:18:11Z', null],
      ['sigstore-bundle', null, null, null, 'problem'],
    ].sort());
  });
});
