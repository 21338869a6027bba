import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants, generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import { rsaFromKeyObject, rsaFromSpki, verifyRsaPss } from '../../../lib/crypto/rsa-pss.js';
import { OcitrustError } from '../../../lib/errors/index.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const code = (c: string) => (e: unknown) => e instanceof OcitrustError && e.code === c;

/*
 * Known answers: the first three cases of Wycheproof testvectors_v1/rsa_pss_2048_sha256_mgf1_32_test.json
 * (C2SP/wycheproof @ 061657f1, Apache-2.0). The full Wycheproof ECDSA/RSA-PSS files are not in
 * ../shared/vectors; these three pin the parameters (SHA-256, MGF1-SHA-256, salt 32).
 */
const WP_KEY =
  '30820122300d06092a864886f70d01010105000382010f003082010a0282010100a2b451a07d0aa5f96e455671513550514a8a5b462ebef717094fa1fee82224e637f9746d3f7cafd31878d80325b6ef5a1700f65903b469429e89d6eac8845097b5ab393189db92512ed8a7711a1253facd20f79c15e8247f3d3e42e46e48c98e254a2fe9765313a03eff8f17e1a029397a1fa26a8dce26f490ed81299615d9814c22da610428e09c7d9658594266f5c021d0fceca08d945a12be82de4d1ece6b4c03145b5d3495d4ed5411eb878daf05fd7afc3e09ada0f1126422f590975a1969816f48698bcbba1b4d9cae79d460d8f9f85e7975005d9bc22c4e5ac0f7c1a45d12569a62807d3b9a02e5a530e773066f453d1f5b4c2e9cf7820283f742b9d50203010001';
const WP_CASES = [
  {
    tcId: 1,
    msg: '',
    sig: '4f01e0c12b08625ecac89a69231906edf826380f37c959a96690d046316d68ffce9d5c471694fcebfc6b45534864689256e4fc81c78e583f675d0c94b449647451e81beff01a11a516d5e5ce3f1a910437cb8a3a5096b19fb15f4524a35b23d89cdba12cf5b71aac1047b28c562df7c5542c34ce23a182cf7e0e231934b17294799d44877a1d68ef1b8f073619b7618e6b7c22db20030d98cf591ffc3d4da5f58613ecd5ecfc3b40a1d02f40891ca43695cd4c088b05a8054c89c595a47e274816f35384226f74459ee63e25a1bfc03c360490552ec38343f8ace502f065303b00bc0ec320711b211fde92e57feb9013c3609342495ec0d7cabdec21e54acc38',
  },
  {
    tcId: 2,
    msg: '0000000000000000000000000000000000000000',
    sig: '0658c68fe0895646056d9bca422a64fe48813b4e14f0c8c4122e56d345b6813dc6286ffde014617e351c7af0a0d2c0f285def79cb734e1e055a25fa6fddc1c07da17b4b235c637413b1849c24311fa72331f4c0458c364a4916de8619b884d7e37288fad12926fc091f4851686a04fd0a504dbce3db370663a6ea6128fea86c2ca94c63e0d34d7f2c845b5d71d9a5e544451f524a451acb85c49bba7864e0a34a48613a819caf3dfd0d510c940f1df21c3373915be1f3509a557fa4d5a4e9f273e85467961133e2482c0907386454228fb0246638616fc31bbb6fa7c2361b8035994eec69a923f4c0bb0ba8696dfe8b1400c2398d7b343fdf498b1116c8de602',
  },
  {
    tcId: 3,
    msg: '54657374',
    sig: '401eb03cdb47ca88033e3030f6bdecbac8f5c8fc1dd6a13d23d379ed9a2b309891d13d74fea9d21d159b9e6d8f37efa2489962e24555f56dd434ff1d31ce4f9f5abd3f22cbea8b691d6a11e44efb83e2bca155e6a164325e0fde2a8865afd5c9f51161a9d615f62af7ec2e31b3e5ab649c164490d31d88cfae35b84aea7925690f929a144b6d2f48e8fb894a52deecd1b9a6496990c4ecf1588699a42cacd10c53af350514e4291ea9a058e77f101e32c1c0cefa61d945f7bc931f8bd19e7ba3169358a60e5a8b0123bc3199b9fdcafe8e519c41ba675491a27b85e44ef2d77277c10fe107293c8290186913bc9a99b640d8da041b64f31eab1d35920985f4a5',
  },
];

describe('RSASSA-PSS SHA-256 salt 32 (verify only)', () => {
  const key = rsaFromSpki(hex(WP_KEY));

  it('accepts the Wycheproof valid cases and refuses them with one bit flipped', () => {
    assert.equal(key.bits, 2048);
    for (const c of WP_CASES) {
      const sig = hex(c.sig);
      assert.equal(verifyRsaPss(sig, hex(c.msg), key), true, `tcId ${c.tcId}`);
      const flipped = Uint8Array.from(sig);
      flipped[100]! ^= 1;
      assert.equal(verifyRsaPss(flipped, hex(c.msg), key), false, `tcId ${c.tcId} flipped`);
      assert.equal(verifyRsaPss(sig, Uint8Array.from([...hex(c.msg), 0]), key), false, `tcId ${c.tcId} other message`);
      assert.equal(verifyRsaPss(Uint8Array.from([0, ...sig]), hex(c.msg), key), false, `tcId ${c.tcId} longer`);
      assert.equal(verifyRsaPss(sig.subarray(1), hex(c.msg), key), false, `tcId ${c.tcId} shorter`);
    }
  });

  it('refuses other salt lengths and PKCS#1 v1.5 (one scheme per key format)', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const k = rsaFromKeyObject(publicKey);
    const m = new TextEncoder().encode('signed bytes');
    const pss = (saltLength: number) => new Uint8Array(nodeSign('sha256', m, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }));
    assert.equal(verifyRsaPss(pss(32), m, k), true);
    assert.equal(verifyRsaPss(pss(20), m, k), false);
    assert.equal(verifyRsaPss(pss(0), m, k), false);
    assert.equal(verifyRsaPss(new Uint8Array(nodeSign('sha256', m, privateKey)), m, k), false);
  });

  it('refuses keys under 2048 bits, non-RSA keys, oversized and garbage SPKI, with coded errors', () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
    assert.throws(() => rsaFromKeyObject(small), code('KEY_INVALID'));
    assert.throws(() => rsaFromKeyObject(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey), code('KEY_UNSUPPORTED'));
    assert.throws(() => rsaFromSpki(Uint8Array.from([0x30, 0x03, 0x02, 0x01, 0x00])), code('KEY_INVALID'));
    assert.throws(() => rsaFromSpki(new Uint8Array(5000)), code('KEY_INVALID'));
  });
});
