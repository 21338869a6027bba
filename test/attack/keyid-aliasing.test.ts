// Issue 12 item 2: one key under two keyids meets a threshold of 2.
//
// A TUF keyid is the SHA-256 of the key object *as given*, unknown fields such as the legacy
// `keyid_hash_algorithms` included, so one Ed25519 public key has as many valid keyids as
// there are spellings of its key object. Thresholds that count keyids then count one key
// twice (the go-tuf GHSA-4f8r-qqr9-fq8j class). Each case below lists one key under two
// keyids in a threshold-2 role and signs once (the one signature repeated under both
// keyids): it must never verify, and such metadata is refused where it is published and
// where a client meets it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { canonicalBytes } from '../../lib/crypto/canonical.js';
import { toHex } from '../../lib/crypto/hash.js';
import { fixedClock } from '../../lib/clock.js';
import { OcitrustError } from '../../lib/errors/index.js';
import { PublicKey } from '../../lib/keys/key.js';
import type { LocalSigner as SeedSigner } from '../../lib/keys/signer.js';
import { Metadata } from '../../lib/metadata/metadata.js';
import { Role } from '../../lib/metadata/role.js';
import { TrustedSet } from '../../lib/tuf/trusted-set.js';
import { Updater } from '../../lib/tuf/updater.js';
import { MemoryTrustCache } from '../../lib/tuf/store.js';
import { serializeEnvelope, envelopeToJSON } from '../../lib/statements/dsse.js';
import { signStatement } from '../../lib/statements/sign.js';
import { buildSignatureStatement } from '../../lib/statements/statement.js';
import { digestOf } from '../../lib/crypto/hash.js';
import { verifyImage } from '../../lib/verify/verifier.js';
import type { TrustedTargets } from '../../lib/verify/trust.js';
import { TEST_TIME, buildCollection, toBytes } from '../helpers/collection.js';
import { Owner, bearer, testApp, tokenFor, type ServerKeysDoc } from '../helpers/trust-server.js';
import { alice, bob, clock as verifyClock, input, statementInput, REPO } from '../unit/verify/fixtures.js';

/** The same public key as `key`, spelled with the legacy field: another, equally valid keyid. */
function alias(key: PublicKey): PublicKey {
  return PublicKey.fromJSON({ ...key.toJSON(), keyid_hash_algorithms: ['sha256', 'sha512'] });
}

/** `signed` signed once by `signer`, the one signature listed under each of `keyids`. */
function signUnder(signed: unknown, signer: SeedSigner, keyids: readonly string[]): { signed: unknown; signatures: object[] } {
  const sig = toHex(signer.signSync(canonicalBytes(signed)));
  return { signed, signatures: keyids.map((keyid) => ({ keyid, sig })) };
}

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof OcitrustError, `expected OcitrustError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

describe('attack: one key under two keyids (issue 12 item 2)', () => {
  describe('verifyImage with a threshold-2 role', () => {
    const aliceAlias = alias(alice.publicKey);
    const aliased = (): TrustedTargets => ({
      collection: REPO,
      version: 3,
      expires: new Date('2026-06-01T00:00:00Z'),
      keys: new Map([
        [alice.keyid, alice.publicKey],
        [aliceAlias.keyid, aliceAlias],
        [bob.keyid, bob.publicKey],
      ]),
      roles: [{ name: 'releases', keyids: [alice.keyid, aliceAlias.keyid], threshold: 2, paths: ['registry.example.com/team/*'], terminating: false }],
      revocations: [],
    });

    it('one signature listed under both keyids does not verify, and the aliasing is reported', async () => {
      assert.notEqual(aliceAlias.keyid, alice.keyid);
      const env = await signStatement(buildSignatureStatement(statementInput()), [alice]);
      const json = envelopeToJSON(env);
      // The same signature bytes, hinted once under each keyid.
      const doubled = { ...json, signatures: [json.signatures[0]!, { ...json.signatures[0]!, keyid: aliceAlias.keyid }] };
      const bytes = canonicalBytes(doubled);
      const r = verifyImage(input([{ bytes, digest: digestOf(bytes) }], { trust: aliased(), clock: verifyClock }));
      assert.equal(r.verified, false, JSON.stringify(r));
      const codes = r.failures.map((f) => f.code);
      assert.ok(codes.includes('THRESHOLD_NOT_MET'), codes.join());
      assert.ok(codes.includes('METADATA_DUPLICATE_KEY'), codes.join());
    });

    it('two envelopes by the one key, hinted under each keyid, do not verify either', async () => {
      const a = serializeEnvelope(await signStatement(buildSignatureStatement(statementInput()), [alice]));
      const j = JSON.parse(new TextDecoder().decode(a));
      j.signatures[0].keyid = aliceAlias.keyid;
      const b = canonicalBytes(j);
      const r = verifyImage(input([{ bytes: a, digest: digestOf(a) }, { bytes: b, digest: digestOf(b) }], { trust: aliased() }));
      assert.equal(r.verified, false, JSON.stringify(r));
      assert.ok(r.failures.some((f) => f.code === 'THRESHOLD_NOT_MET'));
      // The one key is reported once, not once per keyid.
      assert.equal(r.signatures.length, 1);
      assert.equal(r.signatures[0]!.keyid, alice.keyid);
    });

    it('two real keys still meet the threshold', async () => {
      const t = { ...aliased(), roles: [{ name: 'releases', keyids: [alice.keyid, bob.keyid], threshold: 2, paths: ['registry.example.com/team/*'], terminating: false }] };
      const bytes = serializeEnvelope(await signStatement(buildSignatureStatement(statementInput()), [alice, bob]));
      const r = verifyImage(input([{ bytes, digest: digestOf(bytes) }], { trust: t }));
      assert.equal(r.verified, true, JSON.stringify(r.failures));
    });
  });

  describe('TUF metadata thresholds count key material, not keyids', () => {
    it('Metadata.validSigners counts one key listed under two keyids once', async () => {
      const c = await buildCollection({ collection: 'reg.example/alias' });
      const ts = c.keys.timestamp[0]!;
      const tsAlias = alias(ts.publicKey);
      const doc = signUnder(c.timestamp.signed.toJSON(), ts, [ts.keyid, tsAlias.keyid]);
      const md = Metadata.fromJSON('timestamp', doc);
      const role = new Role({ keyids: [ts.keyid, tsAlias.keyid], threshold: 2 });
      const keys = new Map([
        [ts.keyid, ts.publicKey],
        [tsAlias.keyid, tsAlias],
      ]);
      assert.equal(Metadata.validSigners(role, keys, md).size, 1);
    });
  });

  describe('TUF client', () => {
    const clock = fixedClock(TEST_TIME);

    it('refuses a pinned threshold-2 root whose root role lists one key twice', async () => {
      const c = await buildCollection({ collection: 'reg.example/alias' });
      const rk = c.keys.root[0]!;
      const rkAlias = alias(rk.publicKey);
      const doc = c.json('1.root.json');
      doc.signed.keys[rkAlias.keyid] = rkAlias.toJSON();
      doc.signed.roles.root = { keyids: [rk.keyid, rkAlias.keyid], threshold: 2 };
      const bytes = toBytes(signUnder(doc.signed, rk, [rk.keyid, rkAlias.keyid]));
      throwsCode(() => new TrustedSet(bytes, { clock }), 'METADATA_DUPLICATE_KEY');
    });

    it('refuses a rotation to a threshold-2 root that lists one key twice', async () => {
      const c = await buildCollection({ collection: 'reg.example/alias' });
      const rk = c.keys.root[0]!;
      const rkAlias = alias(rk.publicKey);
      const doc = c.json('1.root.json');
      doc.signed.version = 2;
      doc.signed.keys[rkAlias.keyid] = rkAlias.toJSON();
      doc.signed.roles.root = { keyids: [rk.keyid, rkAlias.keyid], threshold: 2 };
      const set = new TrustedSet(c.rootBytes(1), { clock });
      throwsCode(() => set.updateRoot(toBytes(signUnder(doc.signed, rk, [rk.keyid, rkAlias.keyid]))), 'METADATA_DUPLICATE_KEY');
      assert.equal(set.root.signed.version, 1);
    });

    it('refuses a root whose threshold-2 timestamp role lists one key twice', async () => {
      const c = await buildCollection({ collection: 'reg.example/alias' });
      const rk = c.keys.root[0]!;
      const ts = c.keys.timestamp[0]!;
      const tsAlias = alias(ts.publicKey);
      const doc = c.json('1.root.json');
      doc.signed.keys[tsAlias.keyid] = tsAlias.toJSON();
      doc.signed.roles.timestamp = { keyids: [ts.keyid, tsAlias.keyid], threshold: 2 };
      throwsCode(() => new TrustedSet(toBytes(signUnder(doc.signed, rk, [rk.keyid])), { clock }), 'METADATA_DUPLICATE_KEY');
    });

    it('refuses targets whose threshold-2 delegated role lists one key twice', async () => {
      const c = await buildCollection({ collection: 'reg.example/alias', signers: [{ name: 'releases' }] });
      const signer = c.signer('releases');
      const sAlias = alias(signer.publicKey);
      const tk = c.keys.targets[0]!;
      const doc = c.json('1.targets.json');
      doc.signed.delegations.keys[sAlias.keyid] = sAlias.toJSON();
      doc.signed.delegations.roles[0].keyids = [signer.keyid, sAlias.keyid];
      doc.signed.delegations.roles[0].threshold = 2;
      throwsCode(() => Metadata.fromJSON('targets', signUnder(doc.signed, tk, [tk.keyid])), 'METADATA_DUPLICATE_KEY');
    });

    it('a refresh against a source serving such targets fails with METADATA_DUPLICATE_KEY', async () => {
      const c = await buildCollection({ collection: 'reg.example/alias', signers: [{ name: 'releases' }] });
      const signer = c.signer('releases');
      const sAlias = alias(signer.publicKey);
      const tk = c.keys.targets[0]!;
      const doc = c.json('1.targets.json');
      doc.signed.version = 2;
      doc.signed.delegations.keys[sAlias.keyid] = sAlias.toJSON();
      doc.signed.delegations.roles[0].keyids = [signer.keyid, sAlias.keyid];
      doc.signed.delegations.roles[0].threshold = 2;
      // Served with a consistent snapshot and timestamp, so only the delegation is wrong.
      c.put('2.targets.json', toBytes(signUnder(doc.signed, tk, [tk.keyid])));
      const { MetaFile } = await import('../../lib/metadata/meta-file.js');
      const { bumpVersion } = await import('../../lib/metadata/builders.js');
      const { signMetadata } = await import('../helpers/collection.js');
      const snap = bumpVersion(c.snapshot.signed.withTargetsMeta(MetaFile.forBytes(2, c.file('2.targets.json'))), { clock });
      c.snapshot = await signMetadata(snap, c.keys.snapshot);
      c.files.set(`${snap.version}.snapshot.json`, c.snapshot.toBytes());
      await c.publishTimestamp();
      const u = new Updater({ collection: c.collection, trustedRoot: c.rootBytes(1), source: c.source(), cache: new MemoryTrustCache(), clock });
      await assert.rejects(u.refresh(), (e: unknown) => e instanceof OcitrustError && e.code === 'METADATA_DUPLICATE_KEY');
    });
  });

  describe('trust server publish (real HTTP)', () => {
    let t: Awaited<ReturnType<typeof testApp>>;
    let app: FastifyInstance;
    let base: string;
    let admin: string;
    let n = 0;

    before(async () => {
      t = await testApp();
      app = t.app;
      base = await app.listen({ host: '127.0.0.1', port: 0 });
      admin = await tokenFor(app, 'admin', ['**']);
    });
    after(async () => t.close());

    async function create(): Promise<{ name: string; keys: ServerKeysDoc }> {
      const name = `reg.example.com/alias/c${++n}`;
      const r = await fetch(`${base}/v1/collections`, { method: 'POST', headers: { ...bearer(admin), 'content-type': 'application/json' }, body: JSON.stringify({ name }) });
      const text = await r.text();
      assert.equal(r.status, 201, text);
      return { name, keys: JSON.parse(text) as ServerKeysDoc };
    }

    async function publish(name: string, body: unknown): Promise<{ status: number; json: any }> {
      const r = await fetch(`${base}/v1/collections/${name}/metadata`, {
        method: 'POST',
        headers: { ...bearer(admin), 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const text = await r.text();
      return { status: r.status, json: JSON.parse(text) };
    }

    it('refuses a threshold-2 root role that lists one key twice: 400 METADATA_DUPLICATE_KEY', async () => {
      const { name, keys } = await create();
      const owner = new Owner(name, keys);
      const { targets } = await owner.initial();
      const rk = owner.rootKeys[0]!;
      const rkAlias = alias(rk.publicKey);
      const signed = owner.root.signed.toJSON() as any;
      signed.keys[rkAlias.keyid] = rkAlias.toJSON();
      signed.roles.root = { keyids: [rk.keyid, rkAlias.keyid], threshold: 2 };
      const r = await publish(name, { root: signUnder(signed, rk, [rk.keyid, rkAlias.keyid]), targets });
      assert.equal(r.status, 400, JSON.stringify(r.json));
      assert.equal(r.json.code, 'METADATA_DUPLICATE_KEY');
    });

    it('refuses a threshold-2 targets role that lists one key twice', async () => {
      const { name, keys } = await create();
      const owner = new Owner(name, keys);
      await owner.initial();
      const rk = owner.rootKeys[0]!;
      const tk = owner.targetsKeys[0]!;
      const tkAlias = alias(tk.publicKey);
      const signed = owner.root.signed.toJSON() as any;
      signed.keys[tkAlias.keyid] = tkAlias.toJSON();
      signed.roles.targets = { keyids: [tk.keyid, tkAlias.keyid], threshold: 2 };
      const r = await publish(name, { root: signUnder(signed, rk, [rk.keyid]), targets: signUnder(owner.targets.signed.toJSON(), tk, [tk.keyid, tkAlias.keyid]) });
      assert.equal(r.status, 400, JSON.stringify(r.json));
      assert.equal(r.json.code, 'METADATA_DUPLICATE_KEY');
    });

    it('refuses a delegation that lists one signer key twice', async () => {
      const { name, keys } = await create();
      const owner = new Owner(name, keys);
      const first = await owner.initial();
      assert.equal((await publish(name, first)).status, 200);
      const tk = owner.targetsKeys[0]!;
      const a = alias(alice.publicKey);
      const next = (await owner.candidateTargets((x) => x.withDelegation({ name: 'releases', keys: [alice.publicKey], paths: [`${name}*`] }))).signed.toJSON() as any;
      next.delegations.keys[a.keyid] = a.toJSON();
      next.delegations.roles[0].keyids = [alice.keyid, a.keyid];
      next.delegations.roles[0].threshold = 2;
      const r = await publish(name, { targets: signUnder(next, tk, [tk.keyid]) });
      assert.equal(r.status, 400, JSON.stringify(r.json));
      assert.equal(r.json.code, 'METADATA_DUPLICATE_KEY');
    });
  });
});
