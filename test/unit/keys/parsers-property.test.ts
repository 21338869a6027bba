// Property tests (fast-check): PEM and key-file parsers, fed garbage and mutated valid input,
// never throw anything but OcitrustError.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parsePrivateKeyPem, parsePublicKeyPem, privateKeyToPem, publicKeyToPem } from '../../../lib/keys/pem.js';
import { KeyFile } from '../../../lib/keys/keyfile.js';
import { OcitrustError } from '../../../lib/errors/index.js';
import { publicKeyOf } from '../../../lib/crypto/ed25519.js';

/** Runs `f`; passes if it returns or throws an OcitrustError, fails on any other throw. */
function onlyOurError(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof OcitrustError)) assert.fail(`threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
  }
}

const seed = Uint8Array.from({ length: 32 }, (_, i) => 200 - i);
const privPem = privateKeyToPem(seed);
const pubPem = publicKeyToPem(publicKeyOf(seed));
const privDer = Buffer.from(privPem.split('\n').slice(1, -2).join(''), 'base64');
const pubDer = Buffer.from(pubPem.split('\n').slice(1, -2).join(''), 'base64');
const armor = (label: string, der: Uint8Array) => `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64')}\n-----END ${label}-----\n`;

/** Byte edits: replace, insert, delete at arbitrary positions. */
const edits = fc.array(fc.tuple(fc.constantFrom('set', 'insert', 'delete'), fc.nat(200), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 });
function applyEdits(src: Uint8Array, es: [string, number, number][]): Uint8Array {
  const b = [...src];
  for (const [op, at, v] of es) {
    const i = b.length ? at % (b.length + (op === 'insert' ? 1 : 0)) : 0;
    if (op === 'set' && b.length) b[i] = v;
    else if (op === 'insert') b.splice(i, 0, v);
    else if (op === 'delete' && b.length) b.splice(i, 1);
  }
  return Uint8Array.from(b);
}

describe('PEM parsers on garbage', () => {
  it('arbitrary strings and bytes', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 })), (input) => {
        onlyOurError(() => parsePrivateKeyPem(input));
        onlyOurError(() => parsePublicKeyPem(input));
      }),
      { numRuns: 500 },
    );
  });

  it('PEM armor around arbitrary bytes, with any label', () => {
    fc.assert(
      fc.property(fc.constantFrom('PRIVATE KEY', 'PUBLIC KEY', 'ENCRYPTED PRIVATE KEY', 'RSA PRIVATE KEY', 'X'), fc.uint8Array({ maxLength: 120 }), (label, der) => {
        onlyOurError(() => parsePrivateKeyPem(armor(label, der)));
        onlyOurError(() => parsePublicKeyPem(armor(label, der)));
      }),
      { numRuns: 500 },
    );
  });

  it('mutated valid DER: returns a key or throws an OcitrustError', () => {
    fc.assert(
      fc.property(edits, (es) => {
        onlyOurError(() => parsePrivateKeyPem(armor('PRIVATE KEY', applyEdits(privDer, es))));
        onlyOurError(() => parsePublicKeyPem(armor('PUBLIC KEY', applyEdits(pubDer, es))));
      }),
      { numRuns: 800 },
    );
  });

  it('mutated PEM text', () => {
    fc.assert(
      fc.property(edits, (es) => {
        onlyOurError(() => parsePrivateKeyPem(applyEdits(new TextEncoder().encode(privPem), es)));
        onlyOurError(() => parsePublicKeyPem(applyEdits(new TextEncoder().encode(pubPem), es)));
      }),
      { numRuns: 500 },
    );
  });
});

describe('key file parser on garbage', () => {
  let valid: Record<string, unknown>;
  let validText: string;
  let file: KeyFile;
  before(async () => {
    file = await KeyFile.encrypt(seed, 'pw');
    valid = file.toJSON() as unknown as Record<string, unknown>;
    validText = file.serialize();
  });

  it('arbitrary strings, bytes and JSON values', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }), fc.json({ maxDepth: 4 })), (input) => {
        onlyOurError(() => KeyFile.parse(input));
      }),
      { numRuns: 500 },
    );
  });

  it('a valid file with one field (or nested field) replaced by any JSON value', () => {
    const paths = ['type', 'version', 'keyid', 'key', 'created', 'kdf', 'cipher', 'check', 'ciphertext', 'kdf.N', 'kdf.r', 'kdf.p', 'kdf.salt', 'kdf.name', 'cipher.nonce', 'cipher.name', 'key.keyval', 'key.keyval.public', 'key.keytype'];
    fc.assert(
      fc.property(fc.constantFrom(...paths), fc.jsonValue({ maxDepth: 3 }), fc.boolean(), (path, value, remove) => {
        const j = structuredClone(valid) as Record<string, any>;
        const parts = path.split('.');
        const last = parts.pop()!;
        let o: Record<string, any> = j;
        for (const p of parts) o = o[p];
        if (remove) delete o[last];
        else o[last] = value;
        onlyOurError(() => KeyFile.parse(JSON.stringify(j)));
      }),
      { numRuns: 800 },
    );
  });

  it('mutated valid file bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('set', 'insert', 'delete'), fc.nat(2000), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (es) => {
        onlyOurError(() => KeyFile.parse(applyEdits(new TextEncoder().encode(validText), es)));
      }),
      { numRuns: 500 },
    );
  });

  it('decrypting a mutated (still parseable) ciphertext throws only our errors', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(47), fc.integer({ min: 1, max: 255 }), async (i, x) => {
        const ct = Buffer.from(valid.ciphertext as string, 'hex');
        ct[i]! ^= x;
        const f = KeyFile.parse(JSON.stringify({ ...valid, ciphertext: ct.toString('hex') }));
        await assert.rejects(f.decrypt('pw'), (e) => e instanceof OcitrustError && e.code === 'KEYFILE_CORRUPT');
      }),
      { numRuns: 5 },
    );
  });
});
