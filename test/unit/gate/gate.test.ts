// lib/gate `createGate().check` over an in-memory registry and a test TUF collection served as
// the trust server's own storage: one call decides (allow/deny/warn/skip), classifies the
// outcome (verified/failed/inconclusive/unchecked) and answers warm checks from its caches.
import { describe, it, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { OcitrustError } from '../../../lib/errors/index.js';
import { parseReference } from '../../../lib/reference.js';
import { parsePolicy } from '../../../lib/policy/index.js';
import { signImage } from '../../../lib/usecases/sign.js';
import { createGate, type LocalTrustStore } from '../../../lib/gate/index.js';
import { buildCollection, TEST_TIME, type TestCollection } from '../../helpers/collection.js';
import { MemoryRegistryClient } from '../../helpers/memory-registry-client.js';
import { makeImage } from '../../helpers/oci-layout.js';

const HOST = 'registry.example.com';
const REPO = `${HOST}/team/app`;

function store(c: TestCollection): LocalTrustStore {
  const served = (name: string) => {
    const b = c.files.get(name);
    if (!b) throw new OcitrustError('METADATA_NOT_FOUND', `no ${name}`);
    return { body: b };
  };
  return { timestamp: async () => served('timestamp.json'), file: async (_n, role, version) => served(`${version}.${role}.json`) };
}

const POLICY = parsePolicy(
  [
    'version: 1',
    'rules:',
    `  - {name: team, images: ["${HOST}/team/*"], collection: ${REPO}, denyTags: [latest]}`,
    `  - {name: sandbox, images: ["${HOST}/sandbox/*"], collection: ${REPO}, mode: warn}`,
    `  - {name: vendor, images: ["${HOST}/vendor/*"], mode: skip}`,
    `  - {name: remote, images: ["${HOST}/remote/*"], server: "https://trust.example.com"}`,
    `  - {name: bound, images: ["${HOST}/bound/*"], collection: ${REPO}, bindTag: true}`,
    `  - {name: warndeny, images: ["${HOST}/warndeny/*"], collection: ${REPO}, mode: warn, denyTags: [latest]}`,
    'unmatched: deny',
    '',
  ].join('\n'),
);

describe('gate.check', () => {
  const clock = { now: () => new Date(Date.parse(TEST_TIME)) };
  let c: TestCollection;
  let reg: MemoryRegistryClient;

  async function push(repo: string, tag: string): Promise<string> {
    const ref = parseReference(`${repo}:${tag}`);
    const img = makeImage();
    for (const b of img.blobs) await reg.pushBlob(ref, b.bytes);
    await reg.putManifest(ref, tag, img.manifest.bytes, img.manifest.mediaType);
    return img.manifest.digest;
  }

  beforeEach(async () => {
    c = await buildCollection({ collection: REPO, signers: [{ name: 'release', paths: [`${REPO}*`, `${HOST}/bound/app*`] }] });
    reg = new MemoryRegistryClient({ referrersApi: true });
  });

  it('allows a signed image (verified, with its digest) and answers the warm check from its caches', async () => {
    const digest = await push(REPO, '1');
    await signImage({ reference: `${REPO}:1`, registry: reg, signer: c.signer('release'), role: 'release', clock });
    const gate = createGate({ registry: reg, policy: POLICY, localTrust: store(c), clock });
    const a = await gate.check(`${REPO}:1`);
    assert.equal(a.decision, 'allow', JSON.stringify(a.result.failures));
    assert.equal(a.outcome, 'verified');
    assert.equal(a.digest, digest);
    assert.equal(a.rule, 'team');
    const calls = { ...reg.calls };
    assert.equal((await gate.check(`${REPO}:1`)).decision, 'allow');
    assert.deepEqual(reg.calls, calls, 'no registry call when warm');
    assert.equal(gate.stats.cache.hits, 1);
  });

  it('denies an unsigned image as a verdict, and only warns under a warn rule', async () => {
    await push(REPO, '2');
    await push(`${HOST}/sandbox/tool`, '1');
    const gate = createGate({ registry: reg, policy: POLICY, localTrust: store(c), clock });
    const a = await gate.check(`${REPO}:2`);
    assert.deepEqual([a.decision, a.outcome, a.mode], ['deny', 'failed', 'enforce']);
    assert.ok(a.code, 'a failure code');
    const w = await gate.check(`${HOST}/sandbox/tool:1`);
    assert.deepEqual([w.decision, w.outcome, w.mode, w.rule], ['warn', 'failed', 'warn', 'sandbox']);
  });

  it('decides skip, unmatched and denied tags without any I/O', async () => {
    const gate = createGate({ registry: reg, policy: POLICY, localTrust: store(c), clock });
    const skip = await gate.check(`${HOST}/vendor/x:1`);
    assert.deepEqual([skip.decision, skip.outcome, skip.rule], ['skip', 'unchecked', 'vendor']);
    const unmatched = await gate.check('docker.io/library/busybox:1');
    assert.deepEqual([unmatched.decision, unmatched.outcome, unmatched.code], ['deny', 'failed', 'POLICY_FILE_NO_MATCH']);
    const tag = await gate.check(`${REPO}:latest`);
    assert.deepEqual([tag.decision, tag.code], ['deny', 'POLICY_FILE_TAG_DENIED']);
    assert.equal(Object.values(reg.calls).reduce((n: number, x) => n + (x as number), 0), 0, 'no registry call');
  });

  it('cannot decide (inconclusive, fail closed) when the registry has no such image or the remote root is not pinned', async () => {
    const gate = createGate({ registry: reg, policy: POLICY, localTrust: store(c), clock });
    const missing = await gate.check(`${REPO}:nope`);
    assert.equal(missing.decision, 'deny');
    assert.ok(missing.error, 'an error, not a verdict');
    const remote = await gate.check(`${HOST}/remote/app:1`);
    assert.deepEqual([remote.decision, remote.outcome, remote.code], ['deny', 'inconclusive', 'TRUST_ROOT_NOT_PINNED']);
    const bad = await gate.check('Not A Reference');
    assert.deepEqual([bad.decision, bad.outcome, bad.code], ['deny', 'inconclusive', 'REFERENCE_INVALID']);
  });

  it('verifies once per digest: tags sharing a digest share the verdict unless the rule binds tags; a digest reference is not resolved', async () => {
    const digest = await push(REPO, 'v1');
    await reg.putManifest(parseReference(`${REPO}:stable`), 'stable', (await reg.getManifest(parseReference(REPO), 'v1')).bytes, 'application/vnd.oci.image.manifest.v1+json');
    await signImage({ reference: `${REPO}:v1`, registry: reg, signer: c.signer('release'), role: 'release', clock });
    const gate = createGate({ registry: reg, policy: POLICY, localTrust: store(c), clock });
    for (const r of [`${REPO}:v1`, `${REPO}:stable`, `${REPO}@${digest}`]) assert.equal((await gate.check(r)).decision, 'allow', r);
    assert.equal(gate.stats.cache.misses, 1, 'one verification for the three references');
    assert.equal(gate.stats.tagMisses, 2, 'each tag resolved once, the digest never');
    const bound = `${HOST}/bound/app`;
    const bd = await push(bound, 'v1');
    await reg.putManifest(parseReference(`${bound}:stable`), 'stable', (await reg.getManifest(parseReference(bound), 'v1')).bytes, 'application/vnd.oci.image.manifest.v1+json');
    await signImage({ reference: `${bound}:v1`, registry: reg, signer: c.signer('release'), role: 'release', clock });
    const b1 = await gate.check(`${bound}:v1`);
    assert.equal(b1.decision, 'allow', JSON.stringify(b1.result.failures));
    const other = await gate.check(`${bound}:stable`);
    assert.deepEqual([other.decision, other.code, other.digest], ['deny', 'STATEMENT_TAG_MISMATCH', bd], 'bound tags: a verdict per tag');
    assert.equal(gate.stats.cache.misses, 3);
  });

  it('reads a publish at once after invalidate: a removed signer is not served from the verdict cache', async () => {
    c = await buildCollection({ collection: REPO, signers: [{ name: 'release' }, { name: 'qa' }] });
    await push(REPO, 'v1');
    await signImage({ reference: `${REPO}:v1`, registry: reg, signer: c.signer('qa'), role: 'qa', clock });
    const gate = createGate({ registry: reg, policy: POLICY, localTrust: store(c), clock, refreshSeconds: 3600 });
    assert.equal((await gate.check(`${REPO}:v1`)).decision, 'allow');
    await c.removeSigner('qa');
    assert.equal((await gate.check(`${REPO}:v1`)).decision, 'allow', 'not yet read: within the refresh interval');
    gate.invalidate(REPO);
    const a = await gate.check(`${REPO}:v1`);
    assert.deepEqual([a.decision, a.outcome], ['deny', 'failed']);
  });

  it('warns, not denies, a denied tag under a warn rule (docs/policy.md "Modes")', async () => {
    const gate = createGate({ registry: reg, policy: POLICY, localTrust: store(c), clock });
    const a = await gate.check(`${HOST}/warndeny/app:latest`);
    assert.deepEqual([a.decision, a.outcome, a.mode, a.code, a.rule], ['warn', 'failed', 'warn', 'POLICY_FILE_TAG_DENIED', 'warndeny']);
  });

  it('uses the manifest the caller fetched, keys verdicts by its extra material, and serves artifacts unchecked after planning', async () => {
    const img = makeImage();
    const ref = parseReference(`${REPO}:v1`);
    for (const b of img.blobs) await reg.pushBlob(ref, b.bytes);
    await reg.putManifest(ref, 'v1', img.manifest.bytes, img.manifest.mediaType);
    const gate = createGate({ registry: reg, policy: POLICY, localTrust: store(c), clock });
    const pinned = parseReference(`${REPO}:v1@${img.manifest.digest}`);
    const fetched = (await reg.getManifest(ref, 'v1')) as never;
    const before = reg.calls.getManifest ?? 0;
    const a = await gate.check(pinned, { manifest: () => fetched, keyExtra: () => '0' });
    assert.equal(a.decision, 'deny');
    assert.equal(gate.stats.cache.misses, 1);
    await gate.check(pinned, { manifest: () => fetched, keyExtra: () => '0' });
    assert.equal(gate.stats.cache.misses, 1, 'same key: cached refusal');
    await gate.check(pinned, { manifest: () => fetched, keyExtra: () => '1' });
    assert.equal(gate.stats.cache.misses, 2, 'new key material: verified again');
    assert.equal((reg.calls.getManifest ?? 0) - before, 0, 'the image manifest was not fetched again');
    const art = await gate.check(pinned, { manifest: () => 'artifact' });
    assert.deepEqual([art.decision, art.outcome], ['allow', 'unchecked']);
    const refused = await gate.check(`${REPO}:latest`, { manifest: () => 'artifact' });
    assert.equal(refused.code, 'POLICY_FILE_TAG_DENIED', 'planning comes first');
  });
});
