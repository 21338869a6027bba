// Signature schemes beside ocitrust's own (lib/schemes): how a rule names them in the policy,
// how their requirements combine (`require:`), and how the gate verifies them. The scheme here
// is a test double of pure code (it decides from a table keyed by digest); the real schemes
// (Notary v1, cosign, Notation) have their own tests against real signatures.
import { describe, it, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { OcitrustError, isOcitrustError } from '../../../lib/errors/index.js';
import { parseReference } from '../../../lib/reference.js';
import { parsePolicy } from '../../../lib/policy/index.js';
import { resolvePolicy } from '../../../lib/policy/resolve.js';
import { signImage } from '../../../lib/usecases/sign.js';
import { createGate, type LocalTrustStore } from '../../../lib/gate/index.js';
import { combineRequirements, type SignatureScheme } from '../../../lib/schemes/index.js';
import { failure } from '../../../lib/verify/result.js';
import { buildCollection, TEST_TIME, type TestCollection } from '../../helpers/collection.js';
import { MemoryRegistryClient } from '../../helpers/memory-registry-client.js';
import { makeImage, makeIndex } from '../../helpers/oci-layout.js';

const HOST = 'registry.example.com';
const REPO = `${HOST}/team/app`;

/** A scheme whose verdicts come from a table: digest → 'ok' | 'bad' | 'down'. */
function tableScheme(table: Map<string, 'ok' | 'bad' | 'down'>): SignatureScheme<{ keys: string[] }> {
  return {
    key: 'testScheme',
    format: 'test',
    validate(raw, ptr, problems) {
      if (typeof raw !== 'object' || raw === null || !Array.isArray((raw as { keys?: unknown }).keys)) {
        problems.add(ptr, `expected {keys: [paths]}, got ${JSON.stringify(raw)}`);
        return undefined;
      }
      return { keys: (raw as { keys: string[] }).keys };
    },
    resolvePaths: (c, resolve) => ({ keys: c.keys.map(resolve) }),
    files: (c) => c.keys,
    async verify(_c, input) {
      const v = table.get(input.digest);
      if (v === 'down') throw new OcitrustError('REGISTRY_UNREACHABLE', 'test scheme: down');
      return v === 'ok'
        ? { verified: true, signatures: [{ role: 'test', keyid: 'k1', signedAt: TEST_TIME, format: 'test', identity: { subject: 'ci' } }], failures: [] }
        : { verified: false, signatures: [], failures: [failure('NO_SIGNATURES', 'test scheme: no signature')] };
    },
  };
}

function policy(rule: string, schemes: readonly SignatureScheme[]) {
  return parsePolicy(['version: 1', 'rules:', `  - {name: r, images: ["${HOST}/team/*"], collection: ${REPO}, ${rule}}`, 'unmatched: deny', ''].join('\n'), { schemes });
}

describe('policy: signature scheme blocks', () => {
  const s = tableScheme(new Map());
  it('a scheme block replaces ocitrust unless ocitrust: true; require defaults to all', () => {
    const only = resolvePolicy(policy('testScheme: {keys: [a.pub]}', [s]), REPO);
    assert.equal(only.kind, 'rule');
    if (only.kind !== 'rule') return;
    assert.deepEqual(only.options.schemes, { testScheme: { keys: ['a.pub'] } });
    assert.equal(only.options.ocitrust, false);
    const both = resolvePolicy(policy('ocitrust: true, testScheme: {keys: [a.pub]}, require: any', [s]), REPO);
    assert.ok(both.kind === 'rule' && both.options.ocitrust === true && both.options.require === 'any');
    const plain = resolvePolicy(policy('bindTag: true', [s]), REPO);
    assert.ok(plain.kind === 'rule' && plain.options.schemes === undefined && plain.options.ocitrust === undefined);
  });

  it('reports the scheme\'s own problems, unknown schemes, bad require and ocitrust: false alone', () => {
    const problems = (rule: string): string[] => {
      try {
        policy(rule, [s]);
        return [];
      } catch (e) {
        assert.ok(isOcitrustError(e, 'POLICY_FILE_INVALID'), String(e));
        return (e.details?.['problems'] as { pointer: string }[]).map((p) => p.pointer);
      }
    };
    assert.deepEqual(problems('testScheme: 3'), ['/rules/0/testScheme']);
    assert.deepEqual(problems('cosignn: {}'), ['/rules/0/cosignn']);
    assert.deepEqual(problems('testScheme: {keys: []}, require: 3'), ['/rules/0/require']);
    assert.deepEqual(problems('ocitrust: false'), ['/rules/0/ocitrust']);
  });

  it('the block is part of the revision', () => {
    assert.notEqual(policy('testScheme: {keys: [a.pub]}', [s]).revision, policy('testScheme: {keys: [b.pub]}', [s]).revision);
  });
});

describe('combineRequirements', () => {
  const ok = { verified: true, signatures: [], failures: [] };
  const bad = { verified: false, signatures: [], failures: [failure('NO_SIGNATURES', 'none')] };
  it('all, any and N of the requirements', () => {
    assert.equal(combineRequirements('all', [{ name: 'a', ...ok }, { name: 'b', ...bad }]).verified, false);
    assert.equal(combineRequirements('any', [{ name: 'a', ...ok }, { name: 'b', ...bad }]).verified, true);
    assert.equal(combineRequirements(2, [{ name: 'a', ...ok }, { name: 'b', ...bad }, { name: 'c', ...ok }]).verified, true);
    assert.equal(combineRequirements(2, [{ name: 'a', ...ok }, { name: 'b', ...bad }, { name: 'c', ...bad }]).verified, false);
    assert.equal(combineRequirements('all', []).verified, false, 'nothing required verifies nothing');
  });
  it('keeps every failure and says which requirement was missing', () => {
    const r = combineRequirements('all', [{ name: 'a', ...ok }, { name: 'b', ...bad }]);
    assert.deepEqual(r.failures.map((f) => f.code), ['NO_SIGNATURES', 'REQUIREMENTS_NOT_MET']);
    assert.match(r.failures[1]!.message, /expected all of \[a, b\] to verify, got 1 \(not met: b\)/);
  });
});

describe('gate with a signature scheme', () => {
  const clock = { now: () => new Date(Date.parse(TEST_TIME)) };
  let c: TestCollection;
  let reg: MemoryRegistryClient;
  const table = new Map<string, 'ok' | 'bad' | 'down'>();
  const scheme = tableScheme(table);
  const store = (): LocalTrustStore => {
    const served = (name: string) => {
      const b = c.files.get(name);
      if (!b) throw new OcitrustError('METADATA_NOT_FOUND', `no ${name}`);
      return { body: b };
    };
    return { timestamp: async () => served('timestamp.json'), file: async (_n, role, version) => served(`${version}.${role}.json`) };
  };
  async function push(tag: string, sign: boolean): Promise<string> {
    const ref = parseReference(`${REPO}:${tag}`);
    const img = makeImage();
    for (const b of img.blobs) await reg.pushBlob(ref, b.bytes);
    await reg.putManifest(ref, tag, img.manifest.bytes, img.manifest.mediaType);
    if (sign) await signImage({ reference: `${REPO}:${tag}`, registry: reg, signer: c.signer('release'), role: 'release', clock });
    return img.manifest.digest;
  }
  beforeEach(async () => {
    c = await buildCollection({ collection: REPO, signers: [{ name: 'release' }] });
    reg = new MemoryRegistryClient({ referrersApi: true });
    table.clear();
  });

  it('a scheme-only rule decides by the scheme, and reports its signatures with their format', async () => {
    const good = await push('good', false);
    const bad = await push('bad', false);
    table.set(good, 'ok').set(bad, 'bad');
    const gate = createGate({ registry: reg, policy: policy('testScheme: {keys: [k.pub]}', [scheme]), localTrust: store(), clock, schemes: [scheme] });
    const a = await gate.check(`${REPO}:good`);
    assert.deepEqual([a.decision, a.outcome, a.digest], ['allow', 'verified', good]);
    assert.equal(a.result.signatures[0]?.format, 'test');
    const b = await gate.check(`${REPO}:bad`);
    assert.deepEqual([b.decision, b.outcome, b.code], ['deny', 'failed', 'NO_SIGNATURES']);
  });

  it('ocitrust AND the scheme: both needed; with require: any either will do', async () => {
    const both = await push('both', true);
    const oursOnly = await push('ours', true);
    table.set(both, 'ok').set(oursOnly, 'bad');
    const all = createGate({ registry: reg, policy: policy('ocitrust: true, testScheme: {keys: [k.pub]}', [scheme]), localTrust: store(), clock, schemes: [scheme] });
    assert.equal((await all.check(`${REPO}:both`)).decision, 'allow');
    const a = await all.check(`${REPO}:ours`);
    assert.deepEqual([a.decision, a.outcome], ['deny', 'failed']);
    assert.ok(a.result.failures.some((f) => f.code === 'REQUIREMENTS_NOT_MET'));
    const any = createGate({ registry: reg, policy: policy('ocitrust: true, testScheme: {keys: [k.pub]}, require: any', [scheme]), localTrust: store(), clock, schemes: [scheme] });
    const b = await any.check(`${REPO}:ours`);
    assert.equal(b.decision, 'allow', JSON.stringify(b.result.failures));
    assert.ok(b.result.failures.some((f) => f.code === 'NO_SIGNATURES'), 'the scheme\'s failure is still reported');
  });

  it('a requirement that could not be decided is inconclusive unless the rule is met without it', async () => {
    const d = await push('down', true);
    table.set(d, 'down');
    const all = createGate({ registry: reg, policy: policy('ocitrust: true, testScheme: {keys: [k.pub]}', [scheme]), localTrust: store(), clock, schemes: [scheme] });
    const a = await all.check(`${REPO}:down`);
    assert.deepEqual([a.decision, a.outcome, a.code], ['deny', 'inconclusive', 'REGISTRY_UNREACHABLE']);
    const any = createGate({ registry: reg, policy: policy('ocitrust: true, testScheme: {keys: [k.pub]}, require: any', [scheme]), localTrust: store(), clock, schemes: [scheme] });
    assert.deepEqual([(await any.check(`${REPO}:down`)).outcome], ['verified']);
  });

  it('a scheme met by an index vouches for its children with indexVouchesForChildren (the proxy), and only then', async () => {
    const pushIndex = async (tag: string): Promise<{ index: string; children: string[] }> => {
      const ref = parseReference(`${REPO}:${tag}`);
      const idx = makeIndex();
      for (const im of idx.images) {
        for (const b of im.blobs) await reg.pushBlob(ref, b.bytes);
        await reg.putManifest(ref, im.manifest.digest, im.manifest.bytes, im.manifest.mediaType);
      }
      await reg.putManifest(ref, tag, idx.index.bytes, idx.index.mediaType);
      return { index: idx.index.digest, children: idx.images.map((im) => im.manifest.digest) };
    };
    const signed = await pushIndex('multi');
    const unsigned = await pushIndex('other');
    table.set(signed.index, 'ok').set(unsigned.index, 'bad');
    const p = policy('testScheme: {keys: [k.pub]}', [scheme]);
    const proxyLike = createGate({ registry: reg, policy: p, localTrust: store(), clock, schemes: [scheme], indexVouchesForChildren: true });
    const child = `${REPO}@${signed.children[0]}`;
    assert.equal((await proxyLike.check(child)).decision, 'deny', 'a child alone carries no signature');
    assert.equal((await proxyLike.check(`${REPO}:multi`)).decision, 'allow');
    for (const d of signed.children) assert.deepEqual([(await proxyLike.check(`${REPO}@${d}`)).decision], ['allow'], d);
    assert.equal((await proxyLike.check(`${REPO}:other`)).decision, 'deny');
    assert.equal((await proxyLike.check(`${REPO}@${unsigned.children[0]}`)).decision, 'deny', 'a refused index vouches for nothing');
    const plain = createGate({ registry: reg, policy: p, localTrust: store(), clock, schemes: [scheme] });
    assert.equal((await plain.check(`${REPO}:multi`)).decision, 'allow');
    assert.equal((await plain.check(child)).decision, 'deny', 'without indexVouchesForChildren each manifest is judged alone');
  });
});
