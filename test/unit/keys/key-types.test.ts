import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { PublicKey } from '../../../lib/keys/key.js';
import { canonicalBytes } from '../../../lib/crypto/canonical.js';
import { keyFingerprint } from '../../../lib/crypto/key-fingerprint.js';
import { signEcdsaP256, type EcdsaSignatureEncoding } from '../../../lib/crypto/ecdsa-p256.js';
import { toHex } from '../../../lib/crypto/hash.js';
import { OcitrustError } from '../../../lib/errors/index.js';
import { Metadata } from '../../../lib/metadata/metadata.js';
import { Role } from '../../../lib/metadata/role.js';
import { checkDistinctKeys } from '../../../lib/metadata/keys.js';
import { newTargets } from '../../../lib/metadata/builders.js';
import { pae, signEnvelope, verifyEnvelope } from '../../../lib/statements/dsse.js';
import type { Signer } from '../../../lib/keys/signer.js';
import { VECTORS } from '../crypto/vectors.js';

const NOTARY = join(VECTORS, 'peers', 'notary', 'fixtures', 'compatibility');
const REPOS = {
  'notary0.1': { dir: 'notary0.1/tuf/docker.com/notary0.1/samplerepo/metadata', roles: ['root', 'targets', 'snapshot', 'timestamp'] },
  'notary0.3': { dir: 'notary0.3/tuf/docker.com/notary0.3/tst/metadata', roles: ['root', 'targets', 'snapshot', 'timestamp', 'targets/releases'] },
};
type Doc = { signed: Record<string, unknown> & { keys?: Record<string, unknown>; delegations?: { keys: Record<string, unknown> } }; signatures: { keyid: string; method: string; sig: string }[] };
const read = (dir: string, role: string): Doc => JSON.parse(readFileSync(join(NOTARY, dir, `${role}.json`), 'utf8')) as Doc;
const code = (c: string) => (e: unknown) => e instanceof OcitrustError && e.code === c;
const b64 = (b: Uint8Array | Buffer) => Buffer.from(b).toString('base64');

/** Every key a repository's root and targets list, parsed by keyid. */
function notaryKeys(dir: string): Map<string, PublicKey> {
  const root = read(dir, 'root');
  const targets = read(dir, 'targets');
  const keys = new Map<string, PublicKey>();
  for (const [id, k] of Object.entries({ ...root.signed.keys, ...targets.signed.delegations?.keys })) keys.set(id, PublicKey.fromJSON(k));
  return keys;
}

describe('Notary v1 keys and signatures (peers/notary fixtures, written by Notary itself)', () => {
  for (const [name, repo] of Object.entries(REPOS)) {
    it(`${name}: every keyid recomputes from its key object ("private":null included)`, () => {
      for (const [id, k] of notaryKeys(repo.dir)) assert.equal(k.keyid, id);
    });

    it(`${name}: every signature verifies over the canonical signed bytes; tampered copies fail`, () => {
      const keys = notaryKeys(repo.dir);
      let n = 0;
      for (const role of repo.roles) {
        const doc = read(repo.dir, role);
        // Go's canonical/json and JCS agree on these documents: sorted keys, no whitespace, ASCII strings, integers.
        const bytes = canonicalBytes(doc.signed);
        for (const s of doc.signatures) {
          const key = keys.get(s.keyid);
          assert.ok(key, `${role}: key ${s.keyid} listed`);
          assert.equal(s.method, key.algorithm === 'rsa' ? 'rsapss' : 'ecdsa');
          const sig = Uint8Array.from(Buffer.from(s.sig, 'base64'));
          assert.equal(key.verify(sig, bytes), true, `${role} verifies`);
          n++;
          const flipped = Uint8Array.from(sig);
          flipped[sig.length - 1]! ^= 1;
          assert.equal(key.verify(flipped, bytes), false, `${role}: flipped signature`);
          const tampered = canonicalBytes({ ...doc.signed, version: (doc.signed.version as number) + 1 });
          assert.equal(key.verify(sig, tampered), false, `${role}: tampered signed part`);
          const other = [...keys.values()].find((k) => k.fingerprint !== key.fingerprint)!;
          assert.equal(other.verify(sig, bytes), false, `${role}: another key`);
        }
      }
      assert.equal(n, repo.roles.length);
    });
  }

  it('an x509 key and the bare key of its certificate are one key (one fingerprint, two keyids)', () => {
    for (const repo of Object.values(REPOS)) {
      for (const k of notaryKeys(repo.dir).values()) {
        if (!k.certificate) continue;
        const spki = k.certificate.publicKey.export({ format: 'der', type: 'spki' });
        const bare = PublicKey.fromJSON({ keytype: k.algorithm === 'rsa' ? 'rsa' : 'ecdsa', keyval: { private: null, public: b64(spki) } });
        assert.notEqual(bare.keyid, k.keyid);
        assert.equal(bare.fingerprint, k.fingerprint);
      }
    }
  });
});

/** One P-256 key spelled every way ocitrust reads: TUF PEM, TUF hex, legacy keytype, Notary base64 SPKI, extra fields. */
function spellings() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  const pem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
  const tuf: [unknown, EcdsaSignatureEncoding][] = [
    [{ keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256', keyval: { public: pem } }, 'der'],
    [{ keytype: 'ecdsa-sha2-nistp256', scheme: 'ecdsa-sha2-nistp256', keyval: { public: pem } }, 'der'],
    [{ keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256', keyval: { public: toHex(spki.subarray(spki.length - 65)) } }, 'der'],
    [{ keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256', keyval: { public: toHex(Uint8Array.from([2 + (spki[spki.length - 1]! & 1), ...spki.subarray(spki.length - 64, spki.length - 32)])) } }, 'der'],
    [{ keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256', keyval: { public: pem }, keyid_hash_algorithms: ['sha256', 'sha512'] }, 'der'],
    [{ keytype: 'ecdsa', keyval: { private: null, public: b64(spki) } }, 'ieee-p1363'],
  ];
  const keys = tuf.map(([json, enc]) => ({ key: PublicKey.fromJSON(json), enc }));
  return { privateKey, publicKey, keys };
}

describe('one ECDSA key under every spelling is one key', () => {
  it('has one fingerprint but distinct keyids; compressed and uncompressed points agree', () => {
    const { publicKey, keys } = spellings();
    const fps = new Set(keys.map((k) => k.key.fingerprint));
    assert.equal(fps.size, 1);
    assert.equal(new Set(keys.map((k) => k.key.keyid)).size, keys.length);
    const point = keys[0]!.key.publicKey;
    const compressed = Uint8Array.from([2 + (point[64]! & 1), ...point.subarray(1, 33)]);
    assert.equal(keyFingerprint({ keytype: 'ecdsa-p256', publicKey: compressed }), [...fps][0]);
    assert.equal(PublicKey.fromEcdsaP256(publicKey).fingerprint, [...fps][0]);
    assert.equal(PublicKey.fromEcdsaP256(compressed).fingerprint, [...fps][0]);
  });

  it('counts once toward a TUF threshold, whichever spelling each signature names', async () => {
    const { privateKey, keys } = spellings();
    let md = new Metadata(newTargets({ clock: { now: () => new Date('2026-01-01T00:00:00Z') } }));
    for (const { key, enc } of keys) {
      const signer: Signer = { keyid: key.keyid, publicKey: key, sign: async (d) => signEcdsaP256(d, privateKey, enc) };
      md = await md.sign(signer);
    }
    const map = new Map(keys.map(({ key }) => [key.keyid, key]));
    for (const { key } of keys) assert.equal(key.verify(Uint8Array.from(Buffer.from(md.signatures.get(key.keyid)!.sig, 'hex')), md.signedBytes()), true);
    const role = new Role({ keyids: [...map.keys()], threshold: 2 });
    assert.equal(Metadata.validSigners(role, map, md).size, 1);
    assert.throws(() => checkDistinctKeys([...map.keys()], map, 'roles.targets'), code('METADATA_DUPLICATE_KEY'));
  });

  it('counts once toward a DSSE threshold', async () => {
    const { privateKey, keys } = spellings();
    const payload = new TextEncoder().encode('{}');
    const signers: Signer[] = keys.map(({ key, enc }) => ({ keyid: key.keyid, publicKey: key, sign: async (d: Uint8Array) => signEcdsaP256(d, privateKey, enc) }));
    const env = await signEnvelope('application/vnd.in-toto+json', payload, signers);
    const map = new Map(keys.map(({ key }) => [key.keyid, key]));
    assert.equal(verifyEnvelope(env, map).length, 1);
    assert.ok(keys.every(({ key }, i) => key.verify(env.signatures[i]!.sig, pae(env.payloadType, env.payload))));
  });
});

describe('malformed keys are coded errors', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
  const pem = ec.export({ format: 'pem', type: 'spki' }).toString();
  const spki = ec.export({ format: 'der', type: 'spki' });
  const rootCert = (() => {
    const root = read(REPOS['notary0.1'].dir, 'root');
    return Object.values(root.signed.keys!).find((k) => (k as { keytype: string }).keytype === 'ecdsa-x509') as { keyval: { public: string } };
  })();
  const certPem = Buffer.from(rootCert.keyval.public, 'base64').toString();
  const cases: [string, unknown, string][] = [
    ['unknown keytype', { keytype: 'dsa', keyval: { public: 'AA==' } }, 'KEY_UNSUPPORTED'],
    ['ecdsa with another scheme', { keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp384', keyval: { public: pem } }, 'KEY_UNSUPPORTED'],
    ['rsa with a TUF scheme', { keytype: 'rsa', scheme: 'rsassa-pss-sha256', keyval: { public: pem } }, 'KEY_UNSUPPORTED'],
    ['ecdsa PEM that is not a PEM', { keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256', keyval: { public: 'hello' } }, 'KEY_INVALID'],
    ['ecdsa PEM of a P-384 key', { keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256', keyval: { public: generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'pem', type: 'spki' }) } }, 'KEY_UNSUPPORTED'],
    ['ecdsa PEM of an Ed25519 key', { keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256', keyval: { public: generateKeyPairSync('ed25519').publicKey.export({ format: 'pem', type: 'spki' }) } }, 'KEY_UNSUPPORTED'],
    ['ecdsa hex that is not a point', { keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256', keyval: { public: 'abcd' } }, 'KEY_INVALID'],
    ['ecdsa hex of a DER SPKI', { keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256', keyval: { public: toHex(spki) } }, 'KEY_INVALID'],
    ['ecdsa hex point off the curve', { keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256', keyval: { public: '04' + '11'.repeat(64) } }, 'KEY_INVALID'],
    ['Notary ecdsa, not base64', { keytype: 'ecdsa', keyval: { private: null, public: '!!!' } }, 'KEY_INVALID'],
    ['Notary ecdsa, truncated SPKI', { keytype: 'ecdsa', keyval: { private: null, public: b64(spki.subarray(0, 40)) } }, 'KEY_INVALID'],
    ['Notary rsa holding an EC key', { keytype: 'rsa', keyval: { private: null, public: b64(spki) } }, 'KEY_UNSUPPORTED'],
    ['Notary rsa of 1024 bits', { keytype: 'rsa', keyval: { private: null, public: b64(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'der', type: 'spki' })) } }, 'KEY_INVALID'],
    ['ecdsa-x509 of two certificates', { keytype: 'ecdsa-x509', keyval: { private: null, public: b64(Buffer.from(certPem + certPem)) } }, 'KEY_INVALID'],
    ['ecdsa-x509 of a garbled certificate', { keytype: 'ecdsa-x509', keyval: { private: null, public: b64(Buffer.from(certPem.replace(/MII/, 'MIJ'))) } }, 'KEY_INVALID'],
    ['ecdsa-x509 of a bare key', { keytype: 'ecdsa-x509', keyval: { private: null, public: b64(Buffer.from(pem)) } }, 'KEY_INVALID'],
    ['rsa-x509 of an ECDSA certificate', { keytype: 'rsa-x509', keyval: { private: null, public: rootCert.keyval.public } }, 'KEY_UNSUPPORTED'],
    ['oversized keyval.public', { keytype: 'ecdsa', keyval: { private: null, public: 'A'.repeat(10_000) } }, 'KEY_INVALID'],
    ['keyval.public not a string', { keytype: 'ecdsa', keyval: { public: 1 } }, 'KEY_INVALID'],
  ];
  for (const [what, json, c] of cases) {
    it(`${what} → ${c}`, () => assert.throws(() => PublicKey.fromJSON(json), code(c)));
  }

  it('the same P-256 key from a certificate matches createPublicKey of the certificate', () => {
    const k = PublicKey.fromJSON(rootCert);
    assert.equal(k.algorithm, 'ecdsa-p256');
    assert.deepEqual(k.certificate!.publicKey.export({ format: 'der', type: 'spki' }), createPublicKey(certPem).export({ format: 'der', type: 'spki' }));
  });

  it('signatures of the wrong encoding for the key format never verify', () => {
    const { privateKey, keys } = spellings();
    const m = new TextEncoder().encode('m');
    for (const { key, enc } of keys) {
      assert.equal(key.verify(signEcdsaP256(m, privateKey, enc), m), true);
      assert.equal(key.verify(signEcdsaP256(m, privateKey, enc === 'der' ? 'ieee-p1363' : 'der'), m), false);
      assert.equal(key.verify(new Uint8Array(0), m), false);
      assert.equal(key.verify(new Uint8Array(600), m), false);
    }
  });
});

describe('keyids of PEM keys (OLPC canonical JSON)', () => {
  it('equal what tuf-js computes: the PEM newlines are hashed raw, as TUF implementations do', async () => {
    const { canonicalize } = await import('@tufjs/canonical-json');
    const { createHash } = await import('node:crypto');
    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const json = { keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256', keyval: { public: pem } };
    assert.equal(PublicKey.fromJSON(json).keyid, createHash('sha256').update(canonicalize(json)).digest('hex'));
  });
});
