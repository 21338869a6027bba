import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { verifyImage, verifyIndex } from '../../../lib/verify/verifier.js';
import { digestOf } from '../../../lib/crypto/hash.js';
import { isOcitrustError } from '../../../lib/errors/index.js';
import { alice, mallory, REPO, sigEnvelope, input } from './fixtures.js';

const INDEX_MEDIA = 'application/vnd.oci.image.index.v1+json';
const CHILD_MEDIA = 'application/vnd.oci.image.manifest.v1+json';
const index = { digest: digestOf('index'), size: 5 };
const amd64 = { digest: digestOf('amd64'), size: 5 };
const arm64 = { digest: digestOf('arm64'), size: 5 };

async function verifyOne(m: { digest: string; size: number }, mediaType: string, signer = alice) {
  const env = await sigEnvelope([signer], { digest: m.digest, size: m.size, mediaType, tag: m === index ? 'v1' : undefined });
  return verifyImage(
    input([env], {
      reference: m === index ? { repository: REPO, tag: 'v1' } : { repository: REPO, digest: m.digest },
      digest: m.digest,
      subject: { mediaType, size: m.size },
    }),
  );
}

describe('verifyIndex (multi-architecture, DESIGN §5 step 6)', () => {
  it("'index': the index signature suffices; children are reported", async () => {
    const ix = await verifyOne(index, INDEX_MEDIA);
    const bad = await verifyOne(arm64, CHILD_MEDIA, mallory);
    const r = verifyIndex(ix, [bad], 'index');
    assert.equal(r.verified, true);
    assert.equal(r.children?.length, 1);
    assert.equal(r.children?.[0]!.verified, false);
  });

  it("'all-children': every child must verify → CHILD_NOT_VERIFIED", async () => {
    const ix = await verifyOne(index, INDEX_MEDIA);
    const good = await verifyOne(amd64, CHILD_MEDIA);
    const bad = await verifyOne(arm64, CHILD_MEDIA, mallory);
    assert.equal(verifyIndex(ix, [good], 'all-children').verified, true);
    const r = verifyIndex(ix, [good, bad], 'all-children');
    assert.equal(r.verified, false);
    assert.deepEqual(r.failures.map((f) => f.code), ['CHILD_NOT_VERIFIED']);
    assert.match(r.failures[0]!.message, new RegExp(arm64.digest));
  });

  it("'all-children' with the index's child list: a child without a result → CHILD_MISSING", async () => {
    const ix = await verifyOne(index, INDEX_MEDIA);
    const good = await verifyOne(amd64, CHILD_MEDIA);
    const r = verifyIndex(ix, [good], 'all-children', [amd64.digest, arm64.digest]);
    assert.equal(r.verified, false);
    assert.deepEqual(r.failures.map((f) => f.code), ['CHILD_MISSING']);
  });

  it("'platform': the deployed platform's child must verify; none given → CHILD_MISSING", async () => {
    const ix = await verifyOne(index, INDEX_MEDIA);
    assert.equal(verifyIndex(ix, [await verifyOne(amd64, CHILD_MEDIA)], 'platform').verified, true);
    const none = verifyIndex(ix, [], 'platform');
    assert.equal(none.verified, false);
    assert.deepEqual(none.failures.map((f) => f.code), ['CHILD_MISSING']);
  });

  it('an unverified index never passes, whatever the children', async () => {
    const ix = await verifyOne(index, INDEX_MEDIA, mallory);
    const good = await verifyOne(amd64, CHILD_MEDIA);
    for (const mode of ['index', 'all-children', 'platform'] as const) assert.equal(verifyIndex(ix, [good], mode).verified, false);
  });

  it('refuses an unknown mode', async () => {
    const ix = await verifyOne(index, INDEX_MEDIA);
    assert.throws(() => verifyIndex(ix, [], 'any' as never), (e) => isOcitrustError(e, 'INVALID_ARGUMENT'));
  });
});
