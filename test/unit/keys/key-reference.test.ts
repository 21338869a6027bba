// Key references (<name>.ref in the key store): a key held in a PKCS#11 token or behind a
// signer plugin, recorded with its public key and no secret. Parsed strictly; listed and
// resolved like key files; never decrypted or exported.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyReference } from '../../../lib/keys/reference.js';
import { KeyStore } from '../../../lib/keys/keystore.js';
import { PublicKey } from '../../../lib/keys/key.js';
import { localSigner, randomSecret } from '../../../lib/keys/signer.js';
import { fixedClock } from '../../../lib/clock.js';
import { isOcitrustError } from '../../../lib/errors/index.js';

const URI = 'pkcs11:token=ci;object=release?module-path=/usr/lib/softhsm/libsofthsm2.so';

describe('key references', () => {
  let dir: string;
  const key: PublicKey = localSigner('ecdsa-p256', randomSecret('ecdsa-p256')).publicKey;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ocitrust-keyref-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('round-trips through its canonical bytes', () => {
    const r = KeyReference.create(URI, key, fixedClock('2026-01-15T12:00:00Z'));
    const back = KeyReference.parse(r.toBytes());
    assert.equal(back.uri, URI);
    assert.equal(back.keyid, key.keyid);
    assert.equal(back.created, '2026-01-15T12:00:00Z');
    assert.deepEqual(back.toBytes(), r.toBytes());
  });

  it('refuses unknown fields, other URIs, a keyid that is not its key, garbage', () => {
    const good = JSON.parse(Buffer.from(KeyReference.create(URI, key).toBytes()).toString()) as Record<string, unknown>;
    const bad = (v: unknown, code: string) => assert.throws(() => KeyReference.parse(Buffer.from(typeof v === 'string' ? v : JSON.stringify(v))), (e) => isOcitrustError(e) && e.code === code);
    bad({ ...good, secret: 'x' }, 'KEY_REFERENCE_INVALID');
    bad({ ...good, uri: 'https://kms.example/key' }, 'KEY_REFERENCE_INVALID');
    bad({ ...good, version: 2 }, 'KEY_REFERENCE_INVALID');
    bad({ ...good, created: 'yesterday' }, 'KEY_REFERENCE_INVALID');
    bad({ ...good, keyid: '0'.repeat(64) }, 'KEYFILE_KEY_MISMATCH');
    bad('not json', 'KEY_REFERENCE_INVALID');
  });

  it('is listed and resolved with the key files; its private key is never decrypted or exported', async () => {
    const store = new KeyStore(dir, { scryptN: 1 << 15 });
    await store.generate('filekey', 'passphrase');
    await writeFile(join(dir, 'hsm.ref'), KeyReference.create(URI, key).toBytes());
    const list = await store.list();
    assert.deepEqual(list.map((k) => [k.name, k.uri]), [['filekey', undefined], ['hsm', URI]]);
    assert.equal((await store.resolve(key.keyid.slice(0, 10))).name, 'hsm');
    assert.equal(await store.isReference('hsm'), true);
    assert.equal(await store.isReference('filekey'), false);
    assert.equal((await store.publicKey('hsm')).keyid, key.keyid);
    assert.match(await store.exportPublicPem('hsm'), /^-----BEGIN PUBLIC KEY-----/);
    await assert.rejects(store.exportPrivatePem('hsm', 'x'), (e) => isOcitrustError(e, 'KEY_REFERENCE_INVALID'));
    await assert.rejects(store.loadSigner('hsm', 'x'), (e) => isOcitrustError(e, 'KEY_REFERENCE_INVALID'));
    // A name is taken whichever kind holds it.
    await assert.rejects(store.generate('hsm', 'passphrase'), (e) => isOcitrustError(e, 'KEY_EXISTS'));
  });

  it('a damaged reference file is an error naming it, not skipped', async () => {
    const d = await mkdtemp(join(tmpdir(), 'ocitrust-keyref-bad-'));
    try {
      await writeFile(join(d, 'broken.ref'), '{"type":"ocitrust-key-reference"}');
      await assert.rejects(new KeyStore(d).list(), (e) => isOcitrustError(e, 'KEY_REFERENCE_INVALID') && e.message.includes('broken.ref'));
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });
});
