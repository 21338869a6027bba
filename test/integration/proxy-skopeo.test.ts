// The verifying proxy in front of Debian's docker-registry (distribution 2.8, no referrers API:
// signatures live in the tag fallback), with skopeo as the client: a signed image copies
// through the proxy; an unsigned image, a tampered one (tag moved to other content), one with a
// forged signature and one signed by a signer since removed from the delegations are refused,
// with the failed check in skopeo's error output. Cached verdicts follow the trust metadata.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomSecretSeed } from '../../lib/crypto/ed25519.js';
import { SeedSigner } from '../../lib/keys/signer.js';
import { startDistribution, type Distribution } from '../helpers/distribution.js';
import { makeImage, makeIndex, missingPrograms, runSkopeo, skopeoPush, writeOciLayout, type TestImage, type TestIndex } from '../helpers/oci-layout.js';
import { publishCollection, sign, startProxyServer, type ProxyServer, type PublishedCollection } from '../helpers/proxy.js';

const skip = missingPrograms('docker-registry', 'skopeo');

describe('verifying proxy in front of docker-registry, pulled with skopeo', { skip }, () => {
  let dir: string;
  let upstream: Distribution;
  let proxy: ProxyServer;
  let app: PublishedCollection;
  let n = 0;

  /** Pushes an image straight to the upstream; returns it. */
  async function push<T extends TestImage | TestIndex>(content: T, repo: string, tag: string): Promise<T> {
    const layout = join(dir, `src-${n++}`);
    await writeOciLayout(layout, [{ tag, content }]);
    await skopeoPush(layout, tag, `${upstream.host}/${repo}:${tag}`);
    return content;
  }

  /** skopeo copy through the proxy into a fresh OCI layout. */
  async function pull(repo: string, ref: string): Promise<{ code: number | null; stderr: string; dir: string }> {
    const out = join(dir, `out-${n++}`);
    const sep = ref.startsWith('sha256:') ? '@' : ':';
    const r = await runSkopeo(['copy', '--all', '--src-tls-verify=false', `docker://${proxy.host}/${repo}${sep}${ref}`, `oci:${out}:x`]);
    return { code: r.code, stderr: r.stderr, dir: out };
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ocitrust-proxy-skopeo-'));
    upstream = await startDistribution();
    proxy = await startProxyServer({ upstream: upstream.url });
    app = await publishCollection(proxy.app, `${upstream.host}/team/app`, ['alice', 'bob']);
  });
  after(async () => {
    await proxy?.close();
    await upstream?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('copies a signed image through the proxy, by tag and by digest, bytes unchanged', async () => {
    const image = await push(makeImage(), 'team/app', 'v1');
    await sign(`${upstream.host}/team/app:v1`, app.signers.get('alice')!, 'alice');
    const byTag = await pull('team/app', 'v1');
    assert.equal(byTag.code, 0, byTag.stderr);
    const layer = image.layers[0]!;
    assert.deepEqual(readFileSync(join(byTag.dir, 'blobs', 'sha256', layer.digest.slice(7))), Buffer.from(layer.bytes));
    const byDigest = await pull('team/app', image.manifest.digest);
    assert.equal(byDigest.code, 0, byDigest.stderr);
  });

  it('refuses an unsigned image with the failed check in skopeo\'s error', async () => {
    await push(makeImage(), 'team/app', 'unsigned');
    const r = await pull('team/app', 'unsigned');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /denied/i);
    assert.match(r.stderr, /NO_SIGNATURES/);
  });

  it('refuses a tampered image: the signed tag moved to other content', async () => {
    await push(makeImage(), 'team/app', 'v2');
    await sign(`${upstream.host}/team/app:v2`, app.signers.get('alice')!, 'alice');
    assert.equal((await pull('team/app', 'v2')).code, 0);
    // Same tag, different layer: the digest changes and no signature names it.
    await push(makeImage(), 'team/app', 'v2');
    const r = await pull('team/app', 'v2');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /NO_SIGNATURES/);
  });

  it('refuses an image signed by a key the collection does not delegate', async () => {
    await push(makeImage(), 'team/app', 'forged');
    await sign(`${upstream.host}/team/app:forged`, new SeedSigner(randomSecretSeed()), 'alice');
    const r = await pull('team/app', 'forged');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /denied/i);
    assert.match(r.stderr, /SIG_KEY_NOT_(DELEGATED|IN_ROLE)/);
  });

  it('refuses an image once its signer is removed from the delegations (the cached verdict is not reused)', async () => {
    const image = await push(makeImage(), 'team/app', 'by-bob');
    await sign(`${upstream.host}/team/app:by-bob`, app.signers.get('bob')!, 'bob');
    assert.equal((await pull('team/app', 'by-bob')).code, 0);
    await app.removeSigner('bob');
    const r = await pull('team/app', image.manifest.digest);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /denied/i);
    assert.match(r.stderr, /SIG_(KEY_NOT_DELEGATED|ROLE_UNKNOWN|KEY_NOT_IN_ROLE)/);
    const denied = (await proxy.app.ocitrust.audit.query({ outcome: 'denied' })).entries.filter((e) => e.action === 'proxy.pull');
    assert.ok(denied.some((e) => e.detail?.includes(image.manifest.digest)), 'the denial is in the audit log');
  });

  it('passes repositories without a trust collection through unverified', async () => {
    await push(makeImage(), 'other/app', 'v1');
    const r = await pull('other/app', 'v1');
    assert.equal(r.code, 0, r.stderr);
  });

  it('verifies a multi-platform index and lets its children through under the index signature', async () => {
    const index = await push(makeIndex(), 'team/app', 'multi');
    await sign(`${upstream.host}/team/app:multi`, app.signers.get('alice')!, 'alice');
    const before = proxy.plugin.enforcer!.stats.verifications;
    const r = await pull('team/app', 'multi');
    assert.equal(r.code, 0, r.stderr);
    const stored = readFileSync(join(r.dir, 'blobs', 'sha256', index.images[1]!.manifest.digest.slice(7)));
    assert.deepEqual(stored, Buffer.from(index.images[1]!.manifest.bytes));
    assert.equal(proxy.plugin.enforcer!.stats.verifications - before, 1, 'only the index was verified');
    const approved = await fetch(`${proxy.url}/v2/team/app/manifests/${index.images[0]!.manifest.digest}`, { headers: { accept: index.images[0]!.manifest.mediaType } });
    assert.equal(approved.status, 200, 'a child of the verified index is served');
    // A child pulled on its own, without its index first, is an image like any other.
    const lone = await push(makeIndex(), 'team/app', 'multi2');
    const child = await pull('team/app', lone.images[0]!.manifest.digest);
    assert.notEqual(child.code, 0);
  });

  it('serves hot images from the verdict cache: one verification for repeated pulls', async () => {
    await push(makeImage(), 'team/app', 'hot');
    await sign(`${upstream.host}/team/app:hot`, app.signers.get('alice')!, 'alice');
    const before = proxy.plugin.enforcer!.stats.verifications;
    for (let i = 0; i < 3; i++) assert.equal((await pull('team/app', 'hot')).code, 0);
    assert.equal(proxy.plugin.enforcer!.stats.verifications - before, 1);
  });
});
