import { OcitrustError, assertArg } from '../errors/index.js';

const STD = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const URL_SAFE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * Strict base64 decoding (RFC 4648 §4 and §5). DSSE requires verifiers to accept both the
 * standard and the URL-safe alphabet, padded or not; everything else is refused rather than
 * skipped the way Node's lenient decoder does: whitespace, junk characters, a mix of the two
 * alphabets, misplaced or partial padding, an impossible length, and non-zero trailing bits
 * (RFC 4648 §3.5), so each byte string has exactly one accepted encoding per alphabet.
 *
 * @param what names the field in error messages (e.g. `envelope payload`).
 * @throws BASE64_MALFORMED when `s` is not strict base64; INVALID_ARGUMENT when not a string.
 * @example decodeBase64('aGVsbG8') // bytes of "hello" (unpadded standard)
 */
export function decodeBase64(s: string, what = 'base64 value'): Uint8Array {
  assertArg(typeof s === 'string', what, 'string', s);
  let end = s.length;
  let pad = 0;
  while (end > 0 && s.charCodeAt(end - 1) === 0x3d /* = */) {
    end--;
    pad++;
  }
  if (pad > 2) bad(what, 'too much padding');
  if (pad > 0 && s.length % 4 !== 0) bad(what, 'padded input length must be a multiple of 4');
  const rem = end % 4;
  if (rem === 1) bad(what, 'impossible length');
  if (pad > 0 && pad !== (4 - rem) % 4) bad(what, 'wrong amount of padding');
  const length = Math.floor((end * 3) / 4);
  // Fast path: Node's lenient decoder, then re-encoding. The encoder emits only alphabet
  // characters, canonical trailing bits and canonical padding, so when the re-encoding equals
  // the input, the input is strict base64 of exactly these bytes (the checks below would
  // accept it and decode the same bytes); otherwise the checks below decide and explain.
  const lenient = Buffer.from(s, 'base64');
  if (
    lenient.length === length &&
    (((pad > 0 || rem === 0) && lenient.toString('base64') === s) || (pad === 0 && lenient.toString('base64url') === s))
  ) {
    return copyOut(lenient);
  }
  const body = pad === 0 ? s : s.slice(0, end);
  // One native regex test per alphabet checks every character; only input that fits neither
  // is walked character by character, to name the first offender.
  let url = false;
  if (!STD_BODY.test(body)) {
    if (!URL_BODY.test(body)) describeBadBody(body, what);
    url = true;
  }
  const decoded = Buffer.from(body, url ? 'base64url' : 'base64');
  if (decoded.length !== length) bad(what, 'decoded length mismatch');
  // Non-zero bits in the last character that do not belong to any byte: re-encoding gives
  // the unique canonical form, which must equal the input.
  if (rem !== 0) {
    const v = SEXTET[body.charCodeAt(end - 1)]!;
    const mask = rem === 2 ? 0x0f : 0x03;
    if ((v & mask) !== 0) bad(what, 'non-zero trailing bits');
  }
  return copyOut(decoded);
}

/**
 * A plain Uint8Array of its own: Buffer's small decodes live in a shared pool, whose other
 * bytes must not be reachable through the result's `.buffer`.
 */
function copyOut(b: Buffer): Uint8Array {
  const out = new Uint8Array(b.length);
  out.set(b);
  return out;
}

const STD_BODY = /^[A-Za-z0-9+/]*$/;
const URL_BODY = /^[A-Za-z0-9_-]*$/;

/** Value of each base64 character of either alphabet, by char code (0 for anything else). */
const SEXTET = (() => {
  const t = new Uint8Array(128);
  for (let i = 0; i < 64; i++) {
    t[STD.charCodeAt(i)] = i;
    t[URL_SAFE.charCodeAt(i)] = i;
  }
  return t;
})();

function bad(what: string, why: string): never {
  throw new OcitrustError('BASE64_MALFORMED', `${what}: ${why}`);
}

/** Throws the reason `body` (no padding) is in neither alphabet: a junk character or a mix. */
function describeBadBody(body: string, what: string): never {
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    const alnum = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39);
    if (!alnum && c !== 0x2b && c !== 0x2f && c !== 0x2d && c !== 0x5f) bad(what, `invalid character at offset ${i}`);
  }
  return bad(what, 'mixes the standard and URL-safe alphabets');
}

/**
 * Standard base64 with padding (RFC 4648 §4), the form DSSE producers emit.
 * @throws INVALID_ARGUMENT when `bytes` is not a Uint8Array.
 */
export function encodeBase64(bytes: Uint8Array): string {
  assertArg(bytes instanceof Uint8Array, 'bytes', 'Uint8Array', bytes);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/**
 * Upper bound of the decoded length of a base64 string of `length` characters, so callers can
 * refuse oversized input before decoding it.
 */
export function maxDecodedLength(length: number): number {
  return Math.floor((length * 3) / 4);
}
