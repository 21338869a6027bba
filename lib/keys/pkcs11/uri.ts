import { OcitrustError } from '../../errors/index.js';

/*
 * PKCS#11 URIs (RFC 7512), parsed strictly: a key reference names hardware, and a lenient
 * parser that ignored a misspelt attribute would pick whichever key happened to match the rest.
 *
 *   pkcs11:token=ci;object=release?module-path=/usr/lib/softhsm/libsofthsm2.so
 *
 * Path attributes (`;`-separated) select the token and the object; query attributes (`&`) say
 * how to reach it. Values are percent-decoded (RFC 3986); `id` is binary, every other value
 * UTF-8. Unknown attributes are refused unless vendor-specific (`x-…`, then ignored), repeated
 * attributes are refused, and so is `pin-value`: a PIN in a URI ends up in argv, shell history
 * and process listings (the PIN comes from --pin-file, OCITRUST_PKCS11_PIN or a prompt).
 */

/** Longest URI accepted. */
const MAX_URI_CHARS = 4096;
/** RFC 7512 path attributes ocitrust matches on. */
const PATH_ATTRS = new Set(['token', 'manufacturer', 'serial', 'model', 'object', 'id', 'type', 'slot-id']);
/** RFC 7512 path attributes ocitrust does not match on (refused rather than silently ignored). */
const PATH_UNSUPPORTED = new Set(['library-manufacturer', 'library-description', 'library-version', 'slot-description', 'slot-manufacturer']);
const QUERY_ATTRS = new Set(['module-path', 'module-name', 'pin-source']);
const OBJECT_TYPES = new Set(['private', 'public', 'cert', 'secret-key', 'data']);
/** RFC 7512 pk11-pchar plus the characters that need no escaping in a query value. */
const VALUE_RE = /^(?:[A-Za-z0-9\-._~:[\]@!$'()*+,=&/?|]|%[0-9A-Fa-f]{2})*$/;

/** A parsed PKCS#11 URI: what selects the token and the key, and how to reach them. */
export interface Pkcs11Uri {
  /** The URI as given. */
  readonly uri: string;
  /** Token label (CK_TOKEN_INFO.label, blanks trimmed). */
  readonly token?: string;
  readonly manufacturer?: string;
  readonly serial?: string;
  readonly model?: string;
  readonly slotId?: number;
  /** Object label (CKA_LABEL). */
  readonly object?: string;
  /** Object id (CKA_ID), binary. */
  readonly id?: Uint8Array;
  /** Object class asked for (`private`, `public`…); ocitrust uses the key pair either way. */
  readonly type?: string;
  /** The PKCS#11 module (shared library) to load. */
  readonly modulePath?: string;
  readonly moduleName?: string;
  /** Where to read the PIN from (a file path or file: URI). */
  readonly pinSource?: string;
}

function bad(uri: string, why: string): OcitrustError {
  return new OcitrustError('PKCS11_URI_INVALID', `PKCS#11 URI ${JSON.stringify(uri.slice(0, 200))}: ${why}`);
}

/** Percent-decodes one value to bytes. */
function decodeBytes(uri: string, name: string, v: string): Uint8Array {
  if (!VALUE_RE.test(v)) throw bad(uri, `attribute ${name}: expected RFC 3986 characters or %XX escapes, got ${JSON.stringify(v.slice(0, 80))}`);
  const out: number[] = [];
  for (let i = 0; i < v.length; i++) {
    if (v[i] === '%') {
      out.push(parseInt(v.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      out.push(...Buffer.from(v[i]!, 'utf8'));
    }
  }
  return Uint8Array.from(out);
}

function decodeText(uri: string, name: string, v: string): string {
  const bytes = decodeBytes(uri, name, v);
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  if (!Buffer.from(text, 'utf8').equals(Buffer.from(bytes))) throw bad(uri, `attribute ${name}: not valid UTF-8 after percent-decoding`);
  if (/[\u0000-\u001f\u007f]/.test(text)) throw bad(uri, `attribute ${name}: control characters are not allowed`);
  return text;
}

/** True when `s` looks like a PKCS#11 URI (scheme `pkcs11:`, any case). */
export function isPkcs11Uri(s: string): boolean {
  return /^pkcs11:/i.test(s);
}

/**
 * Parses a PKCS#11 URI (RFC 7512).
 * @throws PKCS11_URI_INVALID
 */
export function parsePkcs11Uri(uri: string): Pkcs11Uri {
  if (typeof uri !== 'string' || !isPkcs11Uri(uri)) throw bad(String(uri), 'expected a URI starting with pkcs11:');
  if (uri.length > MAX_URI_CHARS) throw bad(uri, `expected at most ${MAX_URI_CHARS} characters, got ${uri.length}`);
  if (uri.includes('#')) throw bad(uri, 'a fragment (#) is not allowed');
  const rest = uri.slice('pkcs11:'.length);
  const q = rest.indexOf('?');
  const path = q < 0 ? rest : rest.slice(0, q);
  const query = q < 0 ? undefined : rest.slice(q + 1);
  const out: Record<string, unknown> = { uri };
  const seen = new Set<string>();
  const take = (part: string, sep: string, allowed: Set<string>, unsupported: Set<string>, kind: string): [string, string] | undefined => {
    const eq = part.indexOf('=');
    if (eq <= 0) throw bad(uri, `${kind} attribute ${JSON.stringify(part.slice(0, 80))}: expected name=value`);
    const name = part.slice(0, eq).toLowerCase();
    const value = part.slice(eq + 1);
    if (name === 'pin-value') throw bad(uri, 'pin-value puts the PIN on the command line; give it with --pin-file or OCITRUST_PKCS11_PIN instead');
    if (seen.has(name)) throw bad(uri, `attribute ${name} is repeated`);
    seen.add(name);
    if (name.startsWith('x-')) return undefined;
    if (unsupported.has(name)) throw bad(uri, `attribute ${name} is valid RFC 7512 but ocitrust does not match on it; select the token by token, manufacturer, serial, model or slot-id`);
    if (!allowed.has(name)) throw bad(uri, `unknown ${kind} attribute ${JSON.stringify(name.slice(0, 40))}; expected one of ${[...allowed].join(', ')} (separated by ${JSON.stringify(sep)})`);
    return [name, value];
  };
  if (path.length > 0) {
    for (const part of path.split(';')) {
      if (part.includes('&') || part.includes('?')) throw bad(uri, `path attribute ${JSON.stringify(part.slice(0, 80))}: '&' and '?' must be percent-encoded in the path`);
      const kv = take(part, ';', PATH_ATTRS, PATH_UNSUPPORTED, 'path');
      if (!kv) continue;
      const [name, value] = kv;
      if (name === 'id') out.id = decodeBytes(uri, name, value);
      else if (name === 'slot-id') {
        if (!/^[0-9]{1,10}$/.test(value)) throw bad(uri, `slot-id: expected a decimal number, got ${JSON.stringify(value.slice(0, 20))}`);
        out.slotId = Number(value);
      } else if (name === 'type') {
        const t = decodeText(uri, name, value);
        if (!OBJECT_TYPES.has(t)) throw bad(uri, `type: expected one of ${[...OBJECT_TYPES].join(', ')}, got ${JSON.stringify(t.slice(0, 20))}`);
        out.type = t;
      } else out[name] = decodeText(uri, name, value);
    }
  }
  if (query !== undefined) {
    if (query.length === 0) throw bad(uri, 'empty query after ?');
    for (const part of query.split('&')) {
      const kv = take(part, '&', QUERY_ATTRS, new Set(), 'query');
      if (!kv) continue;
      const [name, value] = kv;
      const text = decodeText(uri, name, value);
      if (text.length === 0) throw bad(uri, `${name}: expected a value, got an empty one`);
      if (name === 'module-path') out.modulePath = text;
      else if (name === 'module-name') out.moduleName = text;
      else out.pinSource = text;
    }
  }
  if (out.modulePath !== undefined && !(out.modulePath as string).startsWith('/')) throw bad(uri, `module-path: expected an absolute path, got ${JSON.stringify(out.modulePath)}`);
  if (out.object === undefined && out.id === undefined) throw bad(uri, 'name the key with object=LABEL or id=%XX…');
  return out as unknown as Pkcs11Uri;
}

/** Percent-encodes a value for a PKCS#11 URI (everything outside unreserved characters). */
export function encodePkcs11Value(v: string | Uint8Array): string {
  const bytes = typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v);
  let s = '';
  for (const b of bytes) s += /[A-Za-z0-9\-._~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  return s;
}
