import canonicalize from 'canonicalize';
import { OcitrustError } from '../errors/index.js';

/**
 * Canonical JSON (RFC 8785, JCS) of a value that holds only strings, safe integers,
 * booleans, null, arrays and plain objects. Floats, non-finite numbers, undefined, bigint,
 * functions, symbols, class instances and strings with control characters are refused with
 * CANONICAL_JSON_UNSUPPORTED: with them excluded, JCS and TUF's (OLPC) canonical JSON produce
 * the same bytes, so tuf-js and python-tuf verify what we sign.
 *
 * @throws OcitrustError CANONICAL_JSON_UNSUPPORTED
 */
export function canonicalJson(value: unknown): string {
  check(value, '$', 0);
  return canonicalize(value) as string;
}

/** UTF-8 bytes of {@link canonicalJson}. */
export function canonicalBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalJson(value));
}

/**
 * Plain RFC 8785 for any JSON value, floats included (used for interop tests and
 * non-metadata documents). Still refuses non-JSON values.
 */
export function jcs(value: unknown): string {
  try {
    const out = canonicalize(value);
    if (typeof out !== 'string') throw new Error('value has no JSON representation');
    return out;
  } catch (e) {
    throw new OcitrustError('CANONICAL_JSON_UNSUPPORTED', `cannot canonicalize: ${(e as Error).message}`, { cause: e });
  }
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f]/;

function check(v: unknown, path: string, depth: number): void {
  const bad = (why: string): never => {
    throw new OcitrustError('CANONICAL_JSON_UNSUPPORTED', `${path}: ${why}`);
  };
  if (depth > 64) bad('nested too deeply');
  if (v === null || typeof v === 'boolean') return;
  if (typeof v === 'string') {
    if (CONTROL.test(v)) bad('control characters are not allowed in canonical strings');
    return;
  }
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) bad(`only safe integers are allowed, got ${v}`);
    if (Object.is(v, -0)) bad('negative zero is not allowed');
    return;
  }
  if (Array.isArray(v)) {
    v.forEach((x, i) => check(x, `${path}[${i}]`, depth + 1));
    return;
  }
  if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) bad('only plain objects are allowed');
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (CONTROL.test(k)) bad('control characters are not allowed in keys');
      if (x === undefined) bad(`key ${JSON.stringify(k)} is undefined`);
      check(x, `${path}.${k}`, depth + 1);
    }
    return;
  }
  bad(`${typeof v} is not a JSON value`);
}

/**
 * TUF's canonical JSON (OLPC, as python-tuf, tuf-js and go-tuf compute keyids): like
 * {@link canonicalBytes}, except that strings may hold control characters, which OLPC writes
 * raw (only `"` and `\` are escaped). For values without control characters the bytes are
 * those of {@link canonicalBytes}. The result is not always valid JSON (a raw newline in a
 * string), so it is only ever hashed: it gives the keyid of a key object whose public value is
 * a PEM block (`{"keytype":"ecdsa","keyval":{"public":"-----BEGIN PUBLIC KEY-----\n…"}}`).
 *
 * @throws OcitrustError CANONICAL_JSON_UNSUPPORTED for the other values canonicalBytes refuses
 */
export function tufCanonicalBytes(value: unknown): Uint8Array {
  try {
    return canonicalBytes(value);
  } catch (e) {
    if (!(e instanceof OcitrustError) || !/control characters are not allowed in canonical strings/.test(e.message)) throw e;
  }
  return new TextEncoder().encode(olpc(value, '$', 0));
}

function olpc(v: unknown, path: string, depth: number): string {
  if (typeof v === 'string') return '"' + v.replace(/[\\"]/g, (c) => '\\' + c) + '"';
  if (Array.isArray(v)) return '[' + v.map((x, i) => olpc(x, `${path}[${i}]`, depth + 1)).join(',') + ']';
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return '{' + Object.keys(o).sort().map((k) => olpc(k, path, depth) + ':' + olpc(o[k], `${path}.${k}`, depth + 1)).join(',') + '}';
  }
  // Scalars and everything else: the JCS checks and form (keys with control characters included).
  return canonicalJson(v);
}
