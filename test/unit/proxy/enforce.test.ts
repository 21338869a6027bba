// The default pull decision (server/proxy/enforce.ts) over an in-memory TUF collection and an
// in-memory registry: which repositories are enforced (collections, prefix collections, policy
// rules), verdicts and their reasons, artifacts served unverified, the verdict cache keyed by
// digest × rule × policy revision × metadata version, and index children approved by a
// verified index.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OcitrustError } from '../../../lib/errors/index.js';
import { randomSecretSeed } from '../../../lib/crypto/ed25519.js';
import { SeedSigner } from '../../../lib/keys/signer.js';
import type { RepositoryRef } from '../../../lib/oci/client.js';
import { policyFromValue } from '../../../lib/policy/parse.js';
import { signImage } from '../../../lib/usecases/sign.js';
import { collectionCandidates, createEnforcer, summarizeFailures, type Enforcer } from '../../../server/proxy/enforce.js';
import type { LocalTrustStore } from '../../../server/proxy/enforce.js';
import { buildCollection, type TestCollection } from '../../helpers/collection.js';
import { MemoryRegistryClient } from '../../helpers/memory-registry-client.js';
import { makeImage, makeIndex, type TestBlob } from '../../helpers/oci-layout.js';

const REG = 'reg.example';
const NAME = `${REG}/team/app`;
const REPO: RepositoryRef = { registry: REG, path: 'team/app' };

function storeOf(...cs: TestCollection[]): LocalTrustStore & { calls: number } {
  const by = new Map(cs.map((c) => [c.collection, c]));
  const get = (name: string): TestCollection => {
    const c = by.get(name);
    if (!c) throw new OcitrustError('COLLECTION_NOT_FOUND', `no collection ${name}`);
    return c;
  };
  const file = (c: TestCollection, n: string): { body: Uint8Array } => {
    const b = c.files.get(n);
    if (!b) throw new OcitrustError('METADATA_NOT_FOUND', `${n} not found`);
    return { body: b };
  };
  const s = {
    calls: 0,
    async info(name: string) {
      s.calls++;
      const c = by.get(name);
      return c ? { versions: { root: c.root.signed.version, targets: c.targets.signed.version } } : null;
    },
    async file(name: string, role: 'root' | 'snapshot' | 'targets', version: number | null) {
      const c = get(name);
      return file(c, `${version ?? c.root.signed.version}.${role}.json`);
    },
    async timestamp(name: string) {
      return file(get(name), 'timestamp.json');
    },
  };
  return s;
}

async function put(reg: MemoryRegistryClient, blob: TestBlob, tag: string, repo = REPO): Promise<void> {
  await reg.putManifest(repo, tag, blob.bytes, blob.mediaType);
}

function ctxOf(blob: TestBlob, reference: string, repository = NAME) {
  return { repository, path: repository.slice(REG.length + 1), reference, digest: blob.digest, manifestBytes: blob.bytes, mediaType: blob.mediaType };
}

async function setup(opts: { policy?: unknown } = {}): Promise<{ c: TestCollection; reg: MemoryRegistryClient; e: Enforcer; store: ReturnType<typeof storeOf> }> {
  const c = await buildCollection({ collection: NAME, signers: [{ name: 'alice' }, { name: 'bob' }] });
  const reg = new MemoryRegistryClient();
  const store = storeOf(c);
  const e = createEnforcer({
    trust: store,
    registry: reg,
    registryName: REG,
    clock: c.clock,
    collectionLookupTtlMs: 0,
    ...(opts.policy ? { policy: policyFromValue(opts.policy) } : {}),
  });
  return { c, reg, e, store };
}

describe('createEnforcer', () => {
  describe('without a policy file', () => {
    it('passes repositories no collection covers, and says why', async () => {
      const { reg, e } = await setup();
      const img = makeImage();
      await put(reg, img.manifest, 'v1', { registry: REG, path: 'other/app' });
      const d = await e.decide(ctxOf(img.manifest, 'v1', `${REG}/other/app`));
      assert.deepEqual(d, { allow: true, reason: 'no trust collection covers the repository' });
      assert.equal(e.stats.verifications, 0);
    });

    it('allows a signed image by tag and by digest, verifying it once', async () => {
      const { c, reg, e } = await setup();
      const img = makeImage();
      await put(reg, img.manifest, 'v1');
      await signImage({ reference: `${NAME}:v1`, registry: reg, signer: c.signer('alice'), role: 'alice', clock: c.clock });
      const byTag = await e.decide(ctxOf(img.manifest, 'v1'));
      assert.equal(byTag.allow, true, byTag.reason);
      assert.equal(byTag.reason, `verified against ${NAME}`);
      const before = reg.totalCalls;
      const again = await e.decide(ctxOf(img.manifest, 'v1'));
      assert.equal(again.allow, true);
      assert.equal(reg.totalCalls, before, 'a hot image costs no registry call');
      assert.equal(e.stats.verifications, 1);
      assert.equal((await e.decide(ctxOf(img.manifest, img.manifest.digest))).allow, true);
    });

    it('reuses the manifest the proxy fetched instead of a second GET', async () => {
      const { c, reg, e } = await setup();
      const img = makeImage();
      await put(reg, img.manifest, 'v1');
      await signImage({ reference: `${NAME}:v1`, registry: reg, signer: c.signer('alice'), role: 'alice', clock: c.clock });
      const gets = reg.calls.getManifest ?? 0;
      await e.decide(ctxOf(img.manifest, 'v1'));
      // The fallback index is the only manifest read: the image itself came with the request.
      assert.equal((reg.calls.getManifest ?? 0) - gets, 1);
    });

    it('refuses an unsigned image naming the failed check', async () => {
      const { reg, e } = await setup();
      const img = makeImage();
      await put(reg, img.manifest, 'v1');
      const d = await e.decide(ctxOf(img.manifest, 'v1'));
      assert.equal(d.allow, false);
      assert.equal(d.code, 'NO_SIGNATURES');
      assert.match(d.reason!, /^NO_SIGNATURES: /);
    });

    it('does not reuse a verdict after the targets metadata changes (signer removed)', async () => {
      const { c, reg, e } = await setup();
      const img = makeImage();
      await put(reg, img.manifest, 'v1');
      await signImage({ reference: `${NAME}:v1`, registry: reg, signer: c.signer('bob'), role: 'bob', clock: c.clock });
      assert.equal((await e.decide(ctxOf(img.manifest, 'v1'))).allow, true);
      await c.removeSigner('bob');
      // The server calls this on every publish (TRUST_CHANNEL).
      e.invalidate(NAME);
      const d = await e.decide(ctxOf(img.manifest, 'v1'));
      assert.equal(d.allow, false);
      assert.match(d.code!, /^SIG_/);
      assert.equal(e.stats.verifications, 2);
    });

    it('re-verifies a refused image when a referrer of it was pushed (noteReferrer)', async () => {
      const { c, reg, e } = await setup();
      const img = makeImage();
      await put(reg, img.manifest, 'v1');
      assert.equal((await e.decide(ctxOf(img.manifest, 'v1'))).allow, false);
      await signImage({ reference: `${NAME}:v1`, registry: reg, signer: c.signer('alice'), role: 'alice', clock: c.clock });
      assert.equal((await e.decide(ctxOf(img.manifest, 'v1'))).allow, false, 'the refusal is cached briefly');
      e.noteReferrer(NAME, img.manifest.digest);
      assert.equal((await e.decide(ctxOf(img.manifest, 'v1'))).allow, true);
    });

    it('serves artifacts (signature manifests) without verifying them, but not images that claim a subject', async () => {
      const { c, reg, e } = await setup();
      const img = makeImage();
      await put(reg, img.manifest, 'v1');
      await signImage({ reference: `${NAME}:v1`, registry: reg, signer: c.signer('alice'), role: 'alice', clock: c.clock });
      const repo = reg.repo(REPO);
      const sigDigest = [...repo.manifests.keys()].find((d) => d !== img.manifest.digest && !repo.tags.get(`sha256-${img.manifest.digest.slice(7)}`)?.includes(d))!;
      const sig = repo.manifests.get(sigDigest)!;
      const d = await e.decide({ repository: NAME, path: 'team/app', reference: sigDigest, digest: sigDigest, manifestBytes: sig, mediaType: 'application/vnd.oci.image.manifest.v1+json' });
      assert.deepEqual(d, { allow: true, reason: 'artifact, not a runnable image' });
      const disguised = JSON.parse(Buffer.from(makeImage().manifest.bytes).toString());
      disguised.subject = { mediaType: img.manifest.mediaType, digest: img.manifest.digest, size: img.manifest.size };
      disguised.artifactType = 'application/vnd.ocitrust.signature.v1+json';
      const bytes = new TextEncoder().encode(JSON.stringify(disguised));
      const { digestOf } = await import('../../../lib/crypto/hash.js');
      const r = await e.decide({ repository: NAME, path: 'team/app', reference: 'x', digest: digestOf(bytes), manifestBytes: bytes, mediaType: img.manifest.mediaType });
      assert.equal(r.allow, false, 'a runnable image with a subject is still enforced');
    });

    it('verifies an index and lets its children through under the index signature', async () => {
      const { c, reg, e } = await setup();
      const idx = makeIndex();
      for (const im of idx.images) await reg.putManifest(REPO, im.manifest.digest, im.manifest.bytes, im.manifest.mediaType);
      await put(reg, idx.index, 'multi');
      await signImage({ reference: `${NAME}:multi`, registry: reg, signer: c.signer('alice'), role: 'alice', clock: c.clock });
      assert.equal((await e.decide(ctxOf(idx.index, 'multi'))).allow, true);
      const child = idx.images[0]!.manifest;
      const before = e.stats.verifications;
      const d = await e.decide(ctxOf(child, child.digest));
      assert.equal(d.allow, true, d.reason);
      assert.equal(e.stats.verifications, before, 'approved by the index verdict');
      const stranger = makeImage().manifest;
      await reg.putManifest(REPO, stranger.digest, stranger.bytes, stranger.mediaType);
      assert.equal((await e.decide(ctxOf(stranger, stranger.digest))).allow, false);
    });

    it('enforces a repository covered by a prefix collection', async () => {
      const team = await buildCollection({ collection: `${REG}/team`, signers: [{ name: 'ci', paths: [`${REG}/team/*`] }] });
      const reg = new MemoryRegistryClient();
      const e = createEnforcer({ trust: storeOf(team), registry: reg, registryName: REG, clock: team.clock });
      const img = makeImage();
      await put(reg, img.manifest, 'v1');
      assert.equal((await e.decide(ctxOf(img.manifest, 'v1'))).allow, false);
      assert.equal(await e.collectionFor(NAME), `${REG}/team`);
      await signImage({ reference: `${NAME}:v1`, registry: reg, signer: team.signer('ci'), role: 'ci', clock: team.clock });
      e.noteReferrer(NAME, img.manifest.digest);
      assert.equal((await e.decide(ctxOf(img.manifest, 'v1'))).allow, true);
    });

    it('fails closed when the collection has no published metadata or the store fails', async () => {
      const c = await buildCollection({ collection: NAME, signers: [{ name: 'alice' }] });
      const reg = new MemoryRegistryClient();
      const img = makeImage();
      await put(reg, img.manifest, 'v1');
      const none = async (): Promise<never> => {
        throw new OcitrustError('METADATA_NOT_FOUND', 'nothing published');
      };
      const empty: LocalTrustStore = { info: async () => ({ versions: { root: 0, targets: 0 } }), file: none, timestamp: none };
      const d = await createEnforcer({ trust: empty, registry: reg, registryName: REG, clock: c.clock }).decide(ctxOf(img.manifest, 'v1'));
      // Nothing published: nothing in the repository is signed (a verdict, as on every face).
      assert.deepEqual([d.allow, d.code], [false, 'NOT_SIGNED']);
      const broken: LocalTrustStore = { ...storeOf(c), info: async () => { throw new OcitrustError('STORAGE_UNAVAILABLE', 'database down'); } };
      const b = await createEnforcer({ trust: broken, registry: reg, registryName: REG, clock: c.clock }).decide(ctxOf(img.manifest, 'v1'));
      assert.equal(b.allow, false);
      assert.equal(b.code, 'PROXY_VERIFY_UNAVAILABLE');
      assert.match(b.reason!, /could not verify \(STORAGE_UNAVAILABLE: database down\); refusing/);
    });

    it('fails closed on a registry outage, and does not cache it', async () => {
      const { c, reg, e } = await setup();
      const img = makeImage();
      await put(reg, img.manifest, 'v1');
      await signImage({ reference: `${NAME}:v1`, registry: reg, signer: c.signer('alice'), role: 'alice', clock: c.clock });
      const original = reg.getManifest.bind(reg);
      reg.getManifest = async () => {
        throw new OcitrustError('REGISTRY_UNREACHABLE', 'connection refused');
      };
      const d = await e.decide(ctxOf(img.manifest, 'v1'));
      assert.deepEqual([d.allow, d.code], [false, 'PROXY_VERIFY_UNAVAILABLE']);
      reg.getManifest = original;
      assert.equal((await e.decide(ctxOf(img.manifest, 'v1'))).allow, true);
    });

    it('refuses a manifest that does not parse in an enforced repository (the upstream\'s bad answer: could not verify)', async () => {
      const { e } = await setup();
      const bytes = new TextEncoder().encode('{"schemaVersion": 1}');
      const d = await e.decide({ repository: NAME, path: 'team/app', reference: 'v1', digest: `sha256:${'0'.repeat(64)}`, manifestBytes: bytes, mediaType: 'application/vnd.docker.distribution.manifest.v1+json' });
      assert.equal(d.allow, false);
      assert.equal(d.code, 'PROXY_VERIFY_UNAVAILABLE');
      assert.match(d.reason!, /^could not verify \((REGISTRY_BAD_RESPONSE|MANIFEST_[A-Z_]+): /);
    });
  });

  describe('with a policy file', () => {
    const rule = (extra: Record<string, unknown>) => ({ version: 1, rules: [{ name: 'team', images: [`${REG}/team/*`], ...extra }], unmatched: 'deny' });

    it('refuses unmatched repositories and denied tags before any I/O', async () => {
      const { reg, e } = await setup({ policy: rule({ denyTags: ['latest'] }) });
      const img = makeImage();
      const other = await e.decide(ctxOf(img.manifest, 'v1', `${REG}/other/app`));
      assert.deepEqual([other.allow, other.code], [false, 'POLICY_FILE_NO_MATCH']);
      const latest = await e.decide(ctxOf(img.manifest, 'latest'));
      assert.deepEqual([latest.allow, latest.code], [false, 'POLICY_FILE_TAG_DENIED']);
      assert.equal(reg.totalCalls, 0);
    });

    it('skips and warns as the rule says', async () => {
      const img = makeImage();
      const skip = await (await setup({ policy: rule({ mode: 'skip' }) })).e.decide(ctxOf(img.manifest, 'v1'));
      assert.deepEqual(skip, { allow: true, reason: 'rule team skips verification' });
      const { reg, e } = await setup({ policy: rule({ mode: 'warn' }) });
      await put(reg, img.manifest, 'v1');
      const warn = await e.decide(ctxOf(img.manifest, 'v1'));
      assert.deepEqual([warn.allow, warn.warning, warn.code], [true, true, 'NO_SIGNATURES']);
    });

    it('applies the rule\'s required roles', async () => {
      const { c, reg, e } = await setup({ policy: rule({ requiredRoles: { allOf: ['alice', 'bob'] } }) });
      const img = makeImage();
      await put(reg, img.manifest, 'v1');
      await signImage({ reference: `${NAME}:v1`, registry: reg, signer: c.signer('alice'), role: 'alice', clock: c.clock });
      const one = await e.decide(ctxOf(img.manifest, 'v1'));
      assert.deepEqual([one.allow, one.code], [false, 'REQUIRED_ROLE_MISSING']);
      await signImage({ reference: `${NAME}:v1`, registry: reg, signer: c.signer('bob'), role: 'bob', clock: c.clock });
      e.noteReferrer(NAME, img.manifest.digest);
      assert.equal((await e.decide(ctxOf(img.manifest, 'v1'))).allow, true);
    });

    it('refuses a rule naming another trust server without a pinned root', async () => {
      const { reg, e } = await setup({ policy: rule({ server: 'https://trust.example.com' }) });
      const img = makeImage();
      await put(reg, img.manifest, 'v1');
      const d = await e.decide(ctxOf(img.manifest, 'v1'));
      assert.deepEqual([d.allow, d.code], [false, 'PROXY_VERIFY_UNAVAILABLE']);
      assert.match(d.reason!, /TRUST_ROOT_NOT_PINNED.*without a pinned root/);
    });

    it('verifies against a rule\'s pinned root from the local store, and refuses a wrong pin', async () => {
      const { c, reg } = await setup();
      const img = makeImage();
      await put(reg, img.manifest, 'v1');
      await signImage({ reference: `${NAME}:v1`, registry: reg, signer: c.signer('alice'), role: 'alice', clock: c.clock });
      const pinned = JSON.parse(Buffer.from(c.rootBytes()).toString());
      const ok = createEnforcer({ trust: storeOf(c), registry: reg, registryName: REG, clock: c.clock, policy: policyFromValue(rule({ root: pinned })) });
      assert.equal((await ok.decide(ctxOf(img.manifest, 'v1'))).allow, true);
      const other = await buildCollection({ collection: NAME });
      const wrong = createEnforcer({ trust: storeOf(c), registry: reg, registryName: REG, clock: c.clock, policy: policyFromValue(rule({ root: JSON.parse(Buffer.from(other.rootBytes()).toString()) })) });
      const d = await wrong.decide(ctxOf(img.manifest, 'v1'));
      assert.equal(d.allow, false);
      assert.match(d.code!, /^TUF_/);
    });
  });

  it('collectionFor names the rule\'s collection for the publisher bypass', async () => {
    const { e } = await setup({ policy: { version: 1, rules: [{ name: 'team', images: [`${REG}/team/*`], collection: `${REG}/team` }], unmatched: 'allow' } });
    assert.equal(await e.collectionFor(NAME), `${REG}/team`);
    assert.equal(await e.collectionFor(`${REG}/other/app`), `${REG}/other/app`);
  });
});

describe('collectionCandidates', () => {
  it('lists the repository and its prefixes, longest first', () => {
    assert.deepEqual(collectionCandidates('reg.example:5000/a/b'), ['reg.example:5000/a/b', 'reg.example:5000/a', 'reg.example:5000']);
    assert.deepEqual(collectionCandidates('team/app'), ['team/app', 'team']);
  });
});

describe('summarizeFailures', () => {
  it('names each failed check by code, at most three, bounded', () => {
    assert.equal(summarizeFailures([]), 'not verified');
    const f = Array.from({ length: 5 }, (_, i) => ({ code: `C${i}` as never, message: 'm'.repeat(400) }));
    const s = summarizeFailures(f);
    assert.match(s, /^C0: m+; C1: /);
    assert.ok(s.length <= 901);
    assert.equal(summarizeFailures([{ code: 'NO_SIGNATURES' as never, message: 'none' }]), 'NO_SIGNATURES: none');
  });
});

// Keep the import used when the file is trimmed: strangers never count.
void new SeedSigner(randomSecretSeed());
