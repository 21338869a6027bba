// PKCS#8 / SPKI PEM import and export (DESIGN §2 interop), checked against the OpenSSL RFC 8032
// key blocks, node:crypto, and the error codes for everything that is not an Ed25519 key.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPairSync, createPrivateKey, createPublicKey, sign as nodeSign } from 'node:crypto';
import { parsePrivateKeyPem, parsePublicKeyPem, privateKeyToPem, publicKeyToPem, MAX_PEM_BYTES } from '../../../lib/keys/pem.js';
import { PublicKey } from '../../../lib/keys/key.js';
import { publicKeyOf, signEd25519 } from '../../../lib/crypto/ed25519.js';
import { isOcitrustError, type ErrorCode } from '../../../lib/errors/index.js';
import { VECTORS, rfc8032, hex } from '../crypto/vectors.js';

const excerpt = readFileSync(join(VECTORS, 'rfc8032', 'openssl-evppkey_ecx-ed25519-excerpt.txt'), 'utf8');
const blocks = (label: string): string[] =>
  [...excerpt.matchAll(new RegExp(`-----BEGIN ${label}-----\\n[A-Za-z0-9+/=\\n]+-----END ${label}-----\\n`, 'g'))].map((m) => m[0]);

const der2pem = (label: string, der: Uint8Array | Buffer): string =>
  `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;

function throwsCode(f: () => unknown, code: ErrorCode): void {
  assert.throws(f, (e) => {
    assert.ok(isOcitrustError(e), `expected OcitrustError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

describe('PEM: the RFC 8032 keys as OpenSSL writes them', () => {
  const privs = blocks('PRIVATE KEY');
  const pubs = blocks('PUBLIC KEY');
  const vs = rfc8032();

  it('the OpenSSL excerpt has 5 private and 5 public key blocks', () => {
    assert.equal(privs.length, 5);
    assert.equal(pubs.length, 5);
  });

  vs.forEach((v, i) => {
    it(`${v.test}: PKCS#8 decodes to the RFC seed, SPKI to the RFC public key, and both re-encode byte for byte`, () => {
      const seed = parsePrivateKeyPem(privs[i]!);
      assert.equal(Buffer.from(seed).toString('hex'), v.secretKey);
      const pub = parsePublicKeyPem(pubs[i]!);
      assert.equal(Buffer.from(pub.publicKey).toString('hex'), v.publicKey);
      assert.equal(privateKeyToPem(seed), privs[i]);
      assert.equal(publicKeyToPem(pub), pubs[i]);
      assert.equal(publicKeyToPem(hex(v.publicKey)), pubs[i]);
    });
  });

  it('accepts the surrounding text, CRLF line ends and Uint8Array input', () => {
    const crlf = ('PrivateKey=ED25519-1\r\n' + privs[0]!.replace(/\n/g, '\r\n') + 'trailing notes\r\n');
    assert.equal(Buffer.from(parsePrivateKeyPem(new TextEncoder().encode(crlf))).toString('hex'), vs[0]!.secretKey);
  });

  it('a file holding one private and one public key yields each from the matching parser', () => {
    const both = privs[0]! + pubs[0]!;
    assert.equal(Buffer.from(parsePrivateKeyPem(both)).toString('hex'), vs[0]!.secretKey);
    assert.equal(Buffer.from(parsePublicKeyPem(both).publicKey).toString('hex'), vs[0]!.publicKey);
  });
});

describe('PEM: agreement with node:crypto', () => {
  it('a node:crypto PKCS#8/SPKI pair imports to the same key; our PEM is usable by node:crypto', () => {
    for (let i = 0; i < 5; i++) {
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      const seed = parsePrivateKeyPem(privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
      assert.equal(Buffer.from(seed).toString('base64url'), privateKey.export({ format: 'jwk' }).d);
      const pub = parsePublicKeyPem(publicKey.export({ type: 'spki', format: 'pem' }) as string);
      assert.equal(Buffer.from(pub.publicKey).toString('base64url'), publicKey.export({ format: 'jwk' }).x);
      assert.deepEqual(pub.publicKey, publicKeyOf(seed));
      const msg = new TextEncoder().encode(`message ${i}`);
      const theirs = nodeSign(null, msg, createPrivateKey(privateKeyToPem(seed)));
      assert.deepEqual(new Uint8Array(theirs), signEd25519(msg, seed));
      assert.equal(createPublicKey(publicKeyToPem(pub)).export({ format: 'jwk' }).x, publicKey.export({ format: 'jwk' }).x);
    }
  });

  it('PKCS#8 v2 (OneAsymmetricKey with the public key) is accepted when the public key matches', () => {
    const v = rfc8032()[0]!;
    const der = Buffer.from(`3051020101300506032b657004220420${v.secretKey}812100${v.publicKey}`, 'hex');
    assert.equal(Buffer.from(parsePrivateKeyPem(der2pem('PRIVATE KEY', der))).toString('hex'), v.secretKey);
    const wrong = Buffer.from(`3051020101300506032b657004220420${v.secretKey}812100${rfc8032()[1]!.publicKey}`, 'hex');
    throwsCode(() => parsePrivateKeyPem(der2pem('PRIVATE KEY', wrong)), 'KEY_INVALID');
  });
});

describe('PEM: refusals, each with its code', () => {
  const v = rfc8032()[0]!;
  const goodDer = Buffer.from(`302e020100300506032b657004220420${v.secretKey}`, 'hex');
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const x25519 = generateKeyPairSync('x25519');
  const ed448 = generateKeyPairSync('ed448');
  const ed = generateKeyPairSync('ed25519');

  const cases: [string, () => unknown, ErrorCode][] = [
    ['RSA PKCS#8', () => parsePrivateKeyPem(rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string), 'PEM_UNSUPPORTED'],
    ['RSA PKCS#1', () => parsePrivateKeyPem(rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string), 'PEM_UNSUPPORTED'],
    ['RSA SPKI', () => parsePublicKeyPem(rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string), 'PEM_UNSUPPORTED'],
    ['EC P-256 PKCS#8', () => parsePrivateKeyPem(ec.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string), 'PEM_UNSUPPORTED'],
    ['EC SEC1', () => parsePrivateKeyPem(ec.privateKey.export({ type: 'sec1', format: 'pem' }) as string), 'PEM_UNSUPPORTED'],
    // P-256 SPKI is accepted now (ECDSA signer keys); other curves are not.
    ['EC P-384 SPKI', () => parsePublicKeyPem(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ type: 'spki', format: 'pem' }) as string), 'PEM_UNSUPPORTED'],
    ['X25519 PKCS#8', () => parsePrivateKeyPem(x25519.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string), 'PEM_UNSUPPORTED'],
    ['Ed448 PKCS#8', () => parsePrivateKeyPem(ed448.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string), 'PEM_UNSUPPORTED'],
    ['Ed448 SPKI', () => parsePublicKeyPem(ed448.publicKey.export({ type: 'spki', format: 'pem' }) as string), 'PEM_UNSUPPORTED'],
    ['OpenSSH key', () => parsePrivateKeyPem('-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n'), 'PEM_UNSUPPORTED'],
    ['encrypted PKCS#8', () => parsePrivateKeyPem(ed.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }) as string), 'PEM_ENCRYPTED'],
    ['legacy Proc-Type encryption', () => parsePrivateKeyPem(`-----BEGIN PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\n${goodDer.toString('base64')}\n-----END PRIVATE KEY-----\n`), 'PEM_ENCRYPTED'],
    ['empty string', () => parsePrivateKeyPem(''), 'PEM_MALFORMED'],
    ['garbage', () => parsePrivateKeyPem('hello world'), 'PEM_MALFORMED'],
    ['public key given to the private parser', () => parsePrivateKeyPem(ed.publicKey.export({ type: 'spki', format: 'pem' }) as string), 'PEM_MALFORMED'],
    ['private key given to the public parser', () => parsePublicKeyPem(ed.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string), 'PEM_MALFORMED'],
    ['two private keys', () => parsePrivateKeyPem(der2pem('PRIVATE KEY', goodDer) + der2pem('PRIVATE KEY', goodDer)), 'PEM_MALFORMED'],
    ['no END line', () => parsePrivateKeyPem(der2pem('PRIVATE KEY', goodDer).replace(/-----END.*\n$/, '')), 'PEM_MALFORMED'],
    ['END of another label', () => parsePrivateKeyPem(der2pem('PRIVATE KEY', goodDer).replace('END PRIVATE KEY', 'END PUBLIC KEY')), 'PEM_MALFORMED'],
    ['bad base64', () => parsePrivateKeyPem('-----BEGIN PRIVATE KEY-----\nMC4C*QAw\n-----END PRIVATE KEY-----\n'), 'PEM_MALFORMED'],
    ['non-canonical base64 (trailing bits)', () => parsePublicKeyPem('-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURp=\n-----END PUBLIC KEY-----\n'), 'PEM_MALFORMED'],
    ['truncated DER', () => parsePrivateKeyPem(der2pem('PRIVATE KEY', goodDer.subarray(0, 40))), 'PEM_MALFORMED'],
    ['trailing DER bytes', () => parsePrivateKeyPem(der2pem('PRIVATE KEY', Buffer.concat([goodDer, Buffer.from([0])]))), 'PEM_MALFORMED'],
    ['31-byte seed', () => parsePrivateKeyPem(der2pem('PRIVATE KEY', Buffer.from(`302d020100300506032b657004210420${v.secretKey.slice(2)}`, 'hex'))), 'PEM_MALFORMED'],
    ['Ed25519 OID with parameters', () => parsePrivateKeyPem(der2pem('PRIVATE KEY', Buffer.from(`3030020100300706032b6570050004220420${v.secretKey}`, 'hex'))), 'PEM_MALFORMED'],
    ['non-minimal DER length', () => parsePrivateKeyPem(der2pem('PRIVATE KEY', Buffer.from(`30812e020100300506032b657004220420${v.secretKey}`, 'hex'))), 'PEM_MALFORMED'],
    ['small-order public key', () => parsePublicKeyPem(der2pem('PUBLIC KEY', Buffer.from('302a300506032b6570032100' + '01' + '00'.repeat(31), 'hex'))), 'KEY_INVALID'],
    ['non-canonical public key', () => parsePublicKeyPem(der2pem('PUBLIC KEY', Buffer.from('302a300506032b6570032100' + 'ff'.repeat(31) + '7f', 'hex'))), 'KEY_INVALID'],
    ['oversized input', () => parsePrivateKeyPem('x'.repeat(MAX_PEM_BYTES + 1)), 'INPUT_TOO_LARGE'],
    ['not a string', () => parsePrivateKeyPem(42 as unknown as string), 'INVALID_ARGUMENT'],
    ['export of a 31-byte seed', () => privateKeyToPem(new Uint8Array(31)), 'INVALID_ARGUMENT'],
    ['export of a small-order public key', () => publicKeyToPem(new Uint8Array(32)), 'KEY_INVALID'],
  ];
  for (const [name, f, code] of cases) it(`${name} → ${code}`, () => throwsCode(f, code));

  it('PublicKey from PEM has the TUF keyid of the same raw key', () => {
    const pem = ed.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const k = parsePublicKeyPem(pem);
    assert.equal(k.keyid, PublicKey.fromRaw(k.publicKey).keyid);
  });
});
