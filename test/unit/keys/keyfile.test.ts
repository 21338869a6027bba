// Passphrase-encrypted key files (DESIGN §2): format, round trip, wrong passphrase vs tampering,
// parameter checks, and the atomic 0600 write.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scryptSync, createHash } from 'node:crypto';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { KeyFile, writeKeyFile, readKeyFile, MAX_KEYFILE_BYTES, type KeyFileJSON } from '../../../lib/keys/keyfile.js';
import { PublicKey } from '../../../lib/keys/key.js';
import { canonicalBytes } from '../../../lib/crypto/canonical.js';
import { publicKeyOf, verifyEd25519, randomSecretSeed } from '../../../lib/crypto/ed25519.js';
import { fixedClock } from '../../../lib/clock.js';
import { isOcitrustError, type ErrorCode } from '../../../lib/errors/index.js';

const PASS = 'correct horse battery staple';
const seed = Uint8Array.from({ length: 32 }, (_, i) => i + 1);

async function rejectsCode(p: Promise<unknown> | (() => unknown), code: ErrorCode): Promise<void> {
  await assert.rejects(
    async () => (typeof p === 'function' ? p() : p),
    (e) => {
      assert.ok(isOcitrustError(e), `expected OcitrustError ${code}, got ${String(e)}`);
      assert.equal(e.code, code, e.message);
      return true;
    },
  );
}

/** Edits the JSON of a key file and returns the new text. */
function edit(json: KeyFileJSON, f: (j: Record<string, any>) => void): string {
  const j = structuredClone(json) as Record<string, any>;
  f(j);
  return JSON.stringify(j);
}

let file: KeyFile;
let json: KeyFileJSON;
let dir: string;

before(async () => {
  file = await KeyFile.encrypt(seed, PASS, { clock: fixedClock('2026-03-04T05:06:07Z') });
  json = file.toJSON();
  dir = await mkdtemp(join(tmpdir(), 'ocitrust-keyfile-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('key file format and round trip', () => {
  it('names its kdf, parameters, cipher, nonce, keyid, public key, created time and version', () => {
    assert.equal(json.type, 'ocitrust-private-key');
    assert.equal(json.version, 1);
    assert.deepEqual({ ...json.kdf, salt: undefined }, { name: 'scrypt', N: 32768, r: 8, p: 1, salt: undefined });
    assert.match(json.kdf.salt, /^[0-9a-f]{32}$/);
    assert.equal(json.cipher.name, 'xchacha20-poly1305');
    assert.match(json.cipher.nonce, /^[0-9a-f]{48}$/);
    assert.match(json.ciphertext, /^[0-9a-f]{96}$/);
    assert.equal(json.created, '2026-03-04T05:06:07Z');
    const pk = PublicKey.fromRaw(publicKeyOf(seed));
    assert.equal(json.keyid, pk.keyid);
    assert.deepEqual(json.key, pk.toJSON());
    assert.ok(!JSON.stringify(json).includes(Buffer.from(seed).toString('hex')), 'seed is not in clear');
  });

  it('serialize → parse → decrypt gives the seed back; the signer signs with it', async () => {
    const back = KeyFile.parse(file.serialize());
    assert.deepEqual(back.toJSON(), json);
    assert.deepEqual(await back.decrypt(PASS), seed);
    const signer = await back.signer(PASS);
    assert.equal(signer.keyid, json.keyid);
    const msg = new TextEncoder().encode('m');
    assert.ok(verifyEd25519(await signer.sign(msg), msg, signer.publicKey.publicKey));
  });

  it('the format is as documented: an independent implementation decrypts it', () => {
    // scrypt(NFC(passphrase), salt, 64): AEAD key = first 32 bytes, check = SHA-256(last 32);
    // AAD = canonical JSON of every field but ciphertext.
    const derived = scryptSync(PASS, Buffer.from(json.kdf.salt, 'hex'), 64, { N: json.kdf.N, r: 8, p: 1, maxmem: 64 << 20 });
    assert.equal(createHash('sha256').update(derived.subarray(32)).digest('hex'), json.check);
    const { ciphertext, ...header } = json;
    const pt = xchacha20poly1305(derived.subarray(0, 32), Buffer.from(json.cipher.nonce, 'hex'), canonicalBytes(header)).decrypt(Buffer.from(ciphertext, 'hex'));
    assert.deepEqual(pt, seed);
  });

  it('two encryptions of one key use fresh salt and nonce', async () => {
    const again = (await KeyFile.encrypt(seed, PASS)).toJSON();
    assert.notEqual(again.kdf.salt, json.kdf.salt);
    assert.notEqual(again.cipher.nonce, json.cipher.nonce);
    assert.equal(again.keyid, json.keyid);
  });

  it('passphrases are NFC-normalized (composed and decomposed é unlock the same file)', async () => {
    const f = await KeyFile.encrypt(seed, 'caf\u00e9');
    assert.deepEqual(await f.decrypt('cafe\u0301'), seed);
  });
});

describe('wrong passphrase and tampering', () => {
  it('a wrong passphrase is KEY_PASSPHRASE_WRONG', async () => {
    await rejectsCode(file.decrypt('wrong'), 'KEY_PASSPHRASE_WRONG');
    await rejectsCode(file.decrypt(''), 'KEY_PASSPHRASE_WRONG');
  });

  const tamper: [string, (j: Record<string, any>) => void, ErrorCode][] = [
    ['a ciphertext bit', (j) => (j.ciphertext = (j.ciphertext[0] === '0' ? '1' : '0') + j.ciphertext.slice(1)), 'KEYFILE_CORRUPT'],
    ['the tag', (j) => (j.ciphertext = j.ciphertext.slice(0, -2) + (j.ciphertext.endsWith('00') ? '01' : '00')), 'KEYFILE_CORRUPT'],
    ['the nonce', (j) => (j.cipher.nonce = '00' + j.cipher.nonce.slice(2) === j.cipher.nonce ? '11' + j.cipher.nonce.slice(2) : '00' + j.cipher.nonce.slice(2)), 'KEYFILE_CORRUPT'],
    ['the created time', (j) => (j.created = '2020-01-01T00:00:00Z'), 'KEYFILE_CORRUPT'],
    // kdf fields feed the key derivation itself, so they show up as a wrong passphrase.
    ['the salt', (j) => (j.kdf.salt = 'ff'.repeat(16)), 'KEY_PASSPHRASE_WRONG'],
    ['the check value', (j) => (j.check = '00'.repeat(32)), 'KEY_PASSPHRASE_WRONG'],
  ];
  for (const [what, f, code] of tamper) {
    it(`altering ${what} → ${code}`, async () => {
      await rejectsCode(KeyFile.parse(edit(json, f)).decrypt(PASS), code);
    });
  }

  it('swapping in another public key (with its matching keyid) → KEYFILE_CORRUPT (the header is authenticated)', async () => {
    const other = PublicKey.fromRaw(publicKeyOf(randomSecretSeed()));
    const text = edit(json, (j) => {
      j.key = other.toJSON();
      j.keyid = other.keyid;
    });
    await rejectsCode(KeyFile.parse(text).decrypt(PASS), 'KEYFILE_CORRUPT');
  });

  it('a keyid that does not match the public key → KEYFILE_KEY_MISMATCH at parse time', () => {
    assert.throws(() => KeyFile.parse(edit(json, (j) => (j.keyid = 'a'.repeat(64)))), (e) => isOcitrustError(e, 'KEYFILE_KEY_MISMATCH'));
  });

  it('a well-formed file whose encrypted seed is another key → KEYFILE_KEY_MISMATCH', async () => {
    // Forge with the right passphrase: header of key A, ciphertext of seed B, valid AEAD.
    const derived = scryptSync(PASS, Buffer.from(json.kdf.salt, 'hex'), 64, { N: json.kdf.N, r: 8, p: 1, maxmem: 64 << 20 });
    const { ciphertext: _c, ...header } = json;
    const other = new Uint8Array(32).fill(7);
    const ct = xchacha20poly1305(derived.subarray(0, 32), Buffer.from(json.cipher.nonce, 'hex'), canonicalBytes(header)).encrypt(other);
    const text = JSON.stringify({ ...json, ciphertext: Buffer.from(ct).toString('hex') });
    await rejectsCode(KeyFile.parse(text).decrypt(PASS), 'KEYFILE_KEY_MISMATCH');
  });
});

describe('parameter and structure checks at parse time', () => {
  const cases: [string, (j: Record<string, any>) => void, ErrorCode][] = [
    ['N = 2^14', (j) => (j.kdf.N = 1 << 14), 'KEYFILE_WEAK_PARAMS'],
    ['r = 4', (j) => (j.kdf.r = 4), 'KEYFILE_WEAK_PARAMS'],
    ['an 8-byte salt', (j) => (j.kdf.salt = '00'.repeat(8)), 'KEYFILE_WEAK_PARAMS'],
    ['N = 2^21 (2 GiB)', (j) => (j.kdf.N = 1 << 21), 'KEYFILE_UNSUPPORTED'],
    ['p = 1000', (j) => (j.kdf.p = 1000), 'KEYFILE_UNSUPPORTED'],
    ['kdf argon2id', (j) => (j.kdf.name = 'argon2id'), 'KEYFILE_UNSUPPORTED'],
    ['cipher aes-256-gcm', (j) => (j.cipher.name = 'aes-256-gcm'), 'KEYFILE_UNSUPPORTED'],
    ['version 2', (j) => (j.version = 2), 'KEYFILE_UNSUPPORTED'],
    ['another type', (j) => (j.type = 'something-else'), 'KEYFILE_MALFORMED'],
    ['N not a power of two', (j) => (j.kdf.N = 40000), 'KEYFILE_MALFORMED'],
    ['N a float', (j) => (j.kdf.N = 32768.5), 'KEYFILE_MALFORMED'],
    ['N a string', (j) => (j.kdf.N = '32768'), 'KEYFILE_MALFORMED'],
    ['an unknown field', (j) => (j.comment = 'hi'), 'KEYFILE_MALFORMED'],
    ['an unknown kdf field', (j) => (j.kdf.extra = 1), 'KEYFILE_MALFORMED'],
    ['an unknown key field', (j) => (j.key.keyid_hash_algorithms = ['sha256']), 'KEYFILE_MALFORMED'],
    ['a short nonce', (j) => (j.cipher.nonce = '00'.repeat(12)), 'KEYFILE_MALFORMED'],
    ['uppercase hex', (j) => (j.ciphertext = j.ciphertext.toUpperCase()), 'KEYFILE_MALFORMED'],
    ['a short ciphertext', (j) => (j.ciphertext = j.ciphertext.slice(0, 64)), 'KEYFILE_MALFORMED'],
    ['a bad created time', (j) => (j.created = 'yesterday'), 'KEYFILE_MALFORMED'],
    ['a missing check', (j) => delete j.check, 'KEYFILE_MALFORMED'],
    ['an RSA key', (j) => (j.key.keytype = 'rsa'), 'KEYFILE_MALFORMED'],
    ['a small-order public key', (j) => (j.key.keyval.public = '00'.repeat(32)), 'KEYFILE_MALFORMED'],
  ];
  for (const [what, f, code] of cases) {
    it(`${what} → ${code}`, () => {
      assert.throws(() => KeyFile.parse(edit(json, f)), (e) => {
        assert.ok(isOcitrustError(e), String(e));
        assert.equal(e.code, code, e.message);
        return true;
      });
    });
  }

  for (const [what, input, code] of [
    ['not JSON', 'not json', 'KEYFILE_MALFORMED'],
    ['a JSON array', '[]', 'KEYFILE_MALFORMED'],
    ['duplicate keys', '{"type":"ocitrust-private-key","type":"x"}', 'KEYFILE_MALFORMED'],
    ['invalid UTF-8', Uint8Array.from([0x7b, 0xff, 0x7d]), 'KEYFILE_MALFORMED'],
    ['oversized input', ' '.repeat(MAX_KEYFILE_BYTES + 1), 'INPUT_TOO_LARGE'],
  ] as [string, string | Uint8Array, ErrorCode][]) {
    it(`${what} → ${code}`, () => {
      assert.throws(() => KeyFile.parse(input), (e) => isOcitrustError(e, code));
    });
  }

  it('encrypt refuses N below 2^15, non-powers of two, empty passphrases and bad seeds (INVALID_ARGUMENT)', async () => {
    await rejectsCode(KeyFile.encrypt(seed, PASS, { scryptN: 1 << 14 }), 'INVALID_ARGUMENT');
    await rejectsCode(KeyFile.encrypt(seed, PASS, { scryptN: 40000 }), 'INVALID_ARGUMENT');
    await rejectsCode(KeyFile.encrypt(seed, ''), 'INVALID_ARGUMENT');
    await rejectsCode(KeyFile.encrypt(new Uint8Array(31), PASS), 'INVALID_ARGUMENT');
  });
});

describe('writing and reading key files', () => {
  it('writes mode 0600 (even under umask 0), leaves no temp file, reads back', async () => {
    const path = join(dir, 'a.key');
    const old = process.umask(0);
    try {
      await writeKeyFile(path, file);
    } finally {
      process.umask(old);
    }
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.deepEqual(await readdir(dir), ['a.key']);
    assert.deepEqual((await readKeyFile(path)).toJSON(), json);
    assert.equal(await readFile(path, 'utf8'), file.serialize());
  });

  it('refuses to replace an existing file unless asked (KEY_EXISTS), without leaving a temp file', async () => {
    const path = join(dir, 'b.key');
    await writeKeyFile(path, file);
    const other = await KeyFile.encrypt(new Uint8Array(32).fill(9), PASS);
    await rejectsCode(writeKeyFile(path, other), 'KEY_EXISTS');
    assert.equal((await readKeyFile(path)).keyid, file.keyid);
    await writeKeyFile(path, other, { overwrite: true });
    assert.equal((await readKeyFile(path)).keyid, other.keyid);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.deepEqual((await readdir(dir)).filter((f) => f.startsWith('.')), []);
  });

  it('a failed write (target is a directory) is KEYFILE_IO and leaves no temp file', async () => {
    const sub = join(dir, 'fail');
    await mkdir(join(sub, 'x.key'), { recursive: true });
    await rejectsCode(writeKeyFile(join(sub, 'x.key'), file, { overwrite: true }), 'KEYFILE_IO');
    assert.deepEqual(await readdir(sub), ['x.key']);
    await rejectsCode(writeKeyFile(join(dir, 'missing-dir', 'x.key'), file), 'KEYFILE_IO');
  });

  it('readers never see a partial file while it is being replaced', async () => {
    const path = join(dir, 'c.key');
    await writeKeyFile(path, file);
    const other = await KeyFile.encrypt(new Uint8Array(32).fill(3), PASS);
    let reads = 0;
    let writing = true;
    const reader = (async () => {
      while (writing) {
        const k = await readKeyFile(path); // throws if a torn file were ever visible
        assert.ok(k.keyid === file.keyid || k.keyid === other.keyid);
        reads++;
      }
    })();
    for (let i = 0; i < 30; i++) await writeKeyFile(path, i % 2 ? file : other, { overwrite: true });
    writing = false;
    await reader;
    assert.ok(reads > 0);
    assert.deepEqual((await readdir(dir)).filter((f) => f.endsWith('.tmp')), []);
  });

  it('reading a missing file is KEYFILE_IO; a too-large file is INPUT_TOO_LARGE', async () => {
    await rejectsCode(readKeyFile(join(dir, 'nope.key')), 'KEYFILE_IO');
    const big = join(dir, 'big.key');
    await writeFile(big, ' '.repeat(MAX_KEYFILE_BYTES + 10));
    await rejectsCode(readKeyFile(big), 'INPUT_TOO_LARGE');
  });
});
