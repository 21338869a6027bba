// Issue 13: an envelope's digest is compared with the digest the REGISTRY named for it, through
// the real pipeline (a registry over HTTP with the referrers API, HttpRegistryClient, the gate):
// the referrers listing carries the envelope copy and the `dev.ocitrust.envelope.digest`
// annotation; when the bytes served do not hash to the digest named, the envelope is not
// counted (ENVELOPE_DIGEST_MISMATCH), although its signature would verify. And each envelope
// is hashed, parsed and verified once per image, however often the pipeline runs the checks.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OcitrustError } from '../../lib/errors/index.js';
import { HttpRegistryClient } from '../../lib/oci/client.js';
import { anonymous } from '../../lib/oci/credentials.js';
import { buildSignatureManifest } from '../../lib/oci/signature-artifact.js';
import { ENVELOPE_ANNOTATION, ENVELOPE_DIGEST_ANNOTATION, OCI_MANIFEST, SIGNATURE_ARTIFACT_TYPE, emptyBlob } from '../../lib/oci/types.js';
import { parseReference } from '../../lib/reference.js';
import { signImage } from '../../lib/usecases/sign.js';
import { createGate, type LocalTrustStore } from '../../lib/gate/index.js';
import { buildCollection, type TestCollection } from '../helpers/collection.js';
import { startEmbeddedRegistry, type EmbeddedRegistry } from '../helpers/embedded-registry.js';
import { MemoryRegistryClient } from '../helpers/memory-registry-client.js';
import { makeImage } from '../helpers/oci-layout.js';

function store(c: TestCollection): LocalTrustStore {
  const served = (name: string) => {
    const b = c.files.get(name);
    if (!b) throw new OcitrustError('METADATA_NOT_FOUND', `no ${name}`);
    return { body: b };
  };
  return { timestamp: async () => served('timestamp.json'), file: async (_n, role, version) => served(`${version}.${role}.json`) };
}

describe('envelope digests through the real pipeline (issue 13)', () => {
  let reg: EmbeddedRegistry;
  let client: HttpRegistryClient;

  before(async () => {
    reg = await startEmbeddedRegistry();
    client = new HttpRegistryClient({ plainHttp: [reg.host], credentials: anonymous });
  });
  after(async () => {
    await reg?.close();
  });

  /** Pushes a new image to `path`:v1 and signs it (in a scratch registry): its valid envelope. */
  async function imageAndEnvelope(c: TestCollection, path: string): Promise<{ subject: { mediaType: string; digest: string; size: number }; envelope: Uint8Array }> {
    const ref = parseReference(`${reg.host}/${path}:v1`);
    const img = makeImage();
    for (const b of img.blobs) await client.pushBlob(ref, b.bytes);
    await client.putManifest(ref, 'v1', img.manifest.bytes, img.manifest.mediaType);
    const scratch = new MemoryRegistryClient({ referrersApi: true });
    for (const b of img.blobs) await scratch.pushBlob(ref, b.bytes);
    await scratch.putManifest(ref, 'v1', img.manifest.bytes, img.manifest.mediaType);
    await signImage({ reference: `${reg.host}/${path}:v1`, registry: scratch, signer: c.signer('release'), role: 'release', clock: c.clock });
    const listed = await scratch.getReferrers(ref, img.manifest.digest, { artifactType: SIGNATURE_ARTIFACT_TYPE });
    const b64 = listed.supported ? listed.manifests[0]?.annotations?.[ENVELOPE_ANNOTATION] : undefined;
    assert.ok(b64, 'the scratch signature carries its envelope');
    return { subject: { mediaType: img.manifest.mediaType, digest: img.manifest.digest, size: img.manifest.size }, envelope: new Uint8Array(Buffer.from(b64, 'base64')) };
  }

  /** Pushes a signature manifest whose listing copy of the envelope is `served` (the layer and the digest annotation stay the original's). */
  async function pushSignature(path: string, subject: { mediaType: string; digest: string; size: number }, envelope: Uint8Array, served: Uint8Array, withDigest: boolean): Promise<void> {
    const repo = parseReference(`${reg.host}/${path}`);
    const sig = buildSignatureManifest({ subject, envelope });
    const annotations: Record<string, string> = { ...sig.manifest.annotations!, [ENVELOPE_ANNOTATION]: Buffer.from(served).toString('base64') };
    if (!withDigest) delete annotations[ENVELOPE_DIGEST_ANNOTATION];
    const bytes = new TextEncoder().encode(JSON.stringify({ ...sig.manifest, annotations }));
    await client.pushBlob(repo, emptyBlob());
    await client.pushBlob(repo, sig.envelope.bytes);
    const { digestOf } = await import('../../lib/crypto/hash.js');
    await client.putManifest(repo, digestOf(bytes), bytes, OCI_MANIFEST);
  }

  it('a listing copy that does not hash to the digest the listing names is not counted (ENVELOPE_DIGEST_MISMATCH)', async () => {
    const path = 'team/app';
    const c = await buildCollection({ collection: `${reg.host}/${path}`, signers: [{ name: 'release' }] });
    const { subject, envelope } = await imageAndEnvelope(c, path);
    // The same envelope re-encoded: its signature still verifies, its bytes hash elsewhere.
    const reencoded = new TextEncoder().encode(JSON.stringify(JSON.parse(Buffer.from(envelope).toString()), null, 2));
    await pushSignature(path, subject, envelope, reencoded, true);
    const gate = createGate({ registry: client, localTrust: store(c), clock: c.clock });
    const rule = { rule: 'r', policyRevision: 'p', collection: `${reg.host}/${path}`, verify: {} };
    const a = await gate.check(`${reg.host}/${path}:v1`, { rule });
    assert.deepEqual([a.decision, a.outcome], ['deny', 'failed'], JSON.stringify(a.result.failures));
    const codes = a.result.failures.map((f) => f.code);
    assert.ok(codes.includes('ENVELOPE_DIGEST_MISMATCH'), codes.join(','));
    assert.match(a.result.failures.find((f) => f.code === 'ENVELOPE_DIGEST_MISMATCH')!.message, /bytes hash to sha256:[0-9a-f]{64}, fetched as "sha256:[0-9a-f]{64}"/);
  });

  it('the same re-encoded copy without a digest named for it verifies (the check is what refused it above)', async () => {
    const path = 'team/plain';
    const c = await buildCollection({ collection: `${reg.host}/${path}`, signers: [{ name: 'release' }] });
    const { subject, envelope } = await imageAndEnvelope(c, path);
    const reencoded = new TextEncoder().encode(JSON.stringify(JSON.parse(Buffer.from(envelope).toString()), null, 2));
    await pushSignature(path, subject, envelope, reencoded, false);
    const gate = createGate({ registry: client, localTrust: store(c), clock: c.clock });
    const a = await gate.check(`${reg.host}/${path}:v1`, { rule: { rule: 'r', policyRevision: 'p', collection: `${reg.host}/${path}`, verify: {} } });
    assert.equal(a.decision, 'allow', JSON.stringify(a.result.failures));
  });

  it('verifies each envelope once per image, though a digest reference runs the checks twice', async () => {
    const path = 'team/once';
    const c = await buildCollection({ collection: `${reg.host}/${path}`, signers: [{ name: 'release' }] });
    const { subject, envelope } = await imageAndEnvelope(c, path);
    await pushSignature(path, subject, envelope, envelope, true);
    const gate = createGate({ registry: client, localTrust: store(c), clock: c.clock });
    // A rule the signature does not meet: the digest reference is tried under the claimed
    // descriptor first, then verified with the manifest (two runs of the checks).
    const rule = { rule: 'r', policyRevision: 'p', collection: `${reg.host}/${path}`, verify: { requiredRoles: { allOf: ['release', 'qa'] } } };
    const a = await gate.check(`${reg.host}/${path}@${subject.digest}`, { rule });
    assert.equal(a.decision, 'deny');
    assert.deepEqual(gate.stats.envelopes, { hashed: 1, parsed: 1, authenticated: 1 });
  });
});
