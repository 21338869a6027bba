// The quick paths of envelope and statement parsing (issue 2 benchmark) against straightforward
// references: strict base64 decoding, PAE construction and statement time parsing must give
// exactly the answers (bytes, values, error codes and messages) of the plain algorithms.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeBase64 } from '../../../lib/crypto/base64.js';
import { pae } from '../../../lib/statements/dsse.js';
import { parseTimeQuick } from '../../../lib/statements/statement.js';
import { parseTime, formatTime } from '../../../lib/clock.js';
import { OcitrustError } from '../../../lib/errors/index.js';

const STD = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const URL_SAFE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** RFC 4648 strict decoding, character by character: the reference for decodeBase64. */
function referenceDecode(s: string, what: string): Uint8Array {
  const bad = (why: string): never => {
    throw new OcitrustError('BASE64_MALFORMED', `${what}: ${why}`);
  };
  let end = s.length;
  let pad = 0;
  while (end > 0 && s[end - 1] === '=') {
    end--;
    pad++;
  }
  if (pad > 2) bad('too much padding');
  if (pad > 0 && s.length % 4 !== 0) bad('padded input length must be a multiple of 4');
  const rem = end % 4;
  if (rem === 1) bad('impossible length');
  if (pad > 0 && pad !== (4 - rem) % 4) bad('wrong amount of padding');
  let sawStd = false;
  let sawUrl = false;
  for (let i = 0; i < end; i++) {
    const c = s[i]!;
    if (/[A-Za-z0-9]/.test(c)) continue;
    if (c === '+' || c === '/') sawStd = true;
    else if (c === '-' || c === '_') sawUrl = true;
    else bad(`invalid character at offset ${i}`);
  }
  if (sawStd && sawUrl) bad('mixes the standard and URL-safe alphabets');
  const alphabet = sawUrl ? URL_SAFE : STD;
  let bits = 0;
  let n = 0;
  const out: number[] = [];
  for (let i = 0; i < end; i++) {
    bits = (bits << 6) | alphabet.indexOf(s[i]!);
    n += 6;
    if (n >= 8) {
      n -= 8;
      out.push((bits >> n) & 0xff);
      bits &= (1 << n) - 1;
    }
  }
  if (bits !== 0) bad('non-zero trailing bits');
  return Uint8Array.from(out);
}

function outcome(f: () => Uint8Array): { ok: true; bytes: number[]; plain: boolean } | { ok: false; code: string; message: string } {
  try {
    const b = f();
    return { ok: true, bytes: [...b], plain: Object.getPrototypeOf(b) === Uint8Array.prototype && b.byteOffset === 0 && b.buffer.byteLength === b.length };
  } catch (e) {
    assert.ok(e instanceof OcitrustError, String(e));
    return { ok: false, code: e.code, message: e.message };
  }
}

describe('decodeBase64 fast path equals the character-by-character reference', () => {
  // Near-valid input: encodings of random bytes in either alphabet, padded or not, then edited.
  const edited = fc
    .tuple(
      fc.uint8Array({ maxLength: 80 }),
      fc.constantFrom('base64', 'base64url'),
      fc.boolean(),
      fc.array(fc.tuple(fc.nat(), fc.constantFrom('A', 'z', '9', '+', '/', '-', '_', '=', ' ', '\n', '*', 'é', ''), fc.constantFrom('insert', 'replace')), { maxLength: 2 }),
    )
    .map(([bytes, alphabet, unpad, edits]) => {
      let s = Buffer.from(bytes).toString(alphabet as BufferEncoding);
      if (alphabet === 'base64' && unpad) s = s.replace(/=+$/, '');
      if (alphabet === 'base64url' && !unpad) s = s.padEnd(Math.ceil(s.length / 4) * 4, '=');
      for (const [at, c, op] of edits) {
        const i = s.length === 0 ? 0 : at % (s.length + 1);
        s = op === 'insert' ? s.slice(0, i) + c + s.slice(i) : s.slice(0, i) + c + s.slice(i + 1);
      }
      return s;
    });

  it('on edited encodings (property)', () => {
    fc.assert(
      fc.property(edited, (s) => {
        const got = outcome(() => decodeBase64(s, 'field'));
        const want = outcome(() => referenceDecode(s, 'field'));
        if (want.ok) assert.deepEqual(got, { ...want, plain: true }, JSON.stringify(s));
        else assert.deepEqual(got, want, JSON.stringify(s));
      }),
      { numRuns: 3000 },
    );
  });

  it('on short strings over the base64 characters (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'AQgw+/-_=0aZ'), maxLength: 9 }), (s) => {
        const got = outcome(() => decodeBase64(s, 'field'));
        const want = outcome(() => referenceDecode(s, 'field'));
        if (want.ok) assert.deepEqual(got, { ...want, plain: true }, JSON.stringify(s));
        else assert.deepEqual(got, want, JSON.stringify(s));
      }),
      { numRuns: 3000 },
    );
  });

  it('returns a fresh array, never a view of a shared pool', () => {
    const a = decodeBase64('aGVsbG8=');
    const b = decodeBase64('d29ybGQ=');
    assert.equal(a.buffer.byteLength, 5);
    assert.notEqual(a.buffer, b.buffer);
  });
});

describe('pae equals the DSSE definition built part by part', () => {
  const enc = new TextEncoder();
  const reference = (type: string, body: Uint8Array) => {
    const t = enc.encode(type);
    return Uint8Array.from([...enc.encode(`DSSEv1 ${t.length} `), ...t, ...enc.encode(` ${body.length} `), ...body]);
  };
  it('for any payload type, lone surrogates included, and any body (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: 'binary', maxLength: 20 }), fc.constantFrom('\ud800', 'a\udc00b', '😀', 'application/vnd.in-toto+json')),
        fc.uint8Array({ maxLength: 300 }),
        (type, body) => assert.deepEqual(pae(type, body), reference(type, body)),
      ),
      { numRuns: 1000 },
    );
  });
});

describe('parseTimeQuick equals parseTime', () => {
  const same = (s: unknown) => {
    const quick = parseTimeQuick(s);
    const plain = parseTime(s);
    assert.equal(quick === null ? null : quick.getTime(), plain === null ? null : plain.getTime(), JSON.stringify(s));
    if (quick !== null) assert.equal(formatTime(quick), s);
  };
  const two = (max: number) => fc.integer({ min: 0, max }).map((n) => String(n).padStart(2, '0'));

  it('on time-shaped strings with fields in and out of range (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 0, max: 9999 }), fc.constantFrom(1900, 1969, 1970, 2000, 2024, 2100, 9999)),
        two(13),
        two(32),
        two(25),
        two(61),
        two(61),
        (y, mo, d, h, mi, s) => same(`${String(y).padStart(4, '0')}-${mo}-${d}T${h}:${mi}:${s}Z`),
      ),
      { numRuns: 5000 },
    );
  });

  it('on leap days, month ends and malformed variants', () => {
    for (const s of [
      '2024-02-29T00:00:00Z', '2023-02-29T00:00:00Z', '2000-02-29T12:00:00Z', '1900-02-29T00:00:00Z', '2100-02-29T00:00:00Z',
      '2026-04-31T00:00:00Z', '2026-12-31T23:59:59Z', '2026-01-01T24:00:00Z', '2026-01-01T00:00:60Z', '1970-01-01T00:00:00Z',
      '0000-01-01T00:00:00Z', '0099-03-01T00:00:00Z', '2026-01-01T00:00:00.000Z', '2026-01-01 00:00:00Z', '2026-01-01T00:00:00z',
      '+02026-01-01T00:00:00Z', '2026-1-01T00:00:00Z', '２026-01-01T00:00:00Z', '', 5, null, undefined,
    ]) {
      same(s);
    }
  });

  it('on arbitrary strings (property)', () => {
    fc.assert(fc.property(fc.string({ maxLength: 24 }), same), { numRuns: 2000 });
  });
});
