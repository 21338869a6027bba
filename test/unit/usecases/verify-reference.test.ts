// verifyReference (lib/usecases/verify.ts) over an in-memory registry: which registry calls a
// verification makes (a digest reference settled by its signatures needs no manifest GET),
// and that every path that does not verify falls back to the manifest and reports exactly as
// the tag path does.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OcitrustError, isOcitrustError } from '../../../lib/errors/index.js';
import type { RepositoryRef } from '../../../lib/oci/client.js';
import { signImage } from '../../../lib/usecases/sign.js';
import { verifyReference } from '../../../lib/usecases/verify.js';
import { buildCollection } from '../../helpers/collection.js';
import { MemoryRegistryClient } from '../../helpers/memory-registry-client.js';
import { makeImage, makeIndex } from '../../helpers/oci-layout.js';

const REG = 'reg.example';
const NAME = `${REG}/team/app`;
const REPO: RepositoryRef = { registry: REG, path: 'team/app' };

async function world(referrersApi: boolean) {
  const c = await buildCollection({ collection: NAME, signers: [{ name: 'alice' }] });
  const reg = new MemoryRegistryClient({ referrersApi });
  const img = makeImage();
  await reg.putManifest(REPO, 'v1', img.manifest.bytes, img.manifest.mediaType);
  return { c, reg, img };
}

const calls = (reg: MemoryRegistryClient): Record<string, number> => ({ ...reg.calls });
const delta = (reg: MemoryRegistryClient, before: Record<string, number>, m: string): number => (reg.calls[m] ?? 0) - (before[m] ?? 0);

describe('verifyReference', () => {
  for (const referrersApi of [true, false]) {
    const kind = referrersApi ? 'referrers API' : 'fallback registry';

    it(`${kind}: a signed digest reference verifies without reading its manifest`, async () => {
      const { c, reg, img } = await world(referrersApi);
      await signImage({ reference: `${NAME}:v1`, registry: reg, signer: c.signer('alice'), role: 'alice', clock: c.clock });
      const before = calls(reg);
      const r = await verifyReference({ reference: `${NAME}@${img.manifest.digest}`, registry: reg, trust: c.trusted(), clock: c.clock });
      assert.equal(r.verified, true, JSON.stringify(r.failures));
      assert.equal(r.digest, img.manifest.digest);
      assert.deepEqual(r.signatures.map((s) => s.role), ['alice']);
      // What the manifest would have told: the signed descriptor facts.
      assert.equal(r.mediaType, img.manifest.mediaType);
      assert.equal(r.size, img.manifest.bytes.length);
      assert.equal(delta(reg, before, 'getManifest'), referrersApi ? 0 : 1, 'only the fallback index is read, never the image manifest');
      assert.equal(delta(reg, before, 'getReferrers'), 1);
    });

    it(`${kind}: a tag reference reads the manifest once and verifies`, async () => {
      const { c, reg, img } = await world(referrersApi);
      await signImage({ reference: `${NAME}:v1`, registry: reg, signer: c.signer('alice'), role: 'alice', clock: c.clock });
      const before = calls(reg);
      const r = await verifyReference({ reference: `${NAME}:v1`, registry: reg, trust: c.trusted(), clock: c.clock });
      assert.equal(r.verified, true, JSON.stringify(r.failures));
      assert.equal(r.digest, img.manifest.digest);
      assert.equal(delta(reg, before, 'getManifest'), referrersApi ? 1 : 2);
    });
  }

  it('an unsigned digest reference falls back to the manifest and fails like the tag path', async () => {
    const { c, reg, img } = await world(true);
    const before = calls(reg);
    const byDigest = await verifyReference({ reference: `${NAME}@${img.manifest.digest}`, registry: reg, trust: c.trusted(), clock: c.clock });
    assert.equal(delta(reg, before, 'getManifest'), 1, 'the manifest is read when signatures do not settle it');
    const byTag = await verifyReference({ reference: `${NAME}:v1`, registry: reg, trust: c.trusted(), clock: c.clock });
    assert.equal(byDigest.verified, false);
    assert.deepEqual(byDigest.failures.map((f) => f.code), byTag.failures.map((f) => f.code));
    assert.ok(byDigest.failures.length > 0);
    assert.equal(byDigest.mediaType, img.manifest.mediaType);
  });

  it('a digest the registry does not have is still MANIFEST_NOT_FOUND (input error), not a verdict', async () => {
    const { c, reg } = await world(true);
    await assert.rejects(
      verifyReference({ reference: `${NAME}@sha256:${'0'.repeat(64)}`, registry: reg, trust: c.trusted(), clock: c.clock }),
      (e: unknown) => isOcitrustError(e) && e.code === 'MANIFEST_NOT_FOUND',
    );
  });

  it('a signed index by digest still verifies and reports every child (the manifest is read)', async () => {
    const c = await buildCollection({ collection: NAME, signers: [{ name: 'alice' }] });
    const reg = new MemoryRegistryClient({ referrersApi: true });
    const idx = makeIndex();
    for (const im of idx.images) await reg.putManifest(REPO, im.manifest.digest, im.manifest.bytes, im.manifest.mediaType);
    await reg.putManifest(REPO, 'v1', idx.index.bytes, idx.index.mediaType);
    await signImage({ reference: `${NAME}:v1`, registry: reg, signer: c.signer('alice'), role: 'alice', clock: c.clock, recursive: true });
    const before = calls(reg);
    const r = await verifyReference({ reference: `${NAME}@${idx.index.digest}`, registry: reg, trust: c.trusted(), clock: c.clock });
    assert.equal(r.verified, true, JSON.stringify(r.failures));
    assert.equal(r.children?.length, idx.images.length);
    assert.ok(delta(reg, before, 'getManifest') >= 1 + idx.images.length);
  });

  it('a trust failure is a verdict even while the registry calls made in parallel fail', async () => {
    const { reg } = await world(true);
    let rejected = 0;
    const onRejection = (): void => void rejected++;
    process.on('unhandledRejection', onRejection);
    try {
      const trust = { refresh: async () => Promise.reject(new OcitrustError('TUF_EXPIRED', 'targets expired')) };
      const r = await verifyReference({ reference: `${NAME}:missing`, registry: reg, trust });
      assert.equal(r.verified, false);
      assert.deepEqual(r.failures.map((f) => f.code), ['TUF_EXPIRED']);
      await new Promise((res) => setTimeout(res, 20));
      assert.equal(rejected, 0, 'the abandoned registry call must not surface as an unhandled rejection');
    } finally {
      process.off('unhandledRejection', onRejection);
    }
  });
});
