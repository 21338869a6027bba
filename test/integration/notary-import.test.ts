// `trust import-notary` (issue 15 item 3) against the real DCT stack (test/helpers/notary.ts)
// and an ocitrust trust server: the Notary signers become signer roles with the same keys and
// thresholds, tags whose manifest still matches get ocitrust signatures made with the
// delegation keys from the Notary trust dir, the others are reported with their reason;
// --dry-run writes nothing, re-running is idempotent, bad keys stop it before anything is written.
// Without notary, docker-registry or skopeo the suite skips locally and FAILS under CI=true.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readdirSync, writeFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { CliSession, failureCodes, startTrustServer, type TestTrustServer } from '../helpers/cli.js';
import { dctMissing, startDct, NOTARY_PASSPHRASE, type DctSigner, type DctWorld, type PushedImage } from '../helpers/notary.js';
import { makeImage } from '../helpers/oci-layout.js';
import { readFileSync } from 'node:fs';
import { PublicKey } from '../../lib/keys/key.js';
import { parseNotaryPin } from '../../lib/notary/client.js';

const skip = dctMissing() ?? false;

describe('trust import-notary (real Notary, registry, skopeo, trust server)', { skip, timeout: 600_000 }, () => {
  let w: DctWorld;
  let ts: TestTrustServer;
  let cli: CliSession;
  let alice: DctSigner;
  let bob: DctSigner;
  const img: Record<string, PushedImage> = {};
  const REPO = 'mig/app';

  before(async () => {
    w = await startDct();
    ts = await startTrustServer();
    cli = new CliSession({ server: ts.url, token: await ts.token(), env: { OCITRUST_ALICE_PASSPHRASE: NOTARY_PASSPHRASE, OCITRUST_BOB_PASSPHRASE: NOTARY_PASSPHRASE } });
    alice = await w.newSigner('alice');
    bob = await w.newSigner('bob');
    await w.initRepo(REPO);
    await w.addSigner(REPO, alice);
    await w.addSigner(REPO, bob);
    for (const t of ['v1', 'v2', 'v3']) img[t] = await w.pushImage(REPO, t);
    await w.sign(REPO, 'v1', img.v1!, [alice]);
    await w.sign(REPO, 'v2', img.v2!, [bob]);
    await w.sign(REPO, 'v3', img.v3!, [alice]);
    // v3 moves after it was signed; v4 is signed but never pushed.
    await w.pushImage(REPO, 'v3');
    const m = makeImage().manifest;
    await w.sign(REPO, 'v4', { digest: m.digest, size: m.bytes.length, bytes: m.bytes }, [alice]);
  });
  after(async () => {
    cli?.cleanup();
    await ts?.close();
    await w?.stop();
  });

  const args = (repo: string, ...more: string[]) => ['import-notary', w.gun(repo), '--notary-server', w.notary.url, '--notary-ca', w.notary.caPath, '--root', w.rootCertFile(repo), ...more];

  it('--dry-run verifies and prints the plan, and writes nothing', async () => {
    const r = await cli.run([...args(REPO, '--notary-trust-dir', alice.client.trustDir, '--dry-run'), '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.dryRun, true);
    assert.deepEqual(j.tags.map((t: { tag: string; status: string }) => [t.tag, t.status]), [['v1', 'would-migrate'], ['v2', 'would-migrate']]);
    const v = await cli.run(['verify', '-o', 'json', `${w.gun(REPO)}:v1`]);
    assert.equal(v.code, 1, 'nothing signed yet');
    const text = await cli.run(args(REPO, '--notary-trust-dir', alice.client.trustDir, '--dry-run'));
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^Plan for .* \(Notary root v\d+, pinned\) into /);
    assert.match(text.stdout, /tag +v1 sha256:.* would-migrate \(/);
    assert.match(text.stdout, /skipped +v3 \(alice\): manifest-moved/);
  });

  it('migrates: signers with the same keys and thresholds, matching tags signed, the rest reported with reasons', async () => {
    const r = await cli.run([...args(REPO, '--notary-trust-dir', alice.client.trustDir), '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.collection.created, true);
    assert.deepEqual(j.signers.map((s: { name: string; threshold: number; keys: string[] }) => [s.name, s.threshold, s.keys.length]).sort(), [['alice', 1, 1], ['bob', 1, 1], ['releases', 1, 2]]);
    // targets/releases is one document, last signed by alice (v3, v4): her key vouches for every
    // tag in it, v2 included, as it does for notary; bob's own role needs bob's key.
    assert.deepEqual(j.tags.map((t: { tag: string; digest: string; roles: string[]; status: string }) => [t.tag, t.digest, [...t.roles].sort(), t.status]), [
      ['v1', img.v1!.digest, ['alice', 'releases'], 'migrated'],
      ['v2', img.v2!.digest, ['releases'], 'migrated'],
    ]);
    const reasons = j.skipped.map((s: { tag: string; role: string; reason: string }) => `${s.tag}/${s.role}/${s.reason}`).sort();
    assert.deepEqual(reasons, ['v2/bob/no-private-key', 'v3/alice/manifest-moved', 'v3/releases/manifest-moved', 'v4/alice/missing-from-registry', 'v4/releases/missing-from-registry']);
    assert.ok(j.collection.newKeys.length > 0, 'new ocitrust root/targets keys are reported');
  });

  it('the migrated tag verifies as a native ocitrust signature (releases and the signer\'s role); the others do not', async () => {
    const v1 = await cli.run(['verify', '-o', 'json', '--require', 'alice', `${w.gun(REPO)}:v1`]);
    assert.equal(v1.code, 0, v1.stdout + v1.stderr);
    assert.equal((await cli.run(['verify', `${w.gun(REPO)}:v2`])).code, 0, 'v2 through releases');
    const v2 = await cli.run(['verify', '-o', 'json', '--require', 'bob', `${w.gun(REPO)}:v2`]);
    assert.equal(v2.code, 1, 'bob\'s own role is not migrated without his key');
    assert.ok(failureCodes(v2).length > 0);
    const v3 = await cli.run(['verify', '-o', 'json', `${w.gun(REPO)}:v3`]);
    assert.equal(v3.code, 1, 'the moved tag is not signed');
    // The same tag still verifies through the notaryV1 rule: both during the move.
    const n = await cli.run(['verify', '--notary-server', w.notary.url, '--notary-ca', w.notary.caPath, '--root', w.rootCertFile(REPO), `${w.gun(REPO)}:v1`]);
    assert.equal(n.code, 0, n.stderr);
  });

  it('re-running is idempotent: nothing published or signed again', async () => {
    const r = await cli.run([...args(REPO, '--notary-trust-dir', alice.client.trustDir), '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.collection.created, false);
    assert.equal(j.collection.signersChanged, false);
    assert.deepEqual(j.tags.map((t: { status: string }) => t.status), ['already-migrated', 'already-migrated']);
    // Bob's key migrates his tag in a second run, without touching the rest.
    const b = await cli.run([...args(REPO, '--notary-trust-dir', bob.client.trustDir), '-o', 'json']);
    assert.equal(b.code, 0, b.stderr);
    assert.deepEqual(JSON.parse(b.stdout).tags.map((t: { tag: string; status: string }) => [t.tag, t.status]), [['v1', 'already-migrated'], ['v2', 'migrated']]);
    assert.equal((await cli.run(['verify', '--require', 'bob', `${w.gun(REPO)}:v2`])).code, 0);
  });

  it('a wrong passphrase or a damaged key file stops the import before anything is written', async () => {
    await w.initRepo('mig/bad');
    await w.addSigner('mig/bad', alice);
    const i = await w.pushImage('mig/bad', 'v1');
    await w.sign('mig/bad', 'v1', i, [alice]);
    const wrong = await cli.run([...args('mig/bad', '--notary-trust-dir', alice.client.trustDir)], { env: { OCITRUST_ALICE_PASSPHRASE: 'not the passphrase' } });
    assert.equal(wrong.code, 2, wrong.stderr);
    assert.match(wrong.stderr, /KEY_PASSPHRASE_WRONG/);
    const damaged = mkdtempSync(join(w.notary.dir, 'damaged-'));
    cpSync(alice.client.trustDir, damaged, { recursive: true });
    const key = readdirSync(join(damaged, 'private')).find((f) => f.endsWith('.key'))!;
    writeFileSync(join(damaged, 'private', key), '-----BEGIN ENCRYPTED PRIVATE KEY-----\nrole: alice\n\nMIIBAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n');
    const bad = await cli.run([...args('mig/bad', '--notary-trust-dir', damaged)]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /PEM_MALFORMED/);
    // Neither run created the collection.
    const v = await cli.run(['verify', '-o', 'json', `${w.gun('mig/bad')}:v1`]);
    assert.equal(v.code, 1);
    assert.ok(failureCodes(v).includes('NOT_SIGNED'), v.stdout);
  });

  /** `trust verify` exit codes through the notaryV1 rule and natively (after the import), tag by tag. */
  async function verdicts(repo: string, tags: string[]): Promise<{ notary: (number | null)[]; native: (number | null)[] }> {
    const notary: (number | null)[] = [];
    const native: (number | null)[] = [];
    for (const t of tags) {
      notary.push((await cli.run(['verify', '--notary-server', w.notary.url, '--notary-ca', w.notary.caPath, '--root', w.rootCertFile(repo), `${w.gun(repo)}:${t}`])).code);
      native.push((await cli.run(['verify', `${w.gun(repo)}:${t}`])).code);
    }
    return { notary, native };
  }

  it('after the import, tags verify natively with the verdicts they had through Notary', async () => {
    const v = await verdicts(REPO, ['v1', 'v2', 'v3']);
    assert.deepEqual(v.native, v.notary);
    assert.deepEqual(v.native, [0, 0, 1]);
  });

  it('a threshold-2 delegation migrates with its threshold and both keys', async () => {
    await w.initRepo('mig/quorum');
    await w.addSigner('mig/quorum', alice, { roles: ['targets/releases'], threshold: 2 });
    await w.addSigner('mig/quorum', bob, { roles: ['targets/releases'], threshold: 2 });
    const both = await w.newSigner('both');
    await w.run(['key', 'import', alice.keyPath, '--role', 'alice'], both.client);
    await w.run(['key', 'import', bob.keyPath, '--role', 'bob'], both.client);
    const i = await w.pushImage('mig/quorum', 'v1');
    await w.sign('mig/quorum', 'v1', i, [both], ['targets/releases']);
    const r = await cli.run([...args('mig/quorum', '--notary-trust-dir', both.client.trustDir), '-o', 'json'], { env: { OCITRUST_BOTH_PASSPHRASE: NOTARY_PASSPHRASE } });
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.deepEqual(j.signers.map((s: { name: string; threshold: number; keys: string[] }) => [s.name, s.threshold, s.keys.length]), [['releases', 2, 2]]);
    assert.deepEqual(j.tags.map((t: { tag: string; status: string }) => [t.tag, t.status]), [['v1', 'migrated']]);
    assert.deepEqual(await verdicts('mig/quorum', ['v1']), { notary: [0], native: [0] });
    // Alice's key alone is below the threshold: reported, not signed.
    const one = await cli.run([...args('mig/quorum', '--notary-trust-dir', alice.client.trustDir, '--dry-run'), '-o', 'json']);
    assert.deepEqual(JSON.parse(one.stdout).skipped.map((s: { reason: string }) => s.reason), ['below-threshold']);
  });

  it('a removed signer\'s delegation is reported as invalid, the import goes on, and the verdicts agree', async () => {
    await w.initRepo('mig/removed');
    await w.addSigner('mig/removed', alice);
    await w.addSigner('mig/removed', bob);
    const i = await w.pushImage('mig/removed', 'v1');
    await w.sign('mig/removed', 'v1', i, [alice]);
    await w.removeSigner('mig/removed', alice);
    const r = await cli.run([...args('mig/removed', '--notary-trust-dir', alice.client.trustDir), '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.deepEqual(j.tags, []);
    assert.ok(j.skipped.some((s: { role: string; reason: string }) => s.role === 'releases' && s.reason === 'delegation-invalid'), r.stdout);
    assert.ok(j.signers.some((s: { name: string; skipped?: string }) => s.name === 'alice' && s.skipped), 'alice has no keys left');
    assert.deepEqual(await verdicts('mig/removed', ['v1']), { notary: [1], native: [1] });
  });

  it('--keep-root-key: the new collection\'s root and targets keys are the Notary ones', async () => {
    await w.initRepo('mig/keep');
    await w.addSigner('mig/keep', alice);
    const i = await w.pushImage('mig/keep', 'v1');
    await w.sign('mig/keep', 'v1', i, [alice]);
    const env = { OCITRUST_ROOT_PASSPHRASE: NOTARY_PASSPHRASE, OCITRUST_TARGETS_PASSPHRASE: NOTARY_PASSPHRASE };
    const r = await cli.run([...args('mig/keep', '--notary-trust-dir', w.owner.trustDir, '--keep-root-key'), '-o', 'json'], { env });
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.collection.created, true);
    assert.deepEqual(j.collection.newKeys, []);
    assert.equal(j.collection.keptNotaryKeys.length, 2);
    // The collection's root is signed by the Notary root key: the pinned certificate's key.
    const exported = await cli.run(['root', 'export', w.gun('mig/keep')], { env });
    assert.equal(exported.code, 0, exported.stderr);
    const root = JSON.parse(exported.stdout);
    const rootKeys = root.signed.roles.root.keyids.map((id: string) => PublicKey.fromJSON(root.signed.keys[id]).fingerprint);
    assert.deepEqual(rootKeys, [parseNotaryPin(readFileSync(w.rootCertFile('mig/keep'))).fingerprint]);
    // Without the trust dir the flag is a usage error.
    assert.equal((await cli.run([...args('mig/keep', '--keep-root-key')])).code, 2);
  });

  it('without --root the first use needs --yes and prints the root key fingerprints', async () => {
    const r = await cli.run(['import-notary', w.gun(REPO), '--notary-server', w.notary.url, '--notary-ca', w.notary.caPath, '--dry-run']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Notary root keys of .* \(first use\): [0-9a-f]{64}/);
    const y = await cli.run(['import-notary', w.gun(REPO), '--notary-server', w.notary.url, '--notary-ca', w.notary.caPath, '--dry-run', '--yes', '-o', 'json']);
    assert.equal(y.code, 0, y.stderr);
    assert.equal(JSON.parse(y.stdout).notaryRoot.firstUse, true);
  });
});
