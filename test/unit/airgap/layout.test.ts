import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync, truncateSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isOcitrustError } from '../../../lib/errors/index.js';
import { digestOf } from '../../../lib/crypto/hash.js';
import { OciLayout } from '../../../lib/oci/layout.js';
import { LayoutRegistryClient } from '../../../lib/oci/layout-client.js';
import { layoutImages, parseLayoutReference, resolveLayoutImage } from '../../../lib/oci/layout-ref.js';
import { extractLayoutTar, openLayoutPath, writeLayoutTar } from '../../../lib/oci/layout-tar.js';
import { EMPTY_DESCRIPTOR, OCI_MANIFEST, SIGNATURE_ARTIFACT_TYPE } from '../../../lib/oci/types.js';
import { descriptorOf, makeImage, makeIndex, writeOciLayout } from '../../helpers/oci-layout.js';

const repo = { registry: 'reg.example', path: 'team/app' };

async function fixture(): Promise<{ dir: string; index: ReturnType<typeof makeIndex>; single: ReturnType<typeof makeImage> }> {
  const dir = mkdtempSync(join(tmpdir(), 'layout-'));
  const index = makeIndex();
  const single = makeImage();
  await writeOciLayout(dir, [
    { tag: 'reg.example/team/app:v1', content: index },
    { tag: 'v2', content: single },
  ]);
  return { dir, index, single };
}

function signatureManifest(subject: { digest: string; size: number }): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: SIGNATURE_ARTIFACT_TYPE, config: EMPTY_DESCRIPTOR, layers: [EMPTY_DESCRIPTOR], subject: { mediaType: 'application/vnd.oci.image.index.v1+json', ...subject }, annotations: { x: 'y' } }),
  );
}

describe('lib/oci/layout-ref', () => {
  it('parses oci-layout:PATH[:REF|@DIGEST] the way skopeo splits oci:', () => {
    assert.deepEqual(parseLayoutReference('oci-layout:/m/x.tar'), { path: '/m/x.tar' });
    assert.deepEqual(parseLayoutReference('oci-layout:/m/x.tar:v1'), { path: '/m/x.tar', ref: 'v1' });
    assert.deepEqual(parseLayoutReference('oci-layout:d:127.0.0.1:5000/app:v1'), { path: 'd', ref: '127.0.0.1:5000/app:v1' });
    const d = `sha256:${'a'.repeat(64)}`;
    assert.deepEqual(parseLayoutReference(`oci-layout:d@${d}`), { path: 'd', digest: d });
    for (const bad of ['oci:d:v1', 'oci-layout:', 'oci-layout::v1', 'oci-layout:d:v 1', `oci-layout:d@sha256:${'a'.repeat(10)}`]) {
      assert.throws(() => parseLayoutReference(bad), (e) => isOcitrustError(e, 'LAYOUT_REFERENCE_INVALID'), bad);
    }
  });

  it('resolves a full name, a unique tag, a digest; refuses bare names without a repository', async () => {
    const { dir, index } = await fixture();
    const l = await OciLayout.open(dir);
    for (const ref of ['reg.example/team/app:v1', 'v1']) {
      const r = await resolveLayoutImage(l, { path: dir, ref });
      assert.equal(r.reference.repository, 'reg.example/team/app');
      assert.equal(r.reference.tag, 'v1');
      assert.equal(r.digest, index.index.digest);
    }
    assert.equal((await resolveLayoutImage(l, { path: dir, digest: index.index.digest })).reference.tag, 'v1');
    assert.equal((await resolveLayoutImage(l, { path: dir })).digest, index.index.digest);
    await assert.rejects(resolveLayoutImage(l, { path: dir, ref: 'v2' }), (e) => isOcitrustError(e, 'LAYOUT_REFERENCE_INVALID') && /names no repository/.test((e as Error).message));
    await assert.rejects(resolveLayoutImage(l, { path: dir, ref: 'v9' }), (e) => isOcitrustError(e, 'LAYOUT_REFERENCE_INVALID'));
  });

  it('cosign tags saved with an image (`sha256-<hex>.sig`) are artifacts, not images: the only image still resolves, load lists one', async () => {
    const { dir, index } = await fixture();
    const l = await OciLayout.open(dir);
    const client = new LayoutRegistryClient(l);
    const sig = makeImage();
    for (const b of sig.blobs) await client.pushBlob(repo, b.bytes);
    await client.putManifest(repo, `${index.index.digest.replace(':', '-')}.sig`, sig.manifest.bytes, sig.manifest.mediaType);
    assert.equal((await resolveLayoutImage(l, { path: dir })).digest, index.index.digest);
    assert.deepEqual((await layoutImages(l)).map((i) => i.digest), [index.index.digest]);
  });
});

describe('LayoutRegistryClient', () => {
  it('serves tags, children by digest and blobs, each checked against its digest', async () => {
    const { dir, index, single } = await fixture();
    const c = new LayoutRegistryClient(await OciLayout.open(dir));
    const top = await c.getManifest(repo, 'v1');
    assert.equal(top.digest, index.index.digest);
    const child = await c.getManifest(repo, index.images[0]!.manifest.digest);
    assert.equal(child.digest, index.images[0]!.manifest.digest);
    // A bare ref name is a tag of whichever repository asks (layouts written by skopeo).
    assert.equal((await c.getManifest(repo, 'v2')).digest, single.manifest.digest);
    assert.deepEqual(await c.listTags(repo), ['v1']);
    await assert.rejects(c.getManifest({ registry: 'other.example', path: 'x' }, 'v1'), (e) => isOcitrustError(e, 'MANIFEST_NOT_FOUND'));
    const layer = index.images[0]!.layers[0]!;
    assert.deepEqual(await c.getBlob(repo, layer.digest, { size: layer.size }), layer.bytes);
    await assert.rejects(c.getBlob(repo, digestOf('nope')), (e) => isOcitrustError(e, 'BLOB_NOT_FOUND'));
  });

  it('refuses a blob or manifest altered on disk with LAYOUT_BLOB_MISMATCH', async () => {
    const { dir, index } = await fixture();
    const layer = index.images[0]!.layers[0]!;
    const p = join(dir, 'blobs', 'sha256', layer.digest.slice(7));
    const b = readFileSync(p);
    b[b.length - 1] = b[b.length - 1]! ^ 1;
    writeFileSync(p, b);
    const c = new LayoutRegistryClient(await OciLayout.open(dir));
    await assert.rejects(c.getBlob(repo, layer.digest, { size: layer.size }), (e) => isOcitrustError(e, 'LAYOUT_BLOB_MISMATCH'));
    const mp = join(dir, 'blobs', 'sha256', index.index.digest.slice(7));
    writeFileSync(mp, readFileSync(mp, 'utf8').replace('amd64', 'arm64'));
    await assert.rejects(c.getManifest(repo, 'v1'), (e) => isOcitrustError(e, 'LAYOUT_BLOB_MISMATCH'));
    const chunks: Uint8Array[] = [];
    await assert.rejects(
      (async () => {
        for await (const x of (await OciLayout.open(dir)).streamBlob(layer.digest)) chunks.push(x);
      })(),
      (e) => isOcitrustError(e, 'LAYOUT_BLOB_MISMATCH'),
    );
  });

  it('computes referrers from the subject of the manifests index.json lists, across instances', async () => {
    const { dir, index } = await fixture();
    const c = new LayoutRegistryClient(await OciLayout.open(dir));
    assert.deepEqual(await c.getReferrers(repo, index.index.digest), { supported: true, manifests: [], filtersApplied: false });
    const sig = signatureManifest({ digest: index.index.digest, size: index.index.size });
    await c.pushBlob(repo, new TextEncoder().encode('{}'));
    const put = await c.putManifest(repo, digestOf(sig), sig, OCI_MANIFEST);
    assert.equal(put.ociSubject, index.index.digest);
    for (const client of [c, new LayoutRegistryClient(await OciLayout.open(dir))]) {
      const r = await client.getReferrers(repo, index.index.digest, { artifactType: SIGNATURE_ARTIFACT_TYPE });
      assert.ok(r.supported);
      assert.deepEqual(r.manifests.map((d) => [d.digest, d.artifactType, d.annotations?.x]), [[digestOf(sig), SIGNATURE_ARTIFACT_TYPE, 'y']]);
    }
    // Putting it again adds no second entry.
    await c.putManifest(repo, digestOf(sig), sig, OCI_MANIFEST);
    assert.equal((await (await OciLayout.open(dir)).index()).manifests.filter((d) => d.digest === digestOf(sig)).length, 1);
  });

  it('a tag moves: putting another manifest under a name takes the name from the old entry', async () => {
    const { dir } = await fixture();
    const c = new LayoutRegistryClient(await OciLayout.open(dir));
    const other = makeImage();
    for (const b of other.blobs) await c.pushBlob(repo, b.bytes);
    await c.putManifest(repo, 'v1', other.manifest.bytes, OCI_MANIFEST);
    assert.equal((await c.getManifest(repo, 'v1')).digest, other.manifest.digest);
    const named = (await (await OciLayout.open(dir)).index()).manifests.filter((d) => d.annotations?.['org.opencontainers.image.ref.name'] === 'reg.example/team/app:v1');
    assert.deepEqual(named.map((d) => d.digest), [other.manifest.digest]);
    assert.ok(descriptorOf(other.manifest));
  });

  it('a read-only client refuses writes', async () => {
    const { dir } = await fixture();
    const c = new LayoutRegistryClient(await OciLayout.open(dir), { readOnly: true });
    await assert.rejects(c.pushBlob(repo, new Uint8Array(1)), (e) => isOcitrustError(e, 'INVALID_ARGUMENT'));
  });
});

describe('layout tars', () => {
  it('round-trips a layout through a tar; a truncated or altered tar leaves nothing extracted', async () => {
    const { dir, index } = await fixture();
    const out = mkdtempSync(join(tmpdir(), 'layout-tar-'));
    const tar = join(out, 'x.tar');
    await writeLayoutTar(await OciLayout.open(dir), tar);
    const opened = await openLayoutPath(tar);
    const c = new LayoutRegistryClient(opened.layout);
    assert.equal((await c.getManifest(repo, 'v1')).digest, index.index.digest);
    await opened.close();
    assert.equal(existsSync(opened.layout.dir), false);

    const cut = join(out, 'cut.tar');
    writeFileSync(cut, readFileSync(tar));
    truncateSync(cut, statSync(tar).size - 2000);
    const dest = join(out, 'cut');
    await assert.rejects(extractLayoutTar(cut, dest), (e) => isOcitrustError(e, 'TAR_TRUNCATED'));
    assert.equal(existsSync(dest), false);

    const bent = readFileSync(tar);
    const layer = index.images[0]!.layers[0]!;
    const at = bent.indexOf(Buffer.from(layer.bytes.subarray(0, 32)));
    bent[at + 20] = bent[at + 20]! ^ 1;
    writeFileSync(join(out, 'bent.tar'), bent);
    await assert.rejects(extractLayoutTar(join(out, 'bent.tar'), join(out, 'bent')), (e) => isOcitrustError(e, 'LAYOUT_BLOB_MISMATCH'));
    assert.equal(existsSync(join(out, 'bent')), false);
  });

  it('refuses a folder that is not a layout with LAYOUT_INVALID', async () => {
    const d = mkdtempSync(join(tmpdir(), 'not-layout-'));
    await assert.rejects(OciLayout.open(d), (e) => isOcitrustError(e, 'LAYOUT_INVALID'));
    writeFileSync(join(d, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    writeFileSync(join(d, 'index.json'), '{"schemaVersion":2,"manifests":"x"}');
    await assert.rejects(OciLayout.open(d), (e) => isOcitrustError(e, 'LAYOUT_INVALID'));
  });
});
