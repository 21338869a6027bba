import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryRegistryClient } from '../../helpers/memory-registry-client.js';
import {
  fallbackTag,
  signatureTag,
  parseSignatureTag,
  listSignatures,
  listReferrers,
  pushSignature,
  repairIndex,
  updateFallbackIndex,
  removeReferrer,
} from '../../../lib/oci/referrers.js';
import {
  buildSignatureManifest,
  collectEnvelopes,
  envelopeFromAnnotation,
  referrerDescriptor,
} from '../../../lib/oci/signature-artifact.js';
import {
  OCI_INDEX,
  OCI_MANIFEST,
  SIGNATURE_ARTIFACT_TYPE,
  DSSE_ENVELOPE_MEDIA_TYPE,
  ENVELOPE_ANNOTATION,
  CREATED_ANNOTATION,
  EMPTY_DESCRIPTOR,
  parseImageManifest,
  parseImageIndex,
  emptyBlob,
  type Descriptor,
} from '../../../lib/oci/types.js';
import { digestOf } from '../../../lib/crypto/hash.js';
import { OcitrustError, isOcitrustError } from '../../../lib/errors/index.js';
import { makeImage } from '../../helpers/oci-layout.js';

const repo = { registry: 'reg.test', path: 'team/app' };
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const envelope = (i: number): Uint8Array => enc(JSON.stringify({ payloadType: 'application/vnd.in-toto+json', payload: Buffer.from(`p${i}`).toString('base64'), signatures: [{ keyid: 'k', sig: 'AA==' }] }));

async function seedImage(c: MemoryRegistryClient): Promise<Descriptor> {
  const im = makeImage();
  for (const b of im.blobs) await c.pushBlob(repo, b.bytes);
  await c.putManifest(repo, 'v1', im.manifest.bytes, OCI_MANIFEST);
  return { mediaType: OCI_MANIFEST, digest: im.manifest.digest, size: im.manifest.size };
}

describe('oci/referrers', () => {
  describe('tag names', () => {
    it('follows the referrers tag schema and the per-signature scheme', () => {
      const d = 'sha256:' + 'ab'.repeat(32);
      assert.equal(fallbackTag(d), 'sha256-' + 'ab'.repeat(32));
      const s512 = 'sha512:' + 'cd'.repeat(64);
      assert.equal(fallbackTag(s512), 'sha512-' + 'cd'.repeat(32));
      const m = 'sha256:0123456789abcdef' + '0'.repeat(48);
      const t = signatureTag(d, m);
      assert.equal(t, `sha256-${'ab'.repeat(32)}.0123456789abcdef.sig`);
      assert.ok(t.length <= 128);
      assert.equal(parseSignatureTag(t, d), '0123456789abcdef');
      assert.equal(parseSignatureTag(t, 'sha256:' + 'ff'.repeat(32)), undefined);
      assert.equal(parseSignatureTag(`${fallbackTag(d)}.XYZ.sig`, d), undefined);
      assert.equal(parseSignatureTag(fallbackTag(d), d), undefined);
    });
  });

  describe('#buildSignatureManifest', () => {
    it('produces the DESIGN §4 shape', () => {
      const subject = { mediaType: OCI_MANIFEST, digest: 'sha256:' + '1'.repeat(64), size: 10, annotations: { dropped: 'yes' } };
      const env = envelope(1);
      const sig = buildSignatureManifest({ subject, envelope: env, created: new Date('2026-01-02T03:04:05.678Z') });
      const m = parseImageManifest(sig.bytes);
      assert.equal(m.mediaType, OCI_MANIFEST);
      assert.equal(m.artifactType, SIGNATURE_ARTIFACT_TYPE);
      assert.deepEqual(m.config, { ...EMPTY_DESCRIPTOR });
      assert.deepEqual(m.layers, [{ mediaType: DSSE_ENVELOPE_MEDIA_TYPE, digest: digestOf(env), size: env.length }]);
      assert.deepEqual(m.subject, { mediaType: OCI_MANIFEST, digest: subject.digest, size: 10 });
      assert.equal(m.annotations![CREATED_ANNOTATION], '2026-01-02T03:04:05Z');
      assert.deepEqual(Buffer.from(m.annotations![ENVELOPE_ANNOTATION]!, 'base64'), Buffer.from(env));
      assert.equal(sig.digest, digestOf(sig.bytes));
      assert.deepEqual(sig.descriptor, referrerDescriptor({ manifest: m, digest: sig.digest, size: sig.size, mediaType: OCI_MANIFEST }));
      assert.equal(sig.descriptor.artifactType, SIGNATURE_ARTIFACT_TYPE);
      assert.throws(() => buildSignatureManifest({ subject, envelope: new Uint8Array(10), maxEnvelopeBytes: 5 }), (e: unknown) => isOcitrustError(e, 'INPUT_TOO_LARGE'));
    });
    it('envelopeFromAnnotation refuses non-canonical base64 and oversize', () => {
      const d = (a: string): Descriptor => ({ mediaType: OCI_MANIFEST, digest: 'sha256:' + '1'.repeat(64), size: 1, annotations: { [ENVELOPE_ANNOTATION]: a } });
      assert.deepEqual(envelopeFromAnnotation(d('aGk=')), enc('hi'));
      assert.equal(envelopeFromAnnotation(d('aGk')), undefined);
      assert.equal(envelopeFromAnnotation(d('a$k=')), undefined);
      assert.equal(envelopeFromAnnotation(d('aGl=')), undefined, 'non-canonical trailing bits');
      assert.equal(envelopeFromAnnotation(d('')), undefined);
      assert.equal(envelopeFromAnnotation(d(Buffer.alloc(100).toString('base64')), 50), undefined);
    });
  });

  for (const mode of ['api', 'fallback'] as const) {
    describe(`on a registry ${mode === 'api' ? 'with' : 'without'} the referrers API`, () => {
      it('pushes signatures and finds every one with a single listing call', async () => {
        const c = new MemoryRegistryClient({ referrersApi: mode === 'api' });
        const subject = await seedImage(c);
        for (let i = 0; i < 5; i++) {
          const r = await pushSignature(c, repo, subject, envelope(i));
          assert.equal(r.mode, mode);
          assert.equal(r.indexUpdated, true);
          if (mode === 'fallback') assert.equal(c.repo(repo).tags.get(r.tag!), r.digest);
        }
        const before = c.totalCalls;
        const listing = await listSignatures(c, repo, subject.digest);
        assert.equal(listing.source, mode);
        assert.equal(listing.descriptors.length, 5);
        const { envelopes, dropped } = await collectEnvelopes(c, repo, subject.digest, listing.descriptors);
        assert.equal(c.totalCalls - before, mode === 'api' ? 1 : 2, 'one referrers call (+1 index GET on fallback), no manifest or blob fetch');
        assert.deepEqual(dropped, []);
        assert.deepEqual(new Set(envelopes.map((e) => Buffer.from(e.envelope).toString())), new Set([0, 1, 2, 3, 4].map((i) => Buffer.from(envelope(i)).toString())));
        assert.ok(envelopes.every((e) => e.source === 'annotation'));
        const fromLayers = await collectEnvelopes(c, repo, subject.digest, listing.descriptors, { preferLayer: true });
        assert.equal(fromLayers.envelopes.length, 5);
        assert.ok(fromLayers.envelopes.every((e) => e.source === 'layer'));
      });
    });
  }

  describe('fallback index details', () => {
    it('copies artifactType and all annotations into the index entry, without duplicates', async () => {
      const c = new MemoryRegistryClient();
      const subject = await seedImage(c);
      const r = await pushSignature(c, repo, subject, envelope(1), { annotations: { 'x.y': 'z' } });
      await updateFallbackIndex(c, repo, subject.digest, { add: [r.descriptor] });
      const idx = parseImageIndex(c.repo(repo).manifests.get(c.repo(repo).tags.get(fallbackTag(subject.digest))!)!);
      assert.equal(idx.mediaType, OCI_INDEX);
      assert.equal(idx.manifests.length, 1);
      assert.equal(idx.manifests[0]!.artifactType, SIGNATURE_ARTIFACT_TYPE);
      assert.equal(idx.manifests[0]!.annotations!['x.y'], 'z');
      assert.ok(idx.manifests[0]!.annotations![ENVELOPE_ANNOTATION]);
    });

    it('tolerates indexes written by other tools without artifactType (fetches those manifests)', async () => {
      const c = new MemoryRegistryClient();
      const subject = await seedImage(c);
      const sig = buildSignatureManifest({ subject, envelope: envelope(7) });
      await c.pushBlob(repo, emptyBlob());
      await c.pushBlob(repo, sig.envelope.bytes);
      await c.putManifest(repo, sig.digest, sig.bytes, OCI_MANIFEST);
      // A cosign-style signature manifest for the same subject, other artifact type.
      const other = enc(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.dev.cosign.artifact.sig.v1+json', digest: digestOf(emptyBlob()), size: 2 }, layers: [], subject }));
      await c.putManifest(repo, digestOf(other), other, OCI_MANIFEST);
      const bare = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [
        { mediaType: OCI_MANIFEST, digest: sig.digest, size: sig.size },
        { mediaType: OCI_MANIFEST, digest: digestOf(other), size: other.length },
        { mediaType: OCI_MANIFEST, digest: 'sha256:' + '9'.repeat(64), size: 5 },
      ] };
      await c.putManifest(repo, fallbackTag(subject.digest), enc(JSON.stringify(bare)), OCI_INDEX);
      const listing = await listSignatures(c, repo, subject.digest);
      assert.deepEqual(listing.descriptors.map((d) => d.digest), [sig.digest]);
      assert.equal(listing.descriptors[0]!.artifactType, SIGNATURE_ARTIFACT_TYPE);
      const all = await listReferrers(c, repo, subject.digest);
      assert.equal(all.descriptors.length, 2, 'missing manifest skipped, cosign one listed without filter');
      const { envelopes } = await collectEnvelopes(c, repo, subject.digest, listing.descriptors);
      assert.deepEqual(envelopes[0]!.envelope, envelope(7));
    });

    it('assumes no referrers when the tag holds something other than an index, and refuses to overwrite it', async () => {
      const c = new MemoryRegistryClient();
      const subject = await seedImage(c);
      const im = makeImage();
      await c.putManifest(repo, fallbackTag(subject.digest), im.manifest.bytes, OCI_MANIFEST);
      assert.equal((await listSignatures(c, repo, subject.digest)).descriptors.length, 0);
      const r = await pushSignature(c, repo, subject, envelope(1));
      assert.equal(r.indexUpdated, false);
      assert.ok(isOcitrustError(r.indexError, 'REFERRERS_UPDATE_FAILED'));
      const full = await listSignatures(c, repo, subject.digest, { complete: true });
      assert.deepEqual(full.descriptors.map((d) => d.digest), [r.digest], 'still found through its own tag');
    });

    it('complete listing finds signatures lost from the index; repairIndex writes them back', async () => {
      const c = new MemoryRegistryClient();
      const subject = await seedImage(c);
      const pushed = [];
      for (let i = 0; i < 4; i++) pushed.push(await pushSignature(c, repo, subject, envelope(i)));
      // A racing writer's stale index wins: only the first signature remains listed.
      const stale = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [pushed[0]!.descriptor] };
      await c.putManifest(repo, fallbackTag(subject.digest), enc(JSON.stringify(stale)), OCI_INDEX);
      const fast = await listSignatures(c, repo, subject.digest);
      assert.equal(fast.descriptors.length, 1);
      assert.equal(fast.scannedTags, false);
      const full = await listSignatures(c, repo, subject.digest, { complete: true });
      assert.equal(full.descriptors.length, 4);
      assert.equal(full.missingFromIndex.length, 3);
      const rep = await repairIndex(c, repo, subject.digest);
      assert.deepEqual(rep, { added: 3, entries: 4 });
      assert.equal((await listSignatures(c, repo, subject.digest)).descriptors.length, 4);
      assert.deepEqual(await repairIndex(c, repo, subject.digest), { added: 0, entries: 4 });
    });

    it('ignores per-signature tags that point at other manifests or subjects', async () => {
      const c = new MemoryRegistryClient();
      const subject = await seedImage(c);
      const a = await pushSignature(c, repo, subject, envelope(1));
      const otherSubject = await seedImage(c);
      const b = await pushSignature(c, repo, otherSubject, envelope(2));
      // Tag named for subject, but pointing at b's manifest (other subject, other digest prefix).
      c.repo(repo).tags.set(signatureTag(subject.digest, 'sha256:' + 'e'.repeat(64)), b.digest);
      c.repo(repo).tags.set(signatureTag(subject.digest, b.digest), b.digest);
      c.repo(repo).tags.delete(fallbackTag(subject.digest));
      const full = await listSignatures(c, repo, subject.digest, { complete: true });
      assert.deepEqual(full.descriptors.map((d) => d.digest), [a.digest]);
    });

    it('uses If-Match when the registry gives ETags and retries on conflict', async () => {
      const c = new MemoryRegistryClient({ etags: true });
      const subject = await seedImage(c);
      const first = await pushSignature(c, repo, subject, envelope(1));
      // Interleave: a competing writer replaces the index between our read and write.
      const sig2 = buildSignatureManifest({ subject, envelope: envelope(2) });
      const origPut = c.putManifest.bind(c);
      let interfered = false;
      c.putManifest = async (r, ref, bytes, mt, o) => {
        if (!interfered && ref === fallbackTag(subject.digest)) {
          interfered = true;
          const cur = parseImageIndex(c.repo(repo).manifests.get(c.repo(repo).tags.get(ref)!)!);
          await origPut(r, ref, enc(JSON.stringify({ ...cur, manifests: [...cur.manifests, { mediaType: OCI_MANIFEST, digest: 'sha256:' + '5'.repeat(64), size: 1 }] })), OCI_INDEX);
        }
        return origPut(r, ref, bytes, mt, o);
      };
      const res = await updateFallbackIndex(c, repo, subject.digest, { add: [sig2.descriptor] });
      assert.equal(res.attempts, 2, 'first write refused with 412, second succeeds');
      const idx = parseImageIndex(c.repo(repo).manifests.get(c.repo(repo).tags.get(fallbackTag(subject.digest))!)!);
      assert.deepEqual(idx.manifests.map((d) => d.digest).sort(), [first.digest, 'sha256:' + '5'.repeat(64), sig2.digest].sort());
    });

    it('gives up after bounded attempts with REFERRERS_UPDATE_FAILED when every write is lost', async () => {
      const c = new MemoryRegistryClient();
      const subject = await seedImage(c);
      const sig = buildSignatureManifest({ subject, envelope: envelope(3) });
      c.putManifest = async (_r, _ref, bytes) => ({ digest: digestOf(bytes) }); // writes vanish
      await assert.rejects(updateFallbackIndex(c, repo, subject.digest, { add: [sig.descriptor], maxAttempts: 3, backoffMs: 1 }), (e: unknown) => isOcitrustError(e, 'REFERRERS_UPDATE_FAILED'));
    });

    it('an immutable-tag registry keeps every signature (own tags), reporting the index failure', async () => {
      const c = new MemoryRegistryClient({ immutableTags: true });
      const subject = await seedImage(c);
      const a = await pushSignature(c, repo, subject, envelope(1));
      assert.equal(a.indexUpdated, true, 'the first index write creates the tag');
      const b = await pushSignature(c, repo, subject, envelope(2));
      assert.equal(b.indexUpdated, false);
      assert.ok(isOcitrustError(b.indexError, 'REFERRERS_UPDATE_FAILED'));
      assert.ok(isOcitrustError(b.indexError!.cause, 'REGISTRY_DENIED'));
      assert.deepEqual((await listSignatures(c, repo, subject.digest)).descriptors.map((d) => d.digest), [a.digest]);
      const full = await listSignatures(c, repo, subject.digest, { complete: true });
      assert.deepEqual(full.descriptors.map((d) => d.digest).sort(), [a.digest, b.digest].sort());
    });

    it('removeReferrer drops the entry and keeps working when DELETE is refused', async () => {
      const c = new MemoryRegistryClient({ refuseDelete: true });
      const subject = await seedImage(c);
      const a = await pushSignature(c, repo, subject, envelope(1));
      const b = await pushSignature(c, repo, subject, envelope(2));
      const r = await removeReferrer(c, repo, subject.digest, a.digest);
      assert.deepEqual(r, { indexUpdated: true, deleted: false });
      assert.deepEqual((await listSignatures(c, repo, subject.digest)).descriptors.map((d) => d.digest), [b.digest]);
      const ok = new MemoryRegistryClient();
      const s2 = await seedImage(ok);
      const x = await pushSignature(ok, repo, s2, envelope(1));
      assert.deepEqual(await removeReferrer(ok, repo, s2.digest, x.digest), { indexUpdated: true, deleted: true });
      assert.equal((await listSignatures(ok, repo, s2.digest, { complete: true })).descriptors.length, 0);
    });
  });

  describe('#collectEnvelopes with an untrusted registry', () => {
    it('drops inconsistent signatures with a code and keeps the good ones', async () => {
      const c = new MemoryRegistryClient();
      const subject = await seedImage(c);
      const good = await pushSignature(c, repo, subject, envelope(1));
      // Annotation and layer disagree.
      const sig = buildSignatureManifest({ subject, envelope: envelope(2) });
      const m = JSON.parse(Buffer.from(sig.bytes).toString());
      m.annotations[ENVELOPE_ANNOTATION] = Buffer.from(envelope(99)).toString('base64');
      const bad1 = enc(JSON.stringify(m));
      await c.pushBlob(repo, sig.envelope.bytes);
      await c.putManifest(repo, digestOf(bad1), bad1, OCI_MANIFEST);
      // Wrong subject.
      const wrong = buildSignatureManifest({ subject: { ...subject, digest: 'sha256:' + '7'.repeat(64) }, envelope: envelope(3) });
      await c.pushBlob(repo, wrong.envelope.bytes);
      await c.putManifest(repo, wrong.digest, wrong.bytes, OCI_MANIFEST);
      // Layer blob missing.
      const noblob = buildSignatureManifest({ subject, envelope: envelope(4) });
      await c.putManifest(repo, noblob.digest, noblob.bytes, OCI_MANIFEST);
      // Descriptor size lies.
      const liar = { ...good.descriptor, size: good.descriptor.size + 1 };
      const strip = (d: Descriptor): Descriptor => ({ mediaType: d.mediaType, digest: d.digest, size: d.size });
      const descs: Descriptor[] = [
        strip(good.descriptor),
        { mediaType: OCI_MANIFEST, digest: digestOf(bad1), size: bad1.length },
        strip(wrong.descriptor),
        strip(noblob.descriptor),
        strip(liar),
        strip(good.descriptor),
      ];
      const { envelopes, dropped } = await collectEnvelopes(c, repo, subject.digest, descs);
      assert.equal(envelopes.length, 1);
      assert.deepEqual(envelopes[0]!.envelope, envelope(1));
      assert.deepEqual(dropped.map((d) => d.code), ['SIGNATURE_ARTIFACT_INVALID', 'SIGNATURE_ARTIFACT_INVALID', 'BLOB_NOT_FOUND']);
    });

    it('bounds how many signatures are examined', async () => {
      const c = new MemoryRegistryClient();
      const subject = await seedImage(c);
      const descs = [];
      for (let i = 0; i < 5; i++) descs.push((await pushSignature(c, repo, subject, envelope(i))).descriptor);
      const { envelopes, dropped } = await collectEnvelopes(c, repo, subject.digest, descs, { maxSignatures: 3 });
      assert.equal(envelopes.length, 3);
      assert.deepEqual(dropped.map((d) => d.code), ['REFERRERS_TOO_MANY', 'REFERRERS_TOO_MANY']);
    });
  });
});

describe('pushSignature against a registry that loses a blob link under concurrency', () => {
  // distribution 2.8's filesystem driver can answer MANIFEST_BLOB_UNKNOWN while another writer
  // commits the same blob; the signer uploads the blobs again and retries, a bounded number of times.
  class Flaky extends MemoryRegistryClient {
    failures: number;
    constructor(failures: number) {
      super({ referrersApi: true });
      this.failures = failures;
    }
    override async putManifest(...a: Parameters<MemoryRegistryClient['putManifest']>): ReturnType<MemoryRegistryClient['putManifest']> {
      if (a[1].startsWith('sha256:') && this.failures-- > 0) {
        throw new OcitrustError('REGISTRY_ERROR', 'PUT manifest: unexpected status 400: MANIFEST_BLOB_UNKNOWN', { details: { status: 400, codes: ['MANIFEST_BLOB_UNKNOWN'] } });
      }
      return super.putManifest(...a);
    }
  }

  it('retries after re-uploading both blobs, and gives up after three attempts', async () => {
    const c = new Flaky(0);
    const subject = await seedImage(c);
    c.failures = 2;
    const blobsBefore = c.calls.pushBlob ?? 0;
    const r = await pushSignature(c, repo, subject, envelope(1));
    assert.equal(r.mode, 'api');
    assert.equal((c.calls.pushBlob ?? 0) - blobsBefore, 6, 'config and envelope, three times');
    c.failures = 3;
    await assert.rejects(pushSignature(c, repo, subject, envelope(2)), (e: unknown) => isOcitrustError(e, 'REGISTRY_ERROR'));
  });

  it('does not retry other registry errors', async () => {
    const c = new MemoryRegistryClient({ referrersApi: true });
    const subject = await seedImage(c);
    let puts = 0;
    c.putManifest = async () => {
      puts++;
      throw new OcitrustError('REGISTRY_ERROR', 'PUT manifest: unexpected status 400: MANIFEST_INVALID', { details: { status: 400, codes: ['MANIFEST_INVALID'] } });
    };
    await assert.rejects(pushSignature(c, repo, subject, envelope(3)));
    assert.equal(puts, 1);
  });
});
