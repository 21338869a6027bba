// Docker Content Trust signatures verified through a `notaryV1` rule (issue 15, item 2 and
// "Done means"): the real notary-server + notary-signer (mutual TLS, HTTPS to the client),
// docker-registry, images pushed with skopeo, signed with the real `notary` client as
// `docker trust sign` does (test/helpers/notary.ts). Each scenario is judged by the CLI
// (`trust verify --notary-server`, and a policy file with a notaryV1 rule) and by the gate in
// this process as the admission webhooks and the proxy call it (no home: state in memory); the
// verifying proxy itself (a trust server with the proxy plugin, a notaryV1 policy) on a moved tag.
// Without notary, docker-registry or skopeo the suite skips locally and FAILS under CI=true.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliSession, type TrustRun } from '../helpers/cli.js';
import { dctMissing, startDct, type DctSigner, type DctWorld, type PushedImage } from '../helpers/notary.js';
import { createGate } from '../../lib/gate/index.js';
import { HttpRegistryClient } from '../../lib/oci/client.js';
import { notaryV1Scheme } from '../../lib/notary/scheme.js';
import { httpNotarySource, parseNotaryPin } from '../../lib/notary/index.js';
import { parseRoot } from '../../lib/notary/metadata.js';
import type { ImageRuleOptions } from '../../lib/policy/types.js';
import type { Clock } from '../../lib/clock.js';
import { parsePolicy } from '../../lib/policy/index.js';
import { proxyFace } from '../helpers/faces.js';
import { startProxyServer } from '../helpers/proxy.js';

const skip = dctMissing() ?? false;

type Verdict = { exit: number | null; verified: boolean; code: string | undefined };

function cliVerdict(r: TrustRun): Verdict {
  let json: { results: { verified: boolean; failures: { code: string }[] }[] } | undefined;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    json = undefined;
  }
  const res = json?.results[0];
  const code = res?.failures.find((f) => f.code !== 'REQUIREMENTS_NOT_MET' && f.code !== 'NO_SIGNATURES')?.code ?? res?.failures[0]?.code;
  return { exit: r.code, verified: res?.verified ?? false, code };
}

describe('Docker Content Trust through a notaryV1 rule (real Notary, registry, skopeo)', { skip, timeout: 600_000 }, () => {
  let w: DctWorld;
  let cli: CliSession;
  let alice: DctSigner;
  let bob: DctSigner;
  const pins = new Map<string, { cert: string; json: string }>();

  before(async () => {
    w = await startDct();
    cli = new CliSession();
    alice = await w.newSigner('alice');
    bob = await w.newSigner('bob');
  });
  after(async () => {
    cli?.cleanup();
    await w?.stop();
  });

  /** A new repository (docker trust's first sign) with the pinned root kept as certificate and root.json. */
  async function repo(name: string): Promise<void> {
    await w.initRepo(name);
    pins.set(name, { cert: w.rootCertFile(name), json: w.rootJsonFile(name) });
  }

  function block(name: string, o: { root?: string; delegations?: string[]; server?: string } = {}) {
    const problems: string[] = [];
    const cfg = notaryV1Scheme.validate(
      { server: o.server ?? w.notary.url, root: o.root ?? pins.get(name)!.cert, ca: w.notary.caPath, ...(o.delegations ? { requiredDelegations: o.delegations } : {}) },
      '',
      { add: (p, m) => problems.push(`${p} ${m}`) },
    );
    assert.ok(cfg, problems.join('; '));
    return cfg;
  }

  /** The gate as the webhooks and the proxy use it: no home (state in memory), a rule with the notaryV1 block. */
  async function gateVerdict(name: string, tag: string, o: Parameters<typeof block>[1] & { clock?: Clock } = {}): Promise<Verdict & { decision: string }> {
    const rule: ImageRuleOptions = { rule: 'legacy', policyRevision: 'test', collection: w.gun(name), verify: {}, ocitrust: false, schemes: { notaryV1: block(name, o) } };
    const gate = createGate({ registry: new HttpRegistryClient(), cache: false, ...(o.clock ? { clock: o.clock } : {}) });
    const a = await gate.check(`${w.gun(name)}:${tag}`, { rule });
    const code = a.result.failures.find((f) => f.code !== 'REQUIREMENTS_NOT_MET')?.code ?? a.code;
    return { exit: a.outcome === 'verified' ? 0 : a.outcome === 'failed' ? 1 : 3, verified: a.outcome === 'verified', code, decision: a.decision };
  }

  async function cliVerify(name: string, tag: string, o: { root?: string; delegations?: string[]; server?: string } = {}): Promise<Verdict> {
    const args = ['verify', '-o', 'json', '--notary-server', o.server ?? w.notary.url, '--root', o.root ?? pins.get(name)!.cert, '--notary-ca', w.notary.caPath];
    for (const d of o.delegations ?? []) args.push('--notary-delegation', d);
    return cliVerdict(await cli.run([...args, `${w.gun(name)}:${tag}`]));
  }

  /** CLI and gate must agree; returns the common verdict. */
  async function both(name: string, tag: string, o: { root?: string; delegations?: string[]; server?: string } = {}): Promise<Verdict> {
    const [c, g] = [await cliVerify(name, tag, o), await gateVerdict(name, tag, o)];
    assert.deepEqual({ exit: c.exit, verified: c.verified, code: c.code }, { exit: g.exit, verified: g.verified, code: g.code }, `CLI and gate disagree on ${name}:${tag}`);
    return c;
  }

  /** What the real notary client says about the tag: `notary lookup` from a fresh trust dir. */
  async function notaryLookup(name: string, tag: string): Promise<string | undefined> {
    const r = await w.notary.client('lookup').runAny(['lookup', w.gun(name), tag]);
    return r.code === 0 ? r.stdout.trim().split(/\s+/)[1] : undefined;
  }

  it('one signer: a signed tag verifies, an unsigned one does not; notary agrees', async () => {
    await repo('dct/one');
    await w.addSigner('dct/one', alice);
    const img = await w.pushImage('dct/one', 'v1');
    await w.pushImage('dct/one', 'unsigned');
    await w.sign('dct/one', 'v1', img, [alice]);
    assert.equal(await notaryLookup('dct/one', 'v1'), img.digest);
    assert.deepEqual(await both('dct/one', 'v1'), { exit: 0, verified: true, code: undefined });
    assert.deepEqual(await both('dct/one', 'v1', { root: pins.get('dct/one')!.json }), { exit: 0, verified: true, code: undefined }, 'root.json pin');
    assert.equal(await notaryLookup('dct/one', 'unsigned'), undefined);
    assert.deepEqual(await both('dct/one', 'unsigned'), { exit: 1, verified: false, code: 'NOTARY_TARGET_MISSING' });
  });

  it('the CLI reports the signature with its format, and a policy file with a notaryV1 rule decides the same', async () => {
    const r = await cli.run(['verify', '-o', 'json', '--notary-server', w.notary.url, '--root', pins.get('dct/one')!.cert, '--notary-ca', w.notary.caPath, `${w.gun('dct/one')}:v1`]);
    const res = JSON.parse(r.stdout).results[0];
    assert.equal(res.signatures[0].role, 'targets/releases');
    assert.equal(res.signatures[0].format, 'notary-v1');
    const policy = join(cli.home, 'policy.yaml');
    writeFileSync(policy, [
      'version: 1',
      'rules:',
      '  - name: legacy',
      `    images: ["${w.gun('dct')}/**"]`,
      '    notaryV1:',
      `      server: ${w.notary.url}`,
      `      root: ${pins.get('dct/one')!.cert}`,
      `      ca: ${w.notary.caPath}`,
      '      requiredDelegations: [releases]',
      'unmatched: deny',
      '',
    ].join('\n'));
    const ok = cliVerdict(await cli.run(['verify', '-o', 'json', '--policy', policy, `${w.gun('dct/one')}:v1`]));
    assert.deepEqual(ok, { exit: 0, verified: true, code: undefined });
    const bad = cliVerdict(await cli.run(['verify', '-o', 'json', '--policy', policy, `${w.gun('dct/one')}:unsigned`]));
    assert.deepEqual(bad, { exit: 1, verified: false, code: 'NOTARY_TARGET_MISSING' });
  });

  it('two signers: each signed tag verifies; requiring a signer\'s own role tells them apart', async () => {
    await repo('dct/two');
    await w.addSigner('dct/two', alice);
    await w.addSigner('dct/two', bob);
    const a = await w.pushImage('dct/two', 'by-alice');
    const b = await w.pushImage('dct/two', 'by-bob');
    await w.sign('dct/two', 'by-alice', a, [alice]);
    await w.sign('dct/two', 'by-bob', b, [bob]);
    assert.equal(await notaryLookup('dct/two', 'by-alice'), a.digest);
    assert.equal(await notaryLookup('dct/two', 'by-bob'), b.digest);
    assert.equal((await both('dct/two', 'by-alice')).verified, true);
    assert.equal((await both('dct/two', 'by-bob')).verified, true);
    assert.equal((await both('dct/two', 'by-alice', { delegations: ['releases', 'alice'] })).verified, true);
    assert.deepEqual(await both('dct/two', 'by-bob', { delegations: ['releases', 'alice'] }), { exit: 1, verified: false, code: 'NOTARY_TARGET_MISSING' });
  });

  it('a threshold-2 delegation: notary refuses to publish one signature; both keys verify', async () => {
    await repo('dct/quorum');
    await w.addSigner('dct/quorum', alice, { roles: ['targets/releases'], threshold: 2 });
    await w.addSigner('dct/quorum', bob, { roles: ['targets/releases'], threshold: 2 });
    const img = await w.pushImage('dct/quorum', 'v1');
    await assert.rejects(w.sign('dct/quorum', 'v1', img, [alice], ['targets/releases']), /not enough signing keys: found 1 of 2/);
    // Nothing published into targets/releases yet: the required delegation has no metadata.
    assert.deepEqual(await both('dct/quorum', 'v1'), { exit: 1, verified: false, code: 'NOTARY_DELEGATION_MISSING' });
    // One trust dir holding both keys (two people would pass the staged change around).
    const both2 = await w.newSigner('quorum');
    await w.run(['key', 'import', alice.keyPath, '--role', 'alice'], both2.client);
    await w.run(['key', 'import', bob.keyPath, '--role', 'bob'], both2.client);
    await w.sign('dct/quorum', 'v1', img, [both2], ['targets/releases']);
    assert.equal(await notaryLookup('dct/quorum', 'v1'), img.digest);
    const v = await both('dct/quorum', 'v1');
    assert.deepEqual(v, { exit: 0, verified: true, code: undefined });
    const r = JSON.parse((await cli.run(['verify', '-o', 'json', '--notary-server', w.notary.url, '--root', pins.get('dct/quorum')!.cert, '--notary-ca', w.notary.caPath, `${w.gun('dct/quorum')}:v1`])).stdout).results[0];
    assert.equal(r.signatures.length, 2, 'both keys counted');
  });

  it('a removed signer: the tags only it signed no longer verify (threshold not met, as notary itself reports)', async () => {
    await repo('dct/removed');
    await w.addSigner('dct/removed', alice);
    await w.addSigner('dct/removed', bob);
    const img = await w.pushImage('dct/removed', 'v1');
    await w.sign('dct/removed', 'v1', img, [alice]);
    assert.equal((await both('dct/removed', 'v1')).verified, true);
    await w.removeSigner('dct/removed', alice);
    assert.deepEqual(await both('dct/removed', 'v1'), { exit: 1, verified: false, code: 'TUF_THRESHOLD_NOT_MET' });
  });

  it('a moved tag: the registry\'s manifest is not the signed one (CLI, gate, and the proxy serves then refuses)', async () => {
    await repo('dct/moved');
    await w.addSigner('dct/moved', alice);
    const img = await w.pushImage('dct/moved', 'v1');
    await w.sign('dct/moved', 'v1', img, [alice]);
    assert.equal((await both('dct/moved', 'v1')).verified, true);
    const policy = parsePolicy(['version: 1', 'rules:', '  - name: legacy', `    images: ["${w.gun('dct/moved')}"]`, '    notaryV1:', `      server: ${w.notary.url}`, `      root: ${pins.get('dct/moved')!.cert}`, `      ca: ${w.notary.caPath}`, 'unmatched: deny', ''].join('\n'));
    const proxy = await startProxyServer({ upstream: w.registry.url, policy });
    try {
      const served = await proxyFace(proxy.url, `${w.gun('dct/moved')}:v1`);
      assert.equal(served.decision, 'allow', served.raw);
      const moved: PushedImage = await w.pushImage('dct/moved', 'v1');
      assert.notEqual(moved.digest, img.digest);
      // notary still names the old digest (docker would pull that one); the tag as deployed fails.
      assert.equal(await notaryLookup('dct/moved', 'v1'), img.digest);
      assert.deepEqual(await both('dct/moved', 'v1'), { exit: 1, verified: false, code: 'NOTARY_TARGET_MISMATCH' });
      const refused = await proxyFace(proxy.url, `${w.gun('dct/moved')}:v1`);
      assert.deepEqual([refused.decision, refused.codes], ['deny', ['NOTARY_TARGET_MISMATCH']], refused.raw);
    } finally {
      await proxy.close();
    }
  });

  it('rotated Notary keys (targets, then root): the original pin still verifies through the root chain', async () => {
    await repo('dct/rotated');
    await w.addSigner('dct/rotated', alice);
    const img = await w.pushImage('dct/rotated', 'v1');
    await w.sign('dct/rotated', 'v1', img, [alice]);
    // The CLI persists its state before the rotation; the gate starts from the pin.
    assert.equal((await both('dct/rotated', 'v1')).verified, true);
    await w.rotateKey('dct/rotated', 'targets');
    await w.rotateKey('dct/rotated', 'root');
    const served = await httpNotarySource(w.notary.url, w.gun('dct/rotated'), { ca: readFileSync(w.notary.caPath) }).get('root.json', 1 << 20);
    const rotated = parseRoot(served!, 'served root');
    const pinned = parseNotaryPin(readFileSync(pins.get('dct/rotated')!.cert));
    assert.ok(rotated.signed.version >= 3, `root rotated (version ${rotated.signed.version})`);
    assert.ok(rotated.signed.roles.root.keyids.every((id) => rotated.signed.keys.get(id)!.fingerprint !== pinned.fingerprint), 'the pinned root key is no longer a root key');
    assert.equal(await notaryLookup('dct/rotated', 'v1'), img.digest);
    assert.deepEqual(await both('dct/rotated', 'v1'), { exit: 0, verified: true, code: undefined });
    assert.deepEqual(await both('dct/rotated', 'v1', { root: pins.get('dct/rotated')!.json }), { exit: 0, verified: true, code: undefined });
    // A fresh CLI home (no state) with the old certificate walks the chain from the first root.
    const fresh = new CliSession();
    try {
      const r = await fresh.run(['verify', '-o', 'json', '--notary-server', w.notary.url, '--root', pins.get('dct/rotated')!.cert, '--notary-ca', w.notary.caPath, `${w.gun('dct/rotated')}:v1`]);
      assert.deepEqual(cliVerdict(r), { exit: 0, verified: true, code: undefined });
    } finally {
      fresh.cleanup();
    }
  });

  it('bad input: not a Notary server, a GUN without trust data, another root, an expired timestamp', async () => {
    // The registry is not a Notary server: could not decide (exit 3), never "not signed".
    assert.deepEqual(await both('dct/one', 'v1', { server: w.registry.url }), { exit: 3, verified: false, code: 'NOTARY_NOT_A_SERVER' });
    await w.pushImage('dct/nothing', 'v1');
    assert.deepEqual(await both('dct/nothing', 'v1', { root: pins.get('dct/one')!.cert }), { exit: 1, verified: false, code: 'NOTARY_NO_TRUST_DATA' });
    // (The owner's repositories share its root key, as docker's do: pin a certificate of another key.)
    assert.deepEqual(await both('dct/two', 'by-alice', { root: alice.certPath }), { exit: 1, verified: false, code: 'NOTARY_ROOT_NOT_TRUSTED' });
    // notary-server signs timestamps for 14 days: 15 days later the gate refuses them.
    const later = { now: () => new Date(Date.now() + 15 * 86_400_000) };
    const g = await gateVerdict('dct/one', 'v1', { clock: later });
    assert.deepEqual([g.decision, g.code], ['deny', 'TUF_EXPIRED']);
    // --offline: Notary data is never cached for offline use (could not decide, exit 3).
    const offline = await cli.run(['verify', '-o', 'json', '--offline', '--notary-server', w.notary.url, '--root', pins.get('dct/one')!.cert, '--notary-ca', w.notary.caPath, `${w.gun('dct/one')}:v1`]);
    assert.deepEqual(cliVerdict(offline), { exit: 3, verified: false, code: 'TUF_CACHE_STALE' });
    // The one-off form needs a pin.
    const noRoot = await cli.run(['verify', '--notary-server', w.notary.url, `${w.gun('dct/one')}:v1`]);
    assert.equal(noRoot.code, 2);
    assert.match(noRoot.stderr, /--notary-server needs --root/);
  });
});
