// parseJson answers through V8's JSON.parse plus cheap checks when it can prove the strict
// parser would give the same value, and through the strict parser otherwise. These properties
// hold parseJson to parseJsonStrict on generated documents built to hit every rule the fast path
// has to get right: duplicate keys (also spelt differently, also nested, also `__proto__`),
// colons inside strings, escapes, depth limits, out-of-range numbers, bad whitespace, broken
// grammar and invalid UTF-8. Equal means the same value, key order and prototypes included,
// or the same OcitrustError code and message.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseJson, parseJsonStrict, type JsonLimits } from '../../lib/json.js';
import { OcitrustError } from '../../lib/errors/index.js';

type Outcome = { ok: true; dump: string } | { ok: false; code: string; message: string };

/** A dump that keeps what deepEqual ignores: key order, -0, prototypes, own `__proto__`. */
function dump(v: unknown): string {
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (typeof v !== 'object' || v === null) return JSON.stringify(v);
  if (Array.isArray(v)) {
    assert.equal(Object.getPrototypeOf(v), Array.prototype);
    return `[${v.map(dump).join(',')}]`;
  }
  assert.equal(Object.getPrototypeOf(v), Object.prototype);
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o).map((k) => `${JSON.stringify(k)}:${dump(Object.getOwnPropertyDescriptor(o, k)!.value)}`).join(',')}}`;
}

function outcome(f: () => unknown): Outcome {
  try {
    return { ok: true, dump: dump(f()) };
  } catch (e) {
    assert.ok(e instanceof OcitrustError, `not an OcitrustError: ${String(e)}`);
    return { ok: false, code: e.code, message: e.message };
  }
}

function agree(input: string | Uint8Array, limits: JsonLimits): Outcome {
  const fast = outcome(() => parseJson(input, limits));
  const strict = outcome(() => parseJsonStrict(input, limits));
  assert.deepEqual(fast, strict, `input ${JSON.stringify(typeof input === 'string' ? input : Buffer.from(input).toString('latin1'))}`);
  return fast;
}

// Few distinct keys, so that objects often repeat one; some contain colons or quotes, some are
// special to JavaScript objects, some are integer-like (ordered first by V8).
const KEYS = ['a', 'b', '__proto__', 'constructor', 'toString', '0', '1', '10', 'a:b', ':', '"', 'é', '\u2028', '\\', '\u0000', '\ud800', 'x y'];
/** Mostly valid, sometimes not (each rare invalid piece makes a whole document invalid). */
const mostly = <T>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<T>) => fc.oneof({ arbitrary: valid, weight: 40 }, { arbitrary: invalid, weight: 1 });
const ws = mostly(fc.constantFrom('', '', '', ' ', '\n', '\t', '\r', '  \n '), fc.constantFrom('\u00a0', '\f', '\v'));

/** Every character as a \uXXXX escape: another spelling of the same key or string. */
const escapeAll = (s: string) => `"${[...s].map((c) => Array.from(c, (u) => `\\u${u.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')).join('')}"`;
const spell = (s: string, how: number) => (how === 0 ? JSON.stringify(s) : how === 1 ? escapeAll(s) : `"${s}"` /* raw: may be invalid */);

const how = mostly(fc.constantFrom(0, 0, 0, 1), fc.constant(2));
const keyText = fc.tuple(fc.oneof(fc.constantFrom('a', 'b'), fc.constantFrom(...KEYS)), how).map(([k, h]) => spell(k, h));
const stringText = fc.tuple(fc.oneof(fc.constantFrom(...KEYS), fc.string({ unit: 'binary', maxLength: 8 })), how).map(([s, h]) => spell(s, h));
const numberText = fc.oneof(
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
  mostly(fc.constantFrom('1e-400', '-0', '0.0', '1E+2', '2e-3', '123456789012345678901234567890'), fc.constantFrom('1e400', '-1e400', '01', '1.', '.5', '+1', '-', '0x10', 'Infinity', 'NaN', '1e')),
);
const scalarText = fc.oneof(numberText, stringText, mostly(fc.constantFrom('true', 'false', 'null'), fc.constantFrom('nul', 'True', 'undefined')));

const { value: valueText } = fc.letrec<{ value: string; array: string; object: string }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalarText, tie('array'), tie('object')),
  array: fc.array(fc.tuple(ws, tie('value'), ws), { maxLength: 5 }).map((items) => (items.length === 0 ? '[]' : `[${items.map(([a, v, b]) => a + v + b).join(',')}]`)),
  object: fc
    .array(fc.tuple(ws, keyText, ws, ws, tie('value'), ws), { maxLength: 5 })
    .map((members) => (members.length === 0 ? '{}' : `{${members.map(([a, k, b, c, v, d]) => `${a}${k}${b}:${c}${v}${d}`).join(',')}}`)),
}));

/** Small edits that break or change a document: drop, insert or replace one character. */
const mutated = fc
  .tuple(valueText, fc.nat(), fc.constantFrom('{', '}', '[', ']', ':', ',', '"', '\\', ' ', '0', 'a', '\u0001', 'é'), fc.constantFrom('drop', 'insert', 'replace'))
  .map(([t, at, c, op]) => {
    const i = t.length === 0 ? 0 : at % t.length;
    return op === 'drop' ? t.slice(0, i) + t.slice(i + 1) : op === 'insert' ? t.slice(0, i) + c + t.slice(i) : t.slice(0, i) + c + t.slice(i + 1);
  });

const document = fc.tuple(ws, fc.oneof({ arbitrary: valueText, weight: 3 }, { arbitrary: mutated, weight: 1 }), ws).map(([a, v, b]) => a + v + b);
const limits = fc.record({ maxBytes: fc.constantFrom(1 << 20, 1 << 20, 64), maxDepth: fc.oneof(fc.constant(undefined), fc.integer({ min: 0, max: 6 })) });

describe('parseJson fast path agrees with the strict parser', () => {
  it('on generated documents, as strings and as UTF-8 bytes (property)', () => {
    fc.assert(
      fc.property(document, limits, (text, lim) => {
        agree(text, lim);
        agree(new TextEncoder().encode(text), lim);
      }),
      { numRuns: 4000 },
    );
  });

  it('on generated documents with invalid UTF-8 or a BOM in the bytes (property)', () => {
    const bad = fc.constantFrom([0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80], [0x80]);
    fc.assert(
      fc.property(document, fc.nat(), bad, fc.boolean(), (text, at, junk, bom) => {
        const b = new TextEncoder().encode(text);
        const i = b.length === 0 ? 0 : at % b.length;
        agree(Uint8Array.from([...b.subarray(0, i), ...junk, ...b.subarray(i)]), { maxBytes: 1 << 20 });
        if (bom) agree(Uint8Array.from([0xef, 0xbb, 0xbf, ...b]), { maxBytes: 1 << 20 });
      }),
      { numRuns: 1000 },
    );
  });

  it('on nesting around the depth limit (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 10 }), fc.boolean(), fc.boolean(), (n, maxDepth, objects, dupAtBottom) => {
        const open = objects ? '{"k":' : '[';
        const close = objects ? '}' : ']';
        const inner = dupAtBottom ? '{"a":1,"a":2}' : '{"a":1}';
        agree(open.repeat(n) + inner + close.repeat(n), { maxBytes: 1 << 20, maxDepth });
      }),
      { numRuns: 500 },
    );
  });

  it('duplicate keys are refused wherever they are and however they are spelt', () => {
    const dup = (t: string) => assert.equal((agree(t, { maxBytes: 1 << 20 }) as { code?: string }).code, 'JSON_DUPLICATE_KEY', t);
    dup('{"a":1,"a":1}');
    dup('{"a":"x:y:z","b":{"c":[1,{"d":1,"d":2}]}}');
    dup('{"__proto__":1,"__proto__":{}}');
    dup('{"a":1,"\\u0061":2}');
    dup('{"a:b":":","a:b":1}');
    dup('[{"x":1},{"y":{"z":1,"z":1}}]');
    dup('{"1":1,"1":2}');
  });

  it('"__proto__" stays an own data property and never changes the prototype', () => {
    for (const t of ['{"__proto__":{"polluted":true}}', '{"a":[{"__proto__":null}]}']) {
      agree(t, { maxBytes: 1 << 20 });
      const v = parseJson(t, { maxBytes: 1 << 20 }) as Record<string, unknown>;
      const o = (Array.isArray(v.a) ? v.a[0] : v) as Record<string, unknown>;
      assert.ok(Object.hasOwn(o, '__proto__'));
      assert.equal(Object.getPrototypeOf(o), Object.prototype);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    }
  });

  it('numbers JSON.parse would turn into Infinity are refused like the strict parser refuses them', () => {
    for (const t of ['1e400', '[-1e400]', '{"a":{"b":1e999}}']) {
      assert.equal((agree(t, { maxBytes: 1 << 20 }) as { code?: string }).code, 'JSON_MALFORMED', t);
    }
  });
});

describe('parseJson on huge nesting', () => {
  it('refuses megabytes of nesting as fast as the strict parser (JSON.parse would build it all first)', () => {
    const n = 4_000_000;
    const text = '['.repeat(n) + ']'.repeat(n);
    const started = process.hrtime.bigint();
    assert.equal((agree(text, { maxBytes: 1 << 30 }) as { code?: string }).code, 'JSON_TOO_DEEP');
    // JSON.parse of this text takes over a second and ~300 MB; the strict parser stops at depth 65.
    assert.ok(Number(process.hrtime.bigint() - started) / 1e6 < 1000, 'took a second or more');
  });
});
