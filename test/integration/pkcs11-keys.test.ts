// PKCS#11 keys in a real SoftHSM2 token, in process (lib/keys/pkcs11): key pairs generated in
// the token sign in the forms our verifier and TUF clients accept (ECDSA low-S DER, pure
// Ed25519); objects of the wrong kind, a key the token will not sign with, and a token key
// that is no longer the one recorded are coded errors, never a signature.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePkcs11Key, openPkcs11Signer, pkcs11PublicKey } from '../../lib/keys/pkcs11/keys.js';
import { closeAllModules, login, openToken } from '../../lib/keys/pkcs11/token.js';
import { parsePkcs11Uri } from '../../lib/keys/pkcs11/uri.js';
import { openExternalSigner } from '../../lib/keys/external.js';
import { KeyStore } from '../../lib/keys/keystore.js';
import { ecdsaSignatureValues, P256_N } from '../../lib/crypto/ecdsa-p256.js';
import { isOcitrustError, type ErrorCode } from '../../lib/errors/index.js';
import { createSoftHsm, softhsmMissing, type SoftHsm } from '../helpers/softhsm.js';

const skip = softhsmMissing();

async function rejectsCode(p: Promise<unknown>, code: ErrorCode, re?: RegExp): Promise<void> {
  await assert.rejects(p, (e) => {
    assert.ok(isOcitrustError(e), `expected OcitrustError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (re) assert.match(e.message, re);
    return true;
  });
}

describe('PKCS#11 keys in SoftHSM2', { skip }, () => {
  let hsm: SoftHsm;
  let store: string;
  const o = { pin: async () => hsm.pin, env: {} as NodeJS.ProcessEnv };
  const msg = new TextEncoder().encode('bytes to sign');

  before(async () => {
    hsm = createSoftHsm('unit');
    // The module reads SOFTHSM2_CONF when it is initialized (first use, below).
    process.env.SOFTHSM2_CONF = hsm.env.SOFTHSM2_CONF;
    store = mkdtempSync(join(tmpdir(), 'ocitrust-pkcs11-store-'));
    // Objects a user might point a URI at by mistake, made with the raw binding.
    const t = await openToken(parsePkcs11Uri(hsm.uri('setup')));
    login(t, hsm.pin);
    const { p, lib, session } = t;
    const label = (l: string) => ({ type: p.CKA_LABEL, value: l });
    lib.C_GenerateKeyPair(session, { mechanism: p.CKM_RSA_PKCS_KEY_PAIR_GEN }, [label('rsa'), { type: p.CKA_TOKEN, value: true }, { type: p.CKA_MODULUS_BITS, value: 2048 }, { type: p.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) }], [label('rsa'), { type: p.CKA_TOKEN, value: true }, { type: p.CKA_SIGN, value: true }]);
    lib.C_GenerateKey(session, { mechanism: p.CKM_AES_KEY_GEN }, [label('aes'), { type: p.CKA_TOKEN, value: true }, { type: p.CKA_VALUE_LEN, value: 32 }]);
    const ec = (l: string, params: string, sign: boolean) =>
      lib.C_GenerateKeyPair(session, { mechanism: p.CKM_EC_KEY_PAIR_GEN }, [label(l), { type: p.CKA_TOKEN, value: true }, { type: p.CKA_EC_PARAMS, value: Buffer.from(params, 'hex') }], [label(l), { type: p.CKA_TOKEN, value: true }, { type: p.CKA_SIGN, value: sign }, { type: p.CKA_PRIVATE, value: true }]);
    ec('p384', '06052b81040022', true);
    ec('nosign', '06082a8648ce3d030107', false);
  });
  after(() => {
    closeAllModules();
    delete process.env.SOFTHSM2_CONF;
    hsm?.cleanup();
    if (store) rmSync(store, { recursive: true, force: true });
  });

  it('ECDSA P-256 generated in the token signs in low-S DER (CKM_ECDSA over SHA-256), verified by our verifier', async () => {
    const pub = await generatePkcs11Key(hsm.uri('ec'), 'ecdsa-p256', o);
    assert.equal(pub.toJSON().scheme, 'ecdsa-sha2-nistp256');
    assert.equal((await pkcs11PublicKey(hsm.uri('ec'), o)).keyid, pub.keyid, 'the public key reads back without a PIN');
    const s = await openPkcs11Signer(hsm.uri('ec'), o);
    for (let i = 0; i < 16; i++) {
      const sig = await s.sign(msg);
      const rs = ecdsaSignatureValues(sig, 'der');
      assert.ok(rs, 'DER');
      assert.ok(rs[1] <= P256_N >> 1n, 'low S');
      assert.ok(pub.verify(sig, msg));
    }
  });

  it('Ed25519 generated in the token signs with CKM_EDDSA (pure Ed25519)', async () => {
    const pub = await generatePkcs11Key(hsm.uri('ed'), 'ed25519', o);
    assert.deepEqual(Object.keys(pub.toJSON()), ['keytype', 'scheme', 'keyval']);
    const s = await openExternalSigner(hsm.uri('ed'), o);
    assert.equal(s.keyid, pub.keyid);
    assert.ok(pub.verify(await s.sign(msg), msg));
  });

  it('objects of the wrong kind are PKCS11_KEY_TYPE_UNSUPPORTED saying what they are', async () => {
    await rejectsCode(openPkcs11Signer(hsm.uri('rsa'), o), 'PKCS11_KEY_TYPE_UNSUPPORTED', /got an RSA key/);
    await rejectsCode(openPkcs11Signer(hsm.uri('p384'), o), 'PKCS11_KEY_TYPE_UNSUPPORTED', /another curve/);
    await rejectsCode(pkcs11PublicKey(hsm.uri('aes'), o), 'PKCS11_KEY_TYPE_UNSUPPORTED', /got a secret key/);
  });

  it('a key the token will not sign with is PKCS11_MECHANISM_UNSUPPORTED (CKA_SIGN false)', async () => {
    const s = await openExternalSigner(hsm.uri('nosign'), o);
    await rejectsCode(s.sign(msg), 'PKCS11_MECHANISM_UNSUPPORTED', /CKR_KEY_FUNCTION_NOT_PERMITTED.*CKA_SIGN/);
  });

  it('no PIN provider for a private key operation is PKCS11_PIN_MISSING', async () => {
    await rejectsCode(generatePkcs11Key(hsm.uri('nopin'), 'ed25519', { env: {} }), 'PKCS11_PIN_MISSING');
  });

  it('a recorded key whose token object now holds another key is refused (KEYFILE_KEY_MISMATCH)', async () => {
    const ks = new KeyStore(store, { external: o });
    const k = await ks.generateExternal(hsm.uri('swap'), 'swap', { type: 'ecdsa-p256' });
    assert.equal((await ks.list()).find((e) => e.name === 'swap')?.uri, hsm.uri('swap'));
    assert.equal((await ks.addReference(hsm.uri('swap'))).existing, true, 'recorded once');
    // Someone replaces the token's key under the same label.
    const t = await openToken(parsePkcs11Uri(hsm.uri('swap')));
    t.lib.C_FindObjectsInit(t.session, [{ type: t.p.CKA_LABEL, value: 'swap' }]);
    const objs = t.lib.C_FindObjects(t.session, 10);
    t.lib.C_FindObjectsFinal(t.session);
    for (const h of objs) t.lib.C_DestroyObject(t.session, h);
    const other = await generatePkcs11Key(hsm.uri('swap'), 'ecdsa-p256', o);
    assert.notEqual(other.keyid, k.keyid);
    await rejectsCode(ks.openSigner('swap', async () => ''), 'KEYFILE_KEY_MISMATCH', /now holds another key/);
  });
});
