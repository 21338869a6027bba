// Issue 17: save from Debian's docker-registry (no referrers API: signatures found by the tag
// fallback), carry the tar, load it into another registry (the embedded one) with digests
// unchanged and signatures pushed along; sign before push inside a layout; skopeo copies images
// out of our layout with digests preserved.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliSession, startTrustServer, type TestTrustServer, type TrustRun } from '../helpers/cli.js';
import { startDistribution, type Distribution } from '../helpers/distribution.js';
import { startEmbeddedRegistry, type EmbeddedRegistry } from '../helpers/embedded-registry.js';
import { makeImage, makeIndex, missingPrograms, runSkopeo } from '../helpers/oci-layout.js';
import { HttpRegistryClient } from '../../lib/oci/client.js';
import { anonymous } from '../../lib/oci/credentials.js';
import { listSignatures } from '../../lib/oci/referrers.js';
import { OCI_INDEX, OCI_MANIFEST } from '../../lib/oci/types.js';

const skip = missingPrograms('docker-registry', 'skopeo');

function exits(r: TrustRun, code: number, what: string): void {
  assert.equal(r.code, code, `${what}: exit ${r.code}, expected ${code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');
}

describe('trust load / sign oci-layout: / skopeo interop (issue 17)', { skip, timeout: 600_000 }, () => {
  let ts: TestTrustServer;
  let dist: Distribution;
  let inside: EmbeddedRegistry;
  let s: CliSession;
  let work: string;
  let repo: string;
  let unsignedRepo: string;
  let indexDigest: string;
  const client = new HttpRegistryClient({ credentials: anonymous });

  before(async () => {
    ts = await startTrustServer();
    dist = await startDistribution();
    inside = await startEmbeddedRegistry();
    s = new CliSession({ server: ts.url, token: await ts.token() });
    work = await mkdtemp(join(tmpdir(), 'ocitrust-load-'));
    exits(await s.run(['key', 'generate', 'alice', '--dir', work]), 0, 'key');
    repo = `${dist.host}/airgap/app`;
    unsignedRepo = `${dist.host}/airgap/later`;
    for (const r of [repo, unsignedRepo]) {
      exits(await s.run(['init', r]), 0, 'init');
      exits(await s.run(['signer', 'add', '--key', join(work, 'alice.pub'), 'alice', r]), 0, 'signer add');
    }
    const idx = makeIndex();
    const ref = { registry: dist.host, path: 'airgap/app' };
    for (const im of idx.images) {
      for (const b of im.blobs) await client.pushBlob(ref, b.bytes);
      await client.putManifest(ref, im.manifest.digest, im.manifest.bytes, OCI_MANIFEST);
    }
    await client.putManifest(ref, 'v1', idx.index.bytes, OCI_INDEX);
    indexDigest = idx.index.digest;
    exits(await s.run(['sign', '--recursive', `${repo}:v1`]), 0, 'sign');
    const later = makeImage();
    const lref = { registry: dist.host, path: 'airgap/later' };
    for (const b of later.blobs) await client.pushBlob(lref, b.bytes);
    await client.putManifest(lref, 'v1', later.manifest.bytes, OCI_MANIFEST);
  });

  after(async () => {
    await inside?.close();
    await dist?.stop();
    await ts?.close();
    s?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('save from docker-registry, load into another registry: digests unchanged, signatures along, verifies there as a mirror', async () => {
    const tar = join(work, 'from-dist.tar');
    exits(await s.run(['save', '--out', tar, `${repo}:v1`]), 0, 'save');
    const l = await s.run(['load', tar, '--to', `${inside.host}/mirror`]);
    exits(l, 0, 'load');
    assert.match(l.stderr, /loaded .*mirror\/airgap\/app:v1.*3 signature/);
    const dst = { registry: inside.host, path: 'mirror/airgap/app' };
    assert.equal((await client.getManifest(dst, 'v1')).digest, indexDigest);
    const sigs = await listSignatures(client, dst, indexDigest, { complete: true });
    assert.equal(sigs.descriptors.length, 1);
    exits(await s.run(['verify', '--mirror-of', repo, '--multi-arch', 'all-children', `${inside.host}/mirror/airgap/app:v1`]), 0, 'verify the loaded copy');
  });

  test('sign before push: trust sign oci-layout:… writes the signature into the tar; load pushes image and signature together', async () => {
    const tar = join(work, 'later.tar');
    exits(await s.run(['save', '--out', tar, `${unsignedRepo}:v1`]), 0, 'save unsigned');
    const before = await s.run(['verify', '--offline', '-o', 'json', `oci-layout:${tar}:${unsignedRepo}:v1`]);
    exits(before, 1, 'unsigned in the layout');
    exits(await s.run(['sign', `oci-layout:${tar}:${unsignedRepo}:v1`]), 0, 'sign in the layout');
    exits(await s.run(['verify', '--offline', `oci-layout:${tar}:${unsignedRepo}:v1`]), 0, 'verified from the layout');
    exits(await s.run(['load', tar, '--to', `${inside.host}/signed-first`]), 0, 'load');
    exits(await s.run(['verify', '--mirror-of', unsignedRepo, `${inside.host}/signed-first/airgap/later:v1`]), 0, 'verified after the push');
  });

  test('skopeo copies an image out of the layout (folder and tar) with its digest preserved', async () => {
    const dir = join(work, 'layout-dir');
    exits(await s.run(['save', '--out', dir, `${repo}:v1`]), 0, 'save to a folder');
    for (const [src, dest] of [
      [`oci:${dir}:${repo}:v1`, `${inside.host}/skopeo/dir:v1`],
      [`oci-archive:${join(work, 'from-dist.tar')}:${repo}:v1`, `${inside.host}/skopeo/tar:v1`],
    ] as const) {
      const r = await runSkopeo(['copy', '--all', '--preserve-digests', '--dest-tls-verify=false', src, `docker://${dest}`]);
      assert.equal(r.code, 0, r.stderr);
      const [path] = dest.split(':v1');
      assert.equal((await client.getManifest({ registry: inside.host, path: path!.slice(inside.host.length + 1) }, 'v1')).digest, indexDigest, src);
    }
  });
});
