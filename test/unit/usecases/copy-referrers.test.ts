// copyImage carries every referrer (any artifactType) and cosign's `.sig` / `.att` tags (issue
// 17): foreign referrers byte for byte with their blobs, bounded like discovery; one that
// cannot be parsed is left behind and reported; blobs that do not match their digests end the
// copy with a coded error. Fake registries (pure copy logic); the real ones are in
// test/integration/airgap-foreign-signatures.test.ts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyImage } from '../../../lib/usecases/copy.js';
import { limits } from '../../../lib/config.js';
import { digestOf } from '../../../lib/crypto/hash.js';
import { OcitrustError } from '../../../lib/errors/index.js';
import { fallbackTag, listReferrers, signatureTag } from '../../../lib/oci/referrers.js';
import { buildSignatureManifest } from '../../../lib/oci/signature-artifact.js';
import { EMPTY_DESCRIPTOR, OCI_MANIFEST, emptyBlob, type Descriptor } from '../../../lib/oci/types.js';
import type { FetchedManifest, RepositoryRef } from '../../../lib/oci/client.js';
import { MemoryRegistryClient } from '../../helpers/memory-registry-client.js';
import { makeImage } from '../../helpers/oci-layout.js';

const SRC: RepositoryRef = { registry: 'src.example', path: 'app' };
const DST: RepositoryRef = { registry: 'dst.example', path: 'app' };
const enc = new TextEncoder();

/** A registry whose manifest GET refuses some digests as malformed (what a client says of unparseable bytes). */
class Refusing extends MemoryRegistryClient {
  readonly malformed = new Set<string>();
  override async getManifest(repo: RepositoryRef, reference: string): Promise<FetchedManifest> {
    if (this.malformed.has(reference)) throw new OcitrustError('MANIFEST_INVALID', `${reference}: not a manifest`);
    return super.getManifest(repo, reference);
  }
}

function world() {
  const src = new Refusing({ referrersApi: true });
  const img = makeImage();
  for (const b of img.blobs) src.repo(SRC).blobs.set(digestOf(b.bytes), b.bytes);
  src.repo(SRC).manifests.set(img.manifest.digest, img.manifest.bytes);
  src.repo(SRC).tags.set('v1', img.manifest.digest);
  src.repo(SRC).blobs.set(digestOf(emptyBlob()), emptyBlob());
  const subject: Descriptor = { mediaType: img.manifest.mediaType, digest: img.manifest.digest, size: img.manifest.bytes.length };
  /** Stores an artifact manifest (and its one layer) in the source; returns its digest. */
  const artifact = (artifactType: string | undefined, layer: Uint8Array, o: { subject?: Descriptor | null; tag?: string } = {}): string => {
    src.repo(SRC).blobs.set(digestOf(layer), layer);
    const m = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      ...(artifactType ? { artifactType } : {}),
      config: EMPTY_DESCRIPTOR,
      layers: [{ mediaType: 'application/octet-stream', digest: digestOf(layer), size: layer.length }],
      ...(o.subject === null ? {} : { subject: o.subject ?? subject }),
    };
    const bytes = enc.encode(JSON.stringify(m));
    src.repo(SRC).manifests.set(digestOf(bytes), bytes);
    if (o.tag) src.repo(SRC).tags.set(o.tag, digestOf(bytes));
    return digestOf(bytes);
  };
  const ours = (): string => {
    const sig = buildSignatureManifest({ subject, envelope: enc.encode('{"payloadType":"x","payload":"","signatures":[]}') });
    src.repo(SRC).blobs.set(sig.envelope.digest, sig.envelope.bytes);
    src.repo(SRC).manifests.set(sig.digest, sig.bytes);
    return sig.digest;
  };
  return { src, img, subject, artifact, ours };
}

describe('copyImage: every referrer and cosign tags travel', () => {
  it('copies ocitrust, Notation, Sigstore bundle and untyped referrers and the .sig/.att tags to a referrers-API registry, bytes unchanged', async () => {
    const w = world();
    const dst = new MemoryRegistryClient({ referrersApi: true });
    const mine = w.ours();
    const notation = w.artifact('application/vnd.cncf.notary.signature', enc.encode('jws'));
    const bundle = w.artifact('application/vnd.dev.sigstore.bundle.v0.3+json', enc.encode('{"bundle":1}'));
    const sbom = w.artifact(undefined, enc.encode('sbom'));
    const sig = w.artifact(undefined, enc.encode('simple signing'), { subject: null, tag: `${fallbackTag(w.subject.digest)}.sig` });
    const att = w.artifact(undefined, enc.encode('attestation'), { subject: null, tag: `${fallbackTag(w.subject.digest)}.att` });
    const r = await copyImage({ source: 'src.example/app:v1', destination: 'dst.example/app', registry: w.src, destinationRegistry: dst });
    assert.deepEqual(r.skipped, []);
    assert.deepEqual(r.signatures.filter((s) => s.mode === 'api').map((s) => s.digest).sort(), [mine, notation, bundle, sbom].sort());
    assert.deepEqual(r.signatures.filter((s) => s.mode === 'tag').map((s) => [s.tag, s.digest]), [[`${fallbackTag(w.subject.digest)}.sig`, sig], [`${fallbackTag(w.subject.digest)}.att`, att]]);
    for (const d of [mine, notation, bundle, sbom, sig, att]) assert.deepEqual(dst.repo(DST).manifests.get(d), w.src.repo(SRC).manifests.get(d), d);
    assert.equal(dst.repo(DST).tags.get(`${fallbackTag(w.subject.digest)}.sig`), sig);
    // Every blob a copied manifest names is there (the destination accepts and serves it).
    for (const d of [notation, bundle, sbom, sig, att]) {
      const m = await dst.getManifest(DST, d);
      for (const l of (m.manifest as { layers: Descriptor[] }).layers) assert.ok(dst.repo(DST).blobs.has(l.digest), l.digest);
    }
  });

  it('on a fallback registry, foreign referrers join the fallback index; only ours get per-signature tags', async () => {
    const w = world();
    const dst = new MemoryRegistryClient();
    const mine = w.ours();
    const notation = w.artifact('application/vnd.cncf.notary.signature', enc.encode('jws'));
    const r = await copyImage({ source: 'src.example/app:v1', destination: 'dst.example/app', registry: w.src, destinationRegistry: dst });
    assert.deepEqual(r.signatures.map((s) => s.mode), ['fallback', 'fallback']);
    const listed = await listReferrers(dst, DST, w.subject.digest);
    assert.deepEqual(listed.descriptors.map((d) => d.digest).sort(), [mine, notation].sort());
    assert.equal(dst.repo(DST).tags.get(signatureTag(w.subject.digest, mine)), mine);
    assert.equal(dst.repo(DST).tags.get(signatureTag(w.subject.digest, notation)), undefined);
  });

  it('a foreign referrer that cannot be parsed is left behind and reported; the rest is copied', async () => {
    const w = world();
    const dst = new MemoryRegistryClient({ referrersApi: true });
    const mine = w.ours();
    const odd = w.artifact('application/x-unknown', enc.encode('odd'));
    w.src.malformed.add(odd);
    const r = await copyImage({ source: 'src.example/app:v1', destination: 'dst.example/app', registry: w.src, destinationRegistry: dst });
    assert.deepEqual(r.signatures.map((s) => s.digest), [mine]);
    assert.deepEqual(r.skipped.map((s) => [s.digest, s.code]), [[odd, 'MANIFEST_INVALID']]);
  });

  it('an ocitrust referrer of the wrong shape still ends the copy (SIGNATURE_ARTIFACT_INVALID)', async () => {
    const w = world();
    w.artifact('application/vnd.ocitrust.signature.v1+json', enc.encode('not an envelope layer'));
    await assert.rejects(
      copyImage({ source: 'src.example/app:v1', destination: 'dst.example/app', registry: w.src, destinationRegistry: new MemoryRegistryClient() }),
      (e: unknown) => e instanceof OcitrustError && e.code === 'SIGNATURE_ARTIFACT_INVALID',
    );
  });

  it('a foreign referrer blob that does not match its digest: BLOB_DIGEST_MISMATCH, not copied', async () => {
    const w = world();
    const notation = w.artifact('application/vnd.cncf.notary.signature', enc.encode('jws'));
    w.src.repo(SRC).blobs.set(digestOf(enc.encode('jws')), enc.encode('jwz'));
    const dst = new MemoryRegistryClient({ referrersApi: true });
    await assert.rejects(
      copyImage({ source: 'src.example/app:v1', destination: 'dst.example/app', registry: w.src, destinationRegistry: dst }),
      (e: unknown) => e instanceof OcitrustError && e.code === 'BLOB_DIGEST_MISMATCH',
    );
    assert.equal(dst.repo(DST).manifests.has(notation), false);
  });

  it('bounded like discovery: more referrers than maxSignatures, or a blob over maxBufferedBlobBytes, is a coded error', async () => {
    const w = world();
    for (let i = 0; i < 3; i++) w.artifact('application/vnd.cncf.notary.signature', enc.encode(`jws${i}`));
    await assert.rejects(
      copyImage({ source: 'src.example/app:v1', destination: 'dst.example/app', registry: w.src, destinationRegistry: new MemoryRegistryClient({ referrersApi: true }), limits: limits({ maxSignatures: 2 }) }),
      (e: unknown) => e instanceof OcitrustError && e.code === 'REFERRERS_TOO_MANY' && /expected at most 2/.test(e.message),
    );
    const v = world();
    v.artifact('application/spdx+json', new Uint8Array(2048));
    await assert.rejects(
      copyImage({ source: 'src.example/app:v1', destination: 'dst.example/app', registry: v.src, destinationRegistry: new MemoryRegistryClient({ referrersApi: true }), limits: limits({ maxBufferedBlobBytes: 1024 }) }),
      (e: unknown) => e instanceof OcitrustError && e.code === 'INPUT_TOO_LARGE',
    );
  });
});
