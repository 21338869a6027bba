import { OcitrustError, describe } from './errors/index.js';

/** Limits for {@link parseJson}. */
export interface JsonLimits {
  /** Largest accepted input in bytes (UTF-8). */
  readonly maxBytes: number;
  /** Deepest accepted nesting of arrays and objects. */
  readonly maxDepth?: number;
  /** Names the document in error messages, e.g. "root.json" or "registry manifest". */
  readonly what?: string;
}

const DEFAULT_DEPTH = 64;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * Parses untrusted JSON strictly: valid UTF-8, RFC 8259 grammar, no duplicate object keys
 * (parsers disagree on which duplicate wins, which is a classic signature-confusion vector),
 * bounded size and depth. Every failure is an OcitrustError (JSON_MALFORMED,
 * JSON_DUPLICATE_KEY, JSON_TOO_DEEP, INPUT_TOO_LARGE); nothing else is thrown.
 *
 * @example parseJson(bytes, { maxBytes: 1 << 20, what: 'targets.json' })
 */
export function parseJson(input: string | Uint8Array, limits: JsonLimits): unknown {
  checkArgs(input, limits);
  const what = limits.what ?? 'JSON document';
  const text = decodeText(input, limits.maxBytes, what);
  const maxDepth = limits.maxDepth ?? DEFAULT_DEPTH;
  const fast = parseJsonFast(text, maxDepth);
  return fast !== NOT_FAST ? fast : new Parser(text, what, maxDepth).parseDocument();
}

/**
 * The strict parser alone, without the fast path of {@link parseJson}: the reference that the
 * fast path must agree with (tests compare the two). Same contract and errors as parseJson.
 *
 * @throws INPUT_TOO_LARGE, JSON_MALFORMED, JSON_DUPLICATE_KEY, JSON_TOO_DEEP
 */
export function parseJsonStrict(input: string | Uint8Array, limits: JsonLimits): unknown {
  checkArgs(input, limits);
  const what = limits.what ?? 'JSON document';
  return new Parser(decodeText(input, limits.maxBytes, what), what, limits.maxDepth ?? DEFAULT_DEPTH).parseDocument();
}

/** Misuse is INVALID_ARGUMENT; a size bound of NaN would compare false and bound nothing. */
function checkArgs(input: unknown, limits: JsonLimits): void {
  const misuse = (what: string, v: unknown): never => {
    throw new OcitrustError('INVALID_ARGUMENT', `${what}, got ${describe(v)}`);
  };
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) misuse('input: expected a string or Uint8Array', input);
  if (typeof limits !== 'object' || limits === null) misuse('limits: expected {maxBytes, maxDepth?, what?}', limits);
  if (!Number.isSafeInteger(limits.maxBytes) || limits.maxBytes < 0) misuse('limits.maxBytes: expected an integer ≥ 0', limits.maxBytes);
  if (limits.maxDepth !== undefined && (!Number.isSafeInteger(limits.maxDepth) || limits.maxDepth < 1)) misuse('limits.maxDepth: expected an integer ≥ 1', limits.maxDepth);
  if (limits.what !== undefined && typeof limits.what !== 'string') misuse('limits.what: expected a string', limits.what);
}

/** Marks "the fast path cannot vouch for this input; ask the strict parser". */
const NOT_FAST: unique symbol = Symbol('not fast');

/*
 * Fast path: V8's native JSON.parse for the grammar, then cheap checks for everything it does
 * not enforce. It only ever returns a value the strict parser would return identically;
 * whenever it cannot prove that, it answers NOT_FAST and the strict parser decides (so every
 * error, code and message, comes from the strict parser alone).
 *
 *  - Grammar: JSON.parse implements the same RFC 8259 / ECMA-404 grammar (same four
 *    whitespace characters, no control characters in strings, same number syntax); on any
 *    SyntaxError (or RangeError on absurd nesting) the strict parser runs.
 *  - Numbers: JSON.parse turns 1e400 into Infinity where the strict parser refuses; the walk
 *    below sees every value and gives up on a non-finite number.
 *  - Depth: the walk stops at maxDepth + 1 containers, where the strict parser would refuse.
 *  - Duplicate keys: JSON.parse silently keeps the last one, so the member count of every
 *    object would shrink. The walk counts the own keys of all parsed objects; the text is
 *    scanned for structural colons (colons outside strings), one per object member. The two
 *    totals are equal exactly when no object lost a member to a duplicate. The scan needs the
 *    string boundaries, which are trivial when the text holds no backslash at all (no escaped
 *    quotes, and no two spellings of one key such as "a" and "\u0061"); text with a backslash
 *    goes to the strict parser.
 *  - "__proto__": JSON.parse creates it as an own data property (ECMA-262 JSON.parse does not
 *    apply the object-literal __proto__ rule), as the strict parser does with defineProperty.
 *
 * JSON.parse builds the whole tree before the depth can be checked, where the strict parser
 * stops at the first container too deep: 8 MB of "[" cost it seconds and hundreds of MB. So
 * only texts up to FAST_MAX_CHARS (the envelope limit; statements and most metadata are far
 * smaller) take the fast path; at that size, nesting too deep costs about what the strict
 * parser spends on a flat document of the same size anyway (tens of milliseconds).
 */
const FAST_MAX_CHARS = 256 * 1024;
/** Taken once, so that a later reassignment of JSON.parse cannot change what is accepted. */
const nativeParse: (text: string) => unknown = JSON.parse;

function parseJsonFast(text: string, maxDepth: number): unknown {
  if (text.length > FAST_MAX_CHARS || text.indexOf('\\') !== -1) return NOT_FAST;
  let v: unknown;
  try {
    v = nativeParse(text);
  } catch {
    return NOT_FAST;
  }
  const members = countMembers(v, 1, maxDepth);
  if (members < 0 || members !== structuralColons(text)) return NOT_FAST;
  return v;
}

/**
 * Total own keys of every object in `v`, or -1 when `v` holds a non-finite number or nests
 * deeper than `maxDepth` (`depth` is the level a container at `v` would have).
 */
function countMembers(v: unknown, depth: number, maxDepth: number): number {
  if (typeof v !== 'object' || v === null) return typeof v === 'number' && !Number.isFinite(v) ? -1 : 0;
  if (depth > maxDepth) return -1;
  let n = 0;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (typeof x === 'object' || typeof x === 'number') {
        const m = countMembers(x, depth + 1, maxDepth);
        if (m < 0) return -1;
        n += m;
      }
    }
    return n;
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  n = keys.length;
  for (let i = 0; i < keys.length; i++) {
    const x = o[keys[i]!];
    if (typeof x === 'object' || typeof x === 'number') {
      const m = countMembers(x, depth + 1, maxDepth);
      if (m < 0) return -1;
      n += m;
    }
  }
  return n;
}

/**
 * Colons outside strings in backslash-free, grammatical JSON text: every '"' is then a string
 * boundary. Both search positions only move forward, so this is linear in the text length.
 */
function structuralColons(s: string): number {
  let n = 0;
  let colon = s.indexOf(':');
  let open = s.indexOf('"');
  while (colon !== -1) {
    if (open === -1 || colon < open) {
      n++;
      colon = s.indexOf(':', colon + 1);
      continue;
    }
    const close = s.indexOf('"', open + 1);
    if (close === -1) return -1; // unreachable for text JSON.parse accepted
    if (colon < close) colon = s.indexOf(':', close + 1);
    open = s.indexOf('"', close + 1);
  }
  return n;
}

/** The text of `input`, size-checked; bytes must be valid UTF-8 (a leading BOM is dropped). */
function decodeText(input: string | Uint8Array, maxBytes: number, what: string): string {
  if (typeof input === 'string') {
    if (Buffer.byteLength(input, 'utf8') > maxBytes) {
      throw new OcitrustError('INPUT_TOO_LARGE', `${what}: larger than ${maxBytes} bytes`);
    }
    return input;
  }
  if (input.length > maxBytes) {
    throw new OcitrustError('INPUT_TOO_LARGE', `${what}: ${input.length} bytes, limit ${maxBytes}`);
  }
  try {
    return utf8.decode(input);
  } catch (e) {
    throw new OcitrustError('JSON_MALFORMED', `${what}: not valid UTF-8`, { cause: e });
  }
}

class Parser {
  private i = 0;
  constructor(
    private readonly s: string,
    private readonly what: string,
    private readonly maxDepth: number,
  ) {}

  parseDocument(): unknown {
    this.ws();
    const v = this.value(0);
    this.ws();
    if (this.i !== this.s.length) this.fail('unexpected data after the JSON value');
    return v;
  }

  private fail(msg: string): never {
    throw new OcitrustError('JSON_MALFORMED', `${this.what}: ${msg} at offset ${this.i}`);
  }

  private ws(): void {
    const s = this.s;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.i++;
      else break;
    }
  }

  private value(depth: number): unknown {
    const c = this.s[this.i];
    switch (c) {
      case '{':
        return this.object(depth + 1);
      case '[':
        return this.array(depth + 1);
      case '"':
        return this.string();
      case 't':
        return this.literal('true', true);
      case 'f':
        return this.literal('false', false);
      case 'n':
        return this.literal('null', null);
      default:
        if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
        return this.fail(c === undefined ? 'unexpected end of input' : `unexpected character ${JSON.stringify(c)}`);
    }
  }

  private literal<T>(word: string, v: T): T {
    if (this.s.startsWith(word, this.i)) {
      this.i += word.length;
      return v;
    }
    return this.fail('invalid literal');
  }

  private number(): number {
    const re = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
    re.lastIndex = this.i;
    const m = re.exec(this.s);
    if (!m) this.fail('invalid number');
    this.i += m[0].length;
    const n = Number(m[0]);
    if (!Number.isFinite(n)) this.fail('number out of range');
    return n;
  }

  private string(): string {
    const s = this.s;
    this.i++; // opening quote
    let out = '';
    let start = this.i;
    for (;;) {
      if (this.i >= s.length) this.fail('unterminated string');
      const c = s.charCodeAt(this.i);
      if (c === 0x22) {
        out += s.slice(start, this.i);
        this.i++;
        return out;
      }
      if (c < 0x20) this.fail('control character in string');
      if (c === 0x5c) {
        out += s.slice(start, this.i);
        const e = s[this.i + 1];
        this.i += 2;
        switch (e) {
          case '"': out += '"'; break;
          case '\\': out += '\\'; break;
          case '/': out += '/'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'n': out += '\n'; break;
          case 'r': out += '\r'; break;
          case 't': out += '\t'; break;
          case 'u': {
            const hex = s.slice(this.i, this.i + 4);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('invalid \\u escape');
            out += String.fromCharCode(parseInt(hex, 16));
            this.i += 4;
            break;
          }
          default:
            this.i -= 2;
            this.fail('invalid escape');
        }
        start = this.i;
      } else {
        this.i++;
      }
    }
  }

  private array(depth: number): unknown[] {
    if (depth > this.maxDepth) throw new OcitrustError('JSON_TOO_DEEP', `${this.what}: nesting deeper than ${this.maxDepth}`);
    this.i++;
    const out: unknown[] = [];
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      out.push(this.value(depth));
      this.ws();
      const c = this.s[this.i];
      if (c === ',') { this.i++; continue; }
      if (c === ']') { this.i++; return out; }
      this.fail('expected , or ] in array');
    }
  }

  private object(depth: number): Record<string, unknown> {
    if (depth > this.maxDepth) throw new OcitrustError('JSON_TOO_DEEP', `${this.what}: nesting deeper than ${this.maxDepth}`);
    this.i++;
    const out: Record<string, unknown> = {};
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.fail('expected a string key');
      const key = this.string();
      if (Object.prototype.hasOwnProperty.call(out, key)) {
        throw new OcitrustError('JSON_DUPLICATE_KEY', `${this.what}: duplicate key ${JSON.stringify(key.slice(0, 64))}`);
      }
      this.ws();
      if (this.s[this.i] !== ':') this.fail('expected : after key');
      this.i++;
      this.ws();
      const v = this.value(depth);
      // defineProperty so that a "__proto__" key stays data and never changes the prototype.
      Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
      this.ws();
      const c = this.s[this.i];
      if (c === ',') { this.i++; continue; }
      if (c === '}') { this.i++; return out; }
      this.fail('expected , or } in object');
    }
  }
}

/** True for a plain JSON object (not null, not an array). */
/**
 * True for an object literal (prototype Object.prototype or null): options objects are checked
 * with this, so that a Date, a Map or a class instance, which have no own option fields, is
 * refused rather than read as "every option at its default".
 */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** True for any non-null, non-array object that is not bytes (parsed JSON objects and the like). */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/**
 * The first number in a JSON text, as written (`2.0`, `1e3`, `-1`), for which `refuse` is
 * true; undefined when there is none. Parsers keep only the value, and `2.0`, `1e3` and `2`
 * all become one JavaScript number, while Go decoders refuse `2.0` and `1e3` for integer
 * fields: formats whose numbers are integers check the lexemes with this. Strings are
 * skipped. Meant for texts that already parsed as JSON.
 *
 * @example findNumberLexeme(bytes, (n) => !/^(0|[1-9][0-9]*)$/.test(n)) // '2.0' for {"size":2.0}
 */
export function findNumberLexeme(input: string | Uint8Array, refuse: (lexeme: string) => boolean): string | undefined {
  // Bytes and UTF-16 units agree on every ASCII character, and JSON's structure is ASCII.
  const at = typeof input === 'string' ? (i: number) => input.charCodeAt(i) : (i: number) => input[i] as number;
  const n = input.length;
  const QUOTE = 0x22;
  const BACKSLASH = 0x5c;
  const isNumberChar = (c: number): boolean => (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45;
  for (let i = 0; i < n; i++) {
    const c = at(i);
    if (c === QUOTE) {
      for (i++; i < n && at(i) !== QUOTE; i++) if (at(i) === BACKSLASH) i++;
      continue;
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let j = i;
      let lexeme = '';
      while (j < n && isNumberChar(at(j))) lexeme += String.fromCharCode(at(j++));
      if (refuse(lexeme)) return lexeme;
      i = j - 1;
    }
  }
  return undefined;
}
