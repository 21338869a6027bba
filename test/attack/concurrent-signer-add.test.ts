/**
 * Attack (issue 12, item 15): 20 concurrent `trust signer add` on one collection — before the
 * fix 3 landed and 17 failed with PUBLISH_VERSION_CONFLICT. An administrator's command re-reads
 * and re-applies its change, so concurrent independent changes all land; only a real conflict
 * (the same signer changed two ways while the command ran) is reported.
 *
 * 20 real `trust` processes (the shipped bundle) against a real trust server; the real-conflict
 * and interleaving cases run the admin use cases against the same server, with the competing
 * change forced between the command's read and its publish (a wrapper around the real client).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomSecretSeed } from '../../lib/crypto/ed25519.js';
import { isOcitrustError } from '../../lib/errors/index.js';
import { publicKeyToPem } from '../../lib/keys/pem.js';
import { SeedSigner } from '../../lib/keys/signer.js';
import { TrustServerClient } from '../../lib/trust-client.js';
import { addSigner, removeSigner, revokeSignatures, rotateKey, type AdminContext } from '../../lib/usecases/admin.js';
import { HttpRegistryClient } from '../../lib/oci/client.js';
import { OcitrustHome } from '../../lib/usecases/home.js';
import { CliSession, startTrustServer, type TestTrustServer } from '../helpers/cli.js';

const SIGNERS = 20;

/**
 * The real client, except that `race` runs once, right before the first publish: the competing
 * change lands between this command's read and its publish, every time.
 */
function racingServer(real: TrustServerClient, race: (collection: string) => Promise<unknown>): TrustServerClient & { raced: () => boolean } {
  let raced = false;
  const publish = async (collection: string, docs: Parameters<TrustServerClient['publish']>[1]) => {
    if (!raced) {
      raced = true;
      await race(collection);
    }
    return real.publish(collection, docs);
  };
  return new Proxy(real, {
    get(target, prop) {
      if (prop === 'publish') return publish;
      if (prop === 'raced') return () => raced;
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as TrustServerClient & { raced: () => boolean };
}

describe('attack: concurrent administration of one collection', () => {
  let ts: TestTrustServer;
  let s: CliSession;
  let work: string;

  before(async () => {
    ts = await startTrustServer({ registry: true });
    s = new CliSession({ server: ts.url, token: await ts.token() });
    work = mkdtempSync(join(tmpdir(), 'ocitrust-attack-signers-'));
  });
  after(async () => {
    await ts?.close();
    s?.cleanup();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** The admin context of the CLI session's home (same keys, same passphrase). */
  function admin(): AdminContext {
    const home = new OcitrustHome(s.home);
    const token = s.env['OCITRUST_TOKEN'] as string;
    return { home, keys: home.keyStore(), server: new TrustServerClient(ts.url, { token }), passphrase: async () => s.env['OCITRUST_PASSPHRASE'] as string, token };
  }

  it(`${SIGNERS} concurrent \`trust signer add\` (different signers) all land`, async () => {
    const repo = 'registry.example.com/attack/concurrent';
    const init = await s.run(['init', repo], { dist: true });
    assert.equal(init.code, 0, init.stderr);
    const files: string[] = [];
    for (let i = 0; i < SIGNERS; i++) {
      const f = join(work, `s${i}.pub`);
      writeFileSync(f, publicKeyToPem(new SeedSigner(randomSecretSeed()).publicKey));
      files.push(f);
    }
    const runs = await Promise.all(files.map((f, i) => s.run(['signer', 'add', '--key', f, `s${i}`, repo], { dist: true, timeoutMs: 180_000 })));
    const failed = runs.map((r, i) => ({ i, ...r })).filter((r) => r.code !== 0);
    assert.deepEqual(
      failed.map((r) => `s${r.i}: exit ${r.code}: ${r.stderr.trim()}`),
      [],
      'every concurrent signer add must land',
    );

    const list = await s.run(['signer', 'list', '-o', 'json', repo], { dist: true });
    assert.equal(list.code, 0, list.stderr);
    const doc = JSON.parse(list.stdout) as { version: number; signers: { name: string; keyids: string[] }[] };
    const names = doc.signers.map((x) => x.name).sort();
    const expected = [...Array.from({ length: SIGNERS }, (_, i) => `s${i}`), 'releases'].sort();
    assert.deepEqual(names, expected);
    // Each add also put its key into `releases`: all 20 keys are there, none lost to a race.
    assert.equal(doc.signers.find((x) => x.name === 'releases')?.keyids.length, SIGNERS);
    assert.equal(doc.version, 1 + SIGNERS, 'one targets version per add');
  });

  it('an independent change that lands between read and publish is merged, not reported', async () => {
    const repo = 'registry.example.com/attack/interleaved';
    assert.equal((await s.run(['init', repo], { dist: true })).code, 0);
    const a = new SeedSigner(randomSecretSeed()).publicKey;
    const b = new SeedSigner(randomSecretSeed()).publicKey;
    const ctx = admin();
    const server = racingServer(ctx.server, (collection) => addSigner(admin(), { collection, name: 'other', keys: [b] }));
    const r = await addSigner({ ...ctx, server }, { collection: repo, name: 'mine', keys: [a] });
    assert.ok(server.raced());
    const roles = r.trust.refresh.metadata.targets.signed.roles.map((x) => x.name).sort();
    assert.deepEqual(roles, ['mine', 'other', 'releases']);
    assert.equal(r.trust.refresh.metadata.targets.signed.delegations?.role('releases')?.keyids.length, 2);
  });

  it('the same signer changed two ways at once is a real conflict, reported with PUBLISH_CHANGE_CONFLICT', async () => {
    const repo = 'registry.example.com/attack/conflict';
    assert.equal((await s.run(['init', repo], { dist: true })).code, 0);
    const a = new SeedSigner(randomSecretSeed()).publicKey;
    const b = new SeedSigner(randomSecretSeed()).publicKey;
    const ctx = admin();
    // Someone else sets alice up with other keys and paths while this command runs.
    const server = racingServer(ctx.server, (collection) => addSigner(admin(), { collection, name: 'alice', keys: [b], paths: ['registry.example.com/attack/conflict:prod-*'] }));
    await assert.rejects(
      addSigner({ ...ctx, server }, { collection: repo, name: 'alice', keys: [a] }),
      (e) => isOcitrustError(e, 'PUBLISH_CHANGE_CONFLICT') && /alice/.test(e.message) && /changed/.test(e.message),
    );
    // The other change stands, untouched by the refused one.
    const after = await addSigner(admin(), { collection: repo, name: 'alice', keys: [b] });
    const alice = after.trust.refresh.metadata.targets.signed.delegations?.role('alice');
    assert.deepEqual(alice?.paths, ['registry.example.com/attack/conflict:prod-*']);
    assert.equal(alice?.keyids.length, 1);

    // Removing a signer that someone else changes meanwhile is a real conflict too.
    const racingRemove = racingServer(ctx.server, (collection) => addSigner(admin(), { collection, name: 'alice', keys: [a] }));
    await assert.rejects(removeSigner({ ...ctx, server: racingRemove }, { collection: repo, name: 'alice' }), (e) => isOcitrustError(e, 'PUBLISH_CHANGE_CONFLICT'));
  });

  it('revoke and key rotate racing an independent signer add both land', async () => {
    const repo = 'registry.example.com/attack/others';
    assert.equal((await s.run(['init', repo], { dist: true })).code, 0);
    const ctx = admin();
    const digest = `sha256:${'c'.repeat(64)}`;
    const host = new URL(ts.url).host;
    const registry = new HttpRegistryClient({ credentials: async () => ({ username: 'ocitrust', password: ctx.token as string }), plainHttp: true });
    const revokeRace = racingServer(ctx.server, (collection) => addSigner(admin(), { collection, name: 'during-revoke', keys: [new SeedSigner(randomSecretSeed()).publicKey] }));
    const rev = await revokeSignatures({ ...ctx, server: revokeRace }, { reference: `${host}/attack/others@${digest}`, collection: repo, registry, reason: 'attack test' });
    assert.ok(revokeRace.raced());
    const t1 = rev.trust.refresh.metadata.targets.signed;
    assert.ok(t1.delegations?.role('during-revoke'), 'the racing signer add stands');
    assert.equal(rev.version, t1.version);

    const rotateRace = racingServer(ctx.server, (collection) => addSigner(admin(), { collection, name: 'during-rotate', keys: [new SeedSigner(randomSecretSeed()).publicKey] }));
    const rot = await rotateKey({ ...ctx, server: rotateRace }, { collection: repo, role: 'targets' });
    assert.ok(rotateRace.raced());
    const after = await addSigner(admin(), { collection: repo, name: 'after-rotate', keys: [new SeedSigner(randomSecretSeed()).publicKey] });
    const t2 = after.trust.refresh.metadata.targets.signed;
    for (const name of ['during-revoke', 'during-rotate', 'after-rotate']) assert.ok(t2.delegations?.role(name), name);
    assert.deepEqual(after.trust.refresh.metadata.root.signed.role('targets').keyids, [rot.newKey.keyid]);
  });
});
