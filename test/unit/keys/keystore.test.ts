// The key store directory used by the CLI (~/.ocitrust/keys).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyStore, KEY_NAME_PATTERN } from '../../../lib/keys/keystore.js';
import { parsePublicKeyPem, parsePrivateKeyPem, privateKeyToPem } from '../../../lib/keys/pem.js';
import { verifyEd25519 } from '../../../lib/crypto/ed25519.js';
import { fixedClock } from '../../../lib/clock.js';
import { isOcitrustError, type ErrorCode } from '../../../lib/errors/index.js';
import { rfc8032, hex } from '../crypto/vectors.js';

const PASS = 'store passphrase';
let root: string;

async function rejectsCode(p: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(p, (e) => {
    assert.ok(isOcitrustError(e), `expected OcitrustError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

/** Seeds whose keyids share the first 6 hex digits (found by search; asserted below). */
function prefixTwin(i: number): Uint8Array {
  const seed = new Uint8Array(32);
  new DataView(seed.buffer).setUint32(0, i);
  return seed;
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'ocitrust-keystore-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('KeyStore', () => {
  it('unlocks a key file once per store and passphrase (the CLI checks a passphrase, then signs: one scrypt, not two)', async () => {
    const dir = join(root, 'unlock', 'keys');
    const store = new KeyStore(dir);
    const k = await store.generate('bob', PASS);
    const first = await store.loadSigner('bob', PASS);
    assert.equal(await store.loadSigner(k.keyid, PASS), first, 'the same unlocked signer, by name or keyid');
    assert.equal(await store.openSigner('bob', async () => PASS), first, 'and for signing');
    // A wrong passphrase is not remembered as anything: it fails every time, and the right one still works.
    await rejectsCode(store.loadSigner('bob', 'wrong'), 'KEY_PASSPHRASE_WRONG');
    await rejectsCode(store.loadSigner('bob', 'wrong'), 'KEY_PASSPHRASE_WRONG');
    // Another store (another command) unlocks afresh.
    const again = await new KeyStore(dir).loadSigner('bob', PASS);
    assert.notEqual(again, first);
    assert.equal(again.keyid, first.keyid);
    // A key file replaced under the same name (another key) is unlocked afresh, not served from memory.
    await rm(join(dir, 'bob.key'));
    const k2 = await store.generate('bob', PASS);
    const second = await store.loadSigner('bob', PASS);
    assert.notEqual(second, first);
    assert.equal(second.keyid, k2.keyid);
  });

  it('defaultDir is ~/.ocitrust/keys', () => {
    assert.match(KeyStore.defaultDir(), /[/\\]\.ocitrust[/\\]keys$/);
  });

  it('generate creates the directory 0700 and a 0600 file; list, publicKey, loadSigner work by name, keyid and prefix', async () => {
    const dir = join(root, 'a', 'keys');
    const store = new KeyStore(dir, { clock: fixedClock('2026-01-02T03:04:05Z') });
    assert.deepEqual(await store.list(), []);
    const old = process.umask(0o022);
    let k;
    try {
      k = await store.generate('alice', PASS);
    } finally {
      process.umask(old);
    }
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    assert.equal((await stat(join(dir, 'alice.key'))).mode & 0o777, 0o600);
    assert.deepEqual(await readdir(dir), ['alice.key']);
    assert.equal(k.name, 'alice');
    assert.equal(k.keyid, k.publicKey.keyid);
    assert.equal(parsePublicKeyPem(k.publicPem).keyid, k.keyid);
    assert.deepEqual(await store.list(), [{ name: 'alice', keyid: k.keyid, created: '2026-01-02T03:04:05Z' }]);

    for (const ref of ['alice', k.keyid, k.keyid.slice(0, 6), k.keyid.slice(0, 12).toUpperCase()]) {
      assert.equal((await store.publicKey(ref)).keyid, k.keyid, ref);
    }
    const signer = await store.loadSigner(k.keyid.slice(0, 8), PASS);
    const msg = new TextEncoder().encode('hello');
    assert.ok(verifyEd25519(await signer.sign(msg), msg, k.publicKey.publicKey));
    assert.equal((await store.resolve('alice')).path, join(dir, 'alice.key'));
    assert.equal(await store.exportPublicPem('alice'), k.publicPem);
  });

  it('imports an OpenSSL PKCS#8 PEM and exports the same private and public PEM', async () => {
    const store = new KeyStore(join(root, 'b'));
    const v = rfc8032()[0]!;
    const pem = privateKeyToPem(hex(v.secretKey));
    const k = await store.importPem(pem, 'rfc-1', PASS);
    assert.equal(Buffer.from(k.publicKey.publicKey).toString('hex'), v.publicKey);
    assert.equal(await store.exportPrivatePem('rfc-1', PASS), pem);
    assert.equal(Buffer.from(parsePrivateKeyPem(await store.exportPrivatePem(k.keyid, PASS))).toString('hex'), v.secretKey);
    assert.equal(Buffer.from(parsePublicKeyPem(await store.exportPublicPem('rfc-1')).publicKey).toString('hex'), v.publicKey);
  });

  it('refuses duplicate names and the same key under a second name (KEY_EXISTS)', async () => {
    const store = new KeyStore(join(root, 'c'));
    const pem = privateKeyToPem(hex(rfc8032()[1]!.secretKey));
    await store.importPem(pem, 'one', PASS);
    await rejectsCode(store.generate('one', PASS), 'KEY_EXISTS');
    await rejectsCode(store.importPem(pem, 'two', PASS), 'KEY_EXISTS');
    assert.deepEqual((await store.list()).map((e) => e.name), ['one']);
    assert.deepEqual(await readdir(join(root, 'c')), ['one.key']);
  });

  it('validates names (KEY_NAME_INVALID)', async () => {
    const store = new KeyStore(join(root, 'd'));
    for (const bad of ['', 'Alice', '-x', '.x', 'a/b', '../x', 'a b', 'x'.repeat(65), 'é']) {
      assert.ok(!KEY_NAME_PATTERN.test(bad));
      await rejectsCode(store.generate(bad, PASS), 'KEY_NAME_INVALID');
    }
    for (const good of ['a', '0', 'team-a.release_1', 'x'.repeat(64)]) assert.ok(KEY_NAME_PATTERN.test(good), good);
  });

  it('unknown names, short prefixes and ambiguous prefixes have their own codes', async () => {
    const store = new KeyStore(join(root, 'e'));
    const a = await store.importPem(privateKeyToPem(prefixTwin(3922)), 'twin-a', PASS);
    const b = await store.importPem(privateKeyToPem(prefixTwin(7222)), 'twin-b', PASS);
    assert.equal(a.keyid.slice(0, 6), b.keyid.slice(0, 6));
    assert.notEqual(a.keyid, b.keyid);
    await rejectsCode(store.publicKey(a.keyid.slice(0, 6)), 'KEY_AMBIGUOUS');
    const n = [...a.keyid].findIndex((c, i) => c !== b.keyid[i]);
    assert.equal((await store.publicKey(a.keyid.slice(0, n + 1))).keyid, a.keyid);
    await rejectsCode(store.publicKey('nobody'), 'KEY_NOT_FOUND');
    await rejectsCode(store.publicKey(a.keyid.slice(0, 5)), 'KEY_NOT_FOUND');
    await rejectsCode(store.publicKey('0'.repeat(64)), 'KEY_NOT_FOUND');
    await rejectsCode(store.loadSigner('twin-a', 'wrong'), 'KEY_PASSPHRASE_WRONG');
    await rejectsCode(store.exportPrivatePem('twin-a', 'wrong'), 'KEY_PASSPHRASE_WRONG');
  });

  it('list ignores temp files and other files, but names a corrupted key file', async () => {
    const dir = join(root, 'f');
    const store = new KeyStore(dir);
    await store.generate('ok', PASS);
    await writeFile(join(dir, '.ok.key.123.tmp'), 'partial');
    await writeFile(join(dir, 'README'), 'notes');
    await writeFile(join(dir, 'Bad Name.key'), 'junk');
    assert.deepEqual((await store.list()).map((e) => e.name), ['ok']);
    await writeFile(join(dir, 'broken.key'), '{"type":"ocitrust-private-key"');
    await assert.rejects(store.list(), (e) => isOcitrustError(e, 'KEYFILE_MALFORMED') && e.message.includes('broken.key'));
  });

  it('refuses empty passphrases and non-string references (INVALID_ARGUMENT)', async () => {
    const store = new KeyStore(join(root, 'g'));
    await rejectsCode(store.generate('x', ''), 'INVALID_ARGUMENT');
    await rejectsCode(store.publicKey(7 as unknown as string), 'INVALID_ARGUMENT');
  });
});
