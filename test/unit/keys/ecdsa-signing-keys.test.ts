import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyFile } from '../../../lib/keys/keyfile.js';
import { KeyStore } from '../../../lib/keys/keystore.js';
import { EcdsaP256Signer, localSigner, randomSecret } from '../../../lib/keys/signer.js';
import { parseSigningKeyPem, privateKeyToPem, publicKeyToPem } from '../../../lib/keys/pem.js';
import { PublicKey } from '../../../lib/keys/key.js';
import { p256Scalar } from '../../../lib/crypto/ecdsa-p256.js';
import { OcitrustError } from '../../../lib/errors/index.js';
import { signStatement } from '../../../lib/statements/sign.js';
import { verifyEnvelope } from '../../../lib/statements/dsse.js';

const code = (c: string) => (e: unknown) => e instanceof OcitrustError && e.code === c;

describe('ECDSA P-256 signing keys', () => {
  it('sign/verify round trip; the key object is TUF ecdsa / ecdsa-sha2-nistp256 with a hex point', async () => {
    const s = new EcdsaP256Signer(randomSecret('ecdsa-p256'));
    const json = s.publicKey.toJSON();
    assert.equal(json.keytype, 'ecdsa');
    assert.equal(json.scheme, 'ecdsa-sha2-nistp256');
    assert.match(json.keyval.public, /^04[0-9a-f]{128}$/);
    const again = PublicKey.fromJSON(json);
    assert.equal(again.keyid, s.keyid);
    const m = new TextEncoder().encode('bytes');
    const sig = await s.sign(m);
    assert.equal(sig[0], 0x30);
    assert.equal(again.verify(sig, m), true);
    assert.equal(again.verify(sig, new TextEncoder().encode('other')), false);
  });

  it('signs DSSE statements that verify with the public key alone', async () => {
    const s = localSigner('ecdsa-p256', randomSecret('ecdsa-p256'));
    const env = await signStatement({ _type: 'https://in-toto.io/Statement/v1', subject: [], predicateType: 'x', predicate: {} }, [s]);
    const keys = new Map([[s.keyid, PublicKey.fromJSON(s.publicKey.toJSON())]]);
    assert.equal(verifyEnvelope(env, keys).length, 1);
  });

  it('key files carry the type: encrypt, parse, decrypt to a working ECDSA signer', async () => {
    const secret = randomSecret('ecdsa-p256');
    const file = await KeyFile.encrypt(secret, 'pw', { algorithm: 'ecdsa-p256' });
    const parsed = KeyFile.parse(file.serialize());
    assert.equal(parsed.algorithm, 'ecdsa-p256');
    assert.equal(parsed.keyid, new EcdsaP256Signer(secret).keyid);
    const signer = await parsed.signer('pw');
    assert.ok(signer instanceof EcdsaP256Signer);
    await assert.rejects(parsed.signer('wrong'), code('KEY_PASSPHRASE_WRONG'));
  });

  it('a key file whose type was swapped (ed25519 header over an ECDSA secret) is refused', async () => {
    const file = await KeyFile.encrypt(randomSecret('ecdsa-p256'), 'pw', { algorithm: 'ecdsa-p256' });
    const ed = localSigner('ed25519', randomSecret('ed25519'));
    const json = { ...file.toJSON(), key: ed.publicKey.toJSON(), keyid: ed.keyid };
    await assert.rejects(KeyFile.parse(JSON.stringify(json)).decrypt('pw'), code('KEYFILE_CORRUPT'));
  });

  it('key files of verify-only key types are KEYFILE_UNSUPPORTED', async () => {
    const file = await KeyFile.encrypt(randomSecret('ed25519'), 'pw');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'der', type: 'spki' });
    const key = { keytype: 'rsa', keyval: { public: Buffer.from(rsa).toString('base64') } };
    const json = { ...file.toJSON(), key, keyid: PublicKey.fromJSON(key).keyid };
    assert.throws(() => KeyFile.parse(JSON.stringify(json)), code('KEYFILE_UNSUPPORTED'));
  });

  it('PEM: imports P-256 PKCS#8 and SEC 1, exports PKCS#8 and SPKI that node reads back as the same key', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const d = p256Scalar(privateKey);
    for (const pem of [privateKey.export({ format: 'pem', type: 'pkcs8' }), privateKey.export({ format: 'pem', type: 'sec1' })]) {
      const got = parseSigningKeyPem(pem.toString());
      assert.equal(got.algorithm, 'ecdsa-p256');
      assert.deepEqual(got.secret, d);
    }
    const s = new EcdsaP256Signer(d);
    assert.equal(publicKeyToPem(s.publicKey), publicKey.export({ format: 'pem', type: 'spki' }).toString());
    assert.deepEqual(parseSigningKeyPem(privateKeyToPem(d, 'ecdsa-p256')).secret, d);
    const ed = parseSigningKeyPem(generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
    assert.equal(ed.algorithm, 'ed25519');
  });

  it('PEM: other curves, encrypted keys and garbage are coded errors', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
    assert.throws(() => parseSigningKeyPem(p384.export({ format: 'pem', type: 'pkcs8' }).toString()), code('PEM_UNSUPPORTED'));
    assert.throws(() => parseSigningKeyPem(p384.export({ format: 'pem', type: 'sec1' }).toString()), code('PEM_UNSUPPORTED'));
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    assert.throws(() => parseSigningKeyPem(p256.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'x' }).toString()), code('PEM_ENCRYPTED'));
    assert.throws(() => parseSigningKeyPem(p256.export({ format: 'pem', type: 'sec1', cipher: 'aes-256-cbc', passphrase: 'x' }).toString()), code('PEM_ENCRYPTED'));
    assert.throws(() => parseSigningKeyPem('-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n'), code('PEM_MALFORMED'));
    assert.throws(() => parseSigningKeyPem('nothing'), code('PEM_MALFORMED'));
  });

  it('the key store generates ECDSA keys on request; Ed25519 stays the default', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ocitrust-ecdsa-store-'));
    try {
      const store = new KeyStore(dir);
      const a = await store.generate('a', 'pw');
      const b = await store.generate('b', 'pw', { type: 'ecdsa-p256' });
      assert.equal(a.publicKey.algorithm, 'ed25519');
      assert.equal(b.publicKey.algorithm, 'ecdsa-p256');
      assert.match(b.publicPem, /^-----BEGIN PUBLIC KEY-----\nMFkw/);
      assert.ok((await store.loadSigner('b', 'pw')) instanceof EcdsaP256Signer);
      const pem = await store.exportPrivatePem('b', 'pw');
      const imported = await store.importPem(pem, 'c', 'pw').catch((e: unknown) => e);
      assert.ok(code('KEY_EXISTS')(imported), 'the same key imported again is recognized');
      await assert.rejects(store.generate('d', 'pw', { type: 'rsa' as never }), code('INVALID_ARGUMENT'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
