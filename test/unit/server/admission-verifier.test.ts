// server/admission.ts `createAdmissionVerifier` over an in-memory registry and a test TUF
// collection served as the trust server's local storage, with a settable clock: caching by
// trust-metadata version (revocations take effect after a refresh), stale-while-revalidate,
// security failures withdrawing trust at once, the tag TTL, the short negative cache, and the
// configuration errors that fail closed.
import { describe, it, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { OcitrustError, isOcitrustError } from '../../../lib/errors/index.js';
import { parseReference } from '../../../lib/reference.js';
import { parsePolicy, resolvePolicy } from '../../../lib/policy/index.js';
import type { ImageRuleOptions } from '../../../lib/policy/types.js';
import { signImage } from '../../../lib/usecases/sign.js';
import { createAdmissionVerifier, LocalMetadataSource, mountAdmission, type LocalTrust } from '../../../server/admission.js';
import { buildCollection, signDocument, freshSigners, TEST_TIME, type TestCollection } from '../../helpers/collection.js';
import { MemoryRegistryClient } from '../../helpers/memory-registry-client.js';
import { makeImage } from '../../helpers/oci-layout.js';

const REPO = 'registry.example.com/team/app';

function localTrust(c: TestCollection): LocalTrust {
  const served = (name: string) => {
    const b = c.files.get(name);
    if (!b) throw new OcitrustError('METADATA_NOT_FOUND', `no ${name}`);
    return { body: Buffer.from(b), etag: '"x"', version: 0, expires: 0 };
  };
  return {
    timestamp: async () => served('timestamp.json'),
    file: async (_name, role, version) => served(`${version}.${role}.json`),
  };
}

function optionsFor(text: string, repo = REPO): ImageRuleOptions {
  const r = resolvePolicy(parsePolicy(text), repo);
  assert.equal(r.kind, 'rule');
  return r.options;
}

describe('createAdmissionVerifier', () => {
  let now: number;
  const clock = { now: () => new Date(now) };
  let c: TestCollection;
  let reg: MemoryRegistryClient;
  const opts = (): ImageRuleOptions => optionsFor(`version: 1\nrules:\n  - {name: team, images: ["${REPO}"]}\n`);

  async function push(tag: string): Promise<string> {
    const ref = parseReference(`${REPO}:${tag}`);
    const img = makeImage();
    for (const b of img.blobs) await reg.pushBlob(ref, b.bytes);
    await reg.putManifest(ref, tag, img.manifest.bytes, img.manifest.mediaType);
    return img.manifest.digest;
  }
  const sign = (tag: string) => signImage({ reference: `${REPO}:${tag}`, registry: reg, signer: c.signer('release'), role: 'release', clock });

  beforeEach(async () => {
    now = Date.parse(TEST_TIME);
    c = await buildCollection({ collection: REPO, signers: [{ name: 'release' }] });
    reg = new MemoryRegistryClient({ referrersApi: true });
  });

  it('verifies, then answers from the cache; a revocation counts once the trust metadata is refreshed', async () => {
    const digest = await push('1');
    await sign('1');
    const v = createAdmissionVerifier({ registry: reg, localTrust: localTrust(c), clock, trustRefreshSeconds: 30 });
    const ref = parseReference(`${REPO}:1`);
    const first = await v.verifyImage(ref, opts());
    assert.equal(first.verified, true, JSON.stringify(first.failures));
    assert.equal(first.digest, digest);
    const calls = { ...reg.calls };
    assert.equal((await v.verifyImage(ref, opts())).verified, true);
    assert.deepEqual(reg.calls, calls, 'no registry call from the warm cache');
    assert.equal(v.stats.cache.hits, 1);

    await c.revoke({ digest, reason: 'compromised build' });
    now += 10_000;
    assert.equal((await v.verifyImage(ref, opts())).verified, true, 'within the refresh interval the old trust state stands');
    now += 60_000; // past twice the interval: the refresh blocks
    const after = await v.verifyImage(ref, opts());
    assert.equal(after.verified, false);
    assert.ok(after.failures.some((f) => f.code === 'SIG_REVOKED'), JSON.stringify(after.failures));
  });

  it('between one and two refresh intervals, answers from the old state and refreshes in the background', async () => {
    const digest = await push('1');
    await sign('1');
    const v = createAdmissionVerifier({ registry: reg, localTrust: localTrust(c), clock, trustRefreshSeconds: 30 });
    const ref = parseReference(`${REPO}:1`);
    assert.equal((await v.verifyImage(ref, opts())).verified, true);
    await c.revoke({ digest, reason: 'bad' });
    now += 45_000;
    assert.equal(v.stats.trustRefreshes, 1);
    assert.equal((await v.verifyImage(ref, opts())).verified, true, 'stale state served without waiting');
    assert.equal(v.stats.trustRefreshes, 2, 'a background refresh started');
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal((await v.verifyImage(ref, opts())).verified, false, 'the next request sees the refreshed metadata');
  });

  it('a security failure of the trust metadata withdraws the trusted state at once (fail closed)', async () => {
    await push('1');
    await sign('1');
    const v = createAdmissionVerifier({ registry: reg, localTrust: localTrust(c), clock, trustRefreshSeconds: 30 });
    const ref = parseReference(`${REPO}:1`);
    assert.equal((await v.verifyImage(ref, opts())).verified, true);
    const ts = c.json('timestamp.json');
    ts.signed.version += 1;
    c.put('timestamp.json', signDocument(ts, freshSigners(1)));
    now += 45_000;
    // Served stale once while the background refresh finds the forged timestamp…
    await v.verifyImage(ref, opts());
    await new Promise((resolve) => setTimeout(resolve, 20));
    // …which withdraws the state: the next verification refreshes again and fails.
    await assert.rejects(v.verifyImage(ref, opts()), (e: unknown) => isOcitrustError(e) && e.code.startsWith('TUF_') && /trust data of collection/.test(e.message));
  });

  it('reuses a tag\'s digest for the tag TTL, then follows the tag', async () => {
    await push('1');
    await sign('1');
    const v = createAdmissionVerifier({ registry: reg, localTrust: localTrust(c), clock, tagTtlSeconds: 30 });
    const ref = parseReference(`${REPO}:1`);
    assert.equal((await v.verifyImage(ref, opts())).verified, true);
    const moved = await push('1'); // the tag now names an unsigned image
    now += 10_000;
    assert.equal((await v.verifyImage(ref, opts())).verified, true);
    now += 25_000;
    const r = await v.verifyImage(ref, opts());
    assert.equal(r.verified, false);
    assert.equal(r.digest, moved);
    assert.ok(r.failures.some((f) => f.code === 'NO_SIGNATURES'));
    assert.equal(v.stats.tagMisses, 2);
  });

  it('keeps a failure only briefly (negative cache)', async () => {
    await push('1');
    const v = createAdmissionVerifier({ registry: reg, localTrust: localTrust(c), clock, cache: { negativeTtlMs: 5_000 } });
    const ref = parseReference(`${REPO}:1`);
    assert.equal((await v.verifyImage(ref, opts())).verified, false);
    await sign('1');
    assert.equal((await v.verifyImage(ref, opts())).verified, false, 'failure cached');
    now += 6_000;
    assert.equal((await v.verifyImage(ref, opts())).verified, true, 'retried after the negative TTL');
  });

  it('one verification for concurrent requests of the same image, two registry round trips', async () => {
    await push('1');
    await sign('1');
    const v = createAdmissionVerifier({ registry: reg, localTrust: localTrust(c), clock });
    const ref = parseReference(`${REPO}:1`);
    const before = { ...reg.calls };
    const rs = await Promise.all(Array.from({ length: 8 }, () => v.verifyImage(ref, opts())));
    assert.ok(rs.every((r) => r.verified));
    const delta = Object.fromEntries(Object.entries(reg.calls).map(([k, n]) => [k, n - (before[k] ?? 0)]).filter(([, n]) => n !== 0));
    assert.deepEqual(delta, { getManifest: 1, getReferrers: 1 });
  });

  it('refuses, with a coded error, a rule that has no trust source', async () => {
    await push('1');
    const v = createAdmissionVerifier({ registry: reg, clock });
    await assert.rejects(v.verifyImage(parseReference(`${REPO}:1`), opts()), (e: unknown) => isOcitrustError(e, 'SERVER_CONFIG_INVALID') && /names no trust server/.test(e.message));
  });

  it('LocalMetadataSource maps "not there" to null and storage failures to TUF_SOURCE_UNREACHABLE', async () => {
    const s = new LocalMetadataSource(localTrust(c), REPO);
    assert.ok((await s.fetch({ role: 'root', version: 1 }, 1 << 20)) instanceof Uint8Array);
    assert.equal(await s.fetch({ role: 'root', version: 9 }, 1 << 20), null);
    await assert.rejects(s.fetch({ role: 'root', version: 1 }, 10), (e: unknown) => isOcitrustError(e, 'INPUT_TOO_LARGE'));
    const broken = new LocalMetadataSource({ timestamp: async () => Promise.reject(new Error('database is locked')), file: async () => Promise.reject(new Error('x')) }, REPO);
    await assert.rejects(broken.fetch({ role: 'timestamp' }, 1 << 20), (e: unknown) => isOcitrustError(e, 'TUF_SOURCE_UNREACHABLE') && /database is locked/.test(e.message));
  });
});

describe('mountAdmission and publishes', () => {
  it('reads a local collection again at once when it is published to (TRUST_CHANNEL), as the proxy does', async () => {
    const clock = { now: () => new Date(Date.parse(TEST_TIME)) };
    const c = await buildCollection({ collection: REPO, signers: [{ name: 'release' }] });
    const reg = new MemoryRegistryClient({ referrersApi: true });
    const ref = parseReference(`${REPO}:1`);
    const img = makeImage();
    for (const b of img.blobs) await reg.pushBlob(ref, b.bytes);
    await reg.putManifest(ref, '1', img.manifest.bytes, img.manifest.mediaType);
    await signImage({ reference: `${REPO}:1`, registry: reg, signer: c.signer('release'), role: 'release', clock });
    let notify: ((name: string) => void) | undefined;
    const app = Fastify();
    const policy = parsePolicy(`version: 1\nrules:\n  - {name: team, images: ["${REPO}"]}\n`);
    const v = await mountAdmission(app, { trust: localTrust(c), published: async (fn) => ((notify = fn), async () => undefined) }, { policy, registry: reg, trustRefreshSeconds: 3600 }, clock);
    const opts = optionsFor(`version: 1\nrules:\n  - {name: team, images: ["${REPO}"]}\n`);
    assert.equal((await v.verifyImage(ref, opts)).verified, true);
    await c.revoke({ digest: img.manifest.digest, reason: 'compromised build' });
    assert.equal((await v.verifyImage(ref, opts)).verified, true, 'not told yet: within the refresh interval');
    notify!(REPO);
    const after = await v.verifyImage(ref, opts);
    assert.equal(after.verified, false);
    assert.ok(after.failures.some((f) => f.code === 'SIG_REVOKED'), JSON.stringify(after.failures));
    await app.close();
  });
});

describe('mountAdmission configuration checks', () => {
  it('refuses at start a policy that selects namespaces by label without a label source', async () => {
    const app = Fastify();
    const policy = parsePolicy('version: 1\nrules:\n  - {name: a, images: ["**"], server: "https://trust.example.com", namespaces: {labels: {team: a}}}\n');
    await assert.rejects(mountAdmission(app, {}, { policy }), (e: unknown) => isOcitrustError(e, 'SERVER_CONFIG_INVALID') && /namespace labels/.test(e.message));
    await app.close();
  });

  it('refuses at start rules without a trust server when the webhook is not hosted by one', async () => {
    const app = Fastify();
    const policy = parsePolicy('version: 1\nrules:\n  - {name: a, images: ["registry.example.com/**"]}\n  - {name: b, images: ["**"], server: "https://trust.example.com"}\n  - {name: c, images: ["registry.example.com/x/*"], mode: skip}\n');
    await assert.rejects(mountAdmission(app, {}, { policy }), (e: unknown) => isOcitrustError(e, 'SERVER_CONFIG_INVALID') && /rules a name no trust server/.test(e.message));
    await app.close();
  });

  it('refuses at start a rule that names a remote trust server without a pinned root, saying how to pin it', async () => {
    const app = Fastify();
    const policy = parsePolicy('version: 1\nrules:\n  - {name: b, images: ["**"], server: "https://trust.example.com", collection: registry.example.com/team}\n');
    await assert.rejects(
      mountAdmission(app, {}, { policy }),
      (e: unknown) => isOcitrustError(e, 'TRUST_ROOT_NOT_PINNED') && /rule "b"/.test(e.message) && /trust root export registry\.example\.com\/team >/.test(e.message) && /root: root.json/.test(e.message),
    );
    await app.close();
  });

  it('never trusts a remote root on first use at verification time either (a reloaded policy)', async () => {
    const v = createAdmissionVerifier({ registry: new MemoryRegistryClient({ referrersApi: true }) });
    const o = optionsFor('version: 1\nrules:\n  - {name: b, images: ["**"], server: "https://trust.example.com"}\n');
    await assert.rejects(v.verifyImage(parseReference(`${REPO}:1`), o), (e: unknown) => isOcitrustError(e, 'TRUST_ROOT_NOT_PINNED'));
  });
});
