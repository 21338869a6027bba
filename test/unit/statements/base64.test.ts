import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeBase64, encodeBase64 } from '../../../lib/crypto/base64.js';
import { isOcitrustError, OcitrustError } from '../../../lib/errors/index.js';

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const isMalformed = (e: unknown) => isOcitrustError(e, 'BASE64_MALFORMED');

describe('base64 (strict, both alphabets)', () => {
  it('RFC 4648 §10 vectors, padded and unpadded', () => {
    const vectors: Array<[string, string]> = [
      ['', ''], ['f', 'Zg=='], ['fo', 'Zm8='], ['foo', 'Zm9v'], ['foob', 'Zm9vYg=='], ['fooba', 'Zm9vYmE='], ['foobar', 'Zm9vYmFy'],
    ];
    for (const [plain, b64] of vectors) {
      assert.equal(text(decodeBase64(b64)), plain);
      assert.equal(text(decodeBase64(b64.replace(/=+$/, ''))), plain);
      assert.equal(encodeBase64(new TextEncoder().encode(plain)), b64);
    }
  });

  it('accepts the URL-safe alphabet', () => {
    const bytes = new Uint8Array([0xfb, 0xff, 0xbf]);
    assert.equal(encodeBase64(bytes), '+/+/');
    assert.deepEqual(decodeBase64('-_-_'), bytes);
    assert.deepEqual(decodeBase64('+/+/'), bytes);
  });

  const junk: Array<[string, string]> = [
    ['whitespace', 'Zm9v Yg=='],
    ['newline', 'Zm9v\nYg=='],
    ['junk character', 'Zm9v*g=='],
    ['mixed alphabets', '+/-_'],
    ['too much padding', 'Zg==='],
    ['padding in the middle', 'Zg==Zg=='],
    ['impossible length', 'Zm9vY'],
    ['padded length not multiple of 4', 'Zm9=' + '='],
    ['wrong amount of padding', 'Zm8=='],
    ['non-zero trailing bits (1 byte)', 'Zh=='],
    ['non-zero trailing bits (2 bytes)', 'Zm9='],
    ['lone padding', '='],
  ];
  for (const [why, s] of junk) {
    it(`refuses ${why}: ${JSON.stringify(s)}`, () => assert.throws(() => decodeBase64(s), isMalformed));
  }

  it('round-trips any bytes in both alphabets (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        const std = encodeBase64(b);
        assert.deepEqual(decodeBase64(std), b);
        assert.deepEqual(decodeBase64(Buffer.from(b).toString('base64url')), b);
      }),
    );
  });

  it('garbage only ever throws BASE64_MALFORMED (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 64 }), (s) => {
        try {
          const b = decodeBase64(s);
          // anything accepted must be canonical in its alphabet
          const re = s.includes('-') || s.includes('_') ? Buffer.from(b).toString('base64url') : encodeBase64(b).replace(/=+$/, '');
          assert.equal(re, s.replace(/=+$/, ''));
        } catch (e) {
          assert.ok(e instanceof OcitrustError && e.code === 'BASE64_MALFORMED', String(e));
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('misuse is INVALID_ARGUMENT', () => {
    assert.throws(() => decodeBase64(3 as unknown as string), (e) => isOcitrustError(e, 'INVALID_ARGUMENT'));
    assert.throws(() => encodeBase64('x' as unknown as Uint8Array), (e) => isOcitrustError(e, 'INVALID_ARGUMENT'));
  });
});
