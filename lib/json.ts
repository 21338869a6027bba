import { OcitrustError } from './errors/index.js';

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
  const what = limits.what ?? 'JSON document';
  let text: string;
  if (typeof input === 'string') {
    if (Buffer.byteLength(input, 'utf8') > limits.maxBytes) {
      throw new OcitrustError('INPUT_TOO_LARGE', `${what}: larger than ${limits.maxBytes} bytes`);
    }
    text = input;
  } else {
    if (input.length > limits.maxBytes) {
      throw new OcitrustError('INPUT_TOO_LARGE', `${what}: ${input.length} bytes, limit ${limits.maxBytes}`);
    }
    try {
      text = utf8.decode(input);
    } catch (e) {
      throw new OcitrustError('JSON_MALFORMED', `${what}: not valid UTF-8`, { cause: e });
    }
  }
  return new Parser(text, what, limits.maxDepth ?? DEFAULT_DEPTH).parseDocument();
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
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}
