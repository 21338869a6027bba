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
  const bad = (why: string): never => {
    throw new OcitrustError('BASE64_MALFORMED', `${what}: ${why}`);
  };
  let end = s.length;
  let pad = 0;
  while (end > 0 && s.charCodeAt(end - 1) === 0x3d /* = */) {
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
    const c = s.charCodeAt(i);
    const alnum = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39);
    if (alnum) continue;
    if (c === 0x2b || c === 0x2f) sawStd = true;
    else if (c === 0x2d || c === 0x5f) sawUrl = true;
    else bad(`invalid character at offset ${i}`);
  }
  if (sawStd && sawUrl) bad('mixes the standard and URL-safe alphabets');
  const body = s.slice(0, end);
  const bytes = new Uint8Array(Buffer.from(body, sawUrl ? 'base64url' : 'base64'));
  // Non-zero bits in the last character that do not belong to any byte: re-encoding gives
  // the unique canonical form, which must equal the input.
  if (rem !== 0) {
    const last = body.charCodeAt(end - 1);
    const alphabet = sawUrl ? URL_SAFE : STD;
    const v = alphabet.indexOf(String.fromCharCode(last));
    const mask = rem === 2 ? 0x0f : 0x03;
    if ((v & mask) !== 0) bad('non-zero trailing bits');
  }
  return bytes;
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
