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
    c = await buildCollection({ collection: REPO, signers: [{ name: 'release' }] });
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
});
