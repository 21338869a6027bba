// RFC 8785 (JCS) against cyberphone/json-canonicalization test data: the 6 input/output pairs and
// the first 10,000 lines of the ES6 number serialization file (see the vectors' README).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jcs, canonicalJson } from '../../../lib/crypto/canonical.js';
import { parseJson } from '../../../lib/json.js';
import { isOcitrustError } from '../../../lib/errors/index.js';
import { VECTORS } from './vectors.js';

const DIR = join(VECTORS, 'jcs-rfc8785');
const PAIRS = ['arrays', 'french', 'structures', 'unicode', 'values', 'weird'];

describe('RFC 8785 input/output pairs', () => {
  it('all 6 pairs are present', () => assert.equal(PAIRS.length, 6));
  for (const name of PAIRS) {
    it(`${name}.json canonicalizes to the expected bytes`, () => {
      const input = readFileSync(join(DIR, 'input', `${name}.json`));
      const expected = readFileSync(join(DIR, 'output', `${name}.json`));
      const outhex = readFileSync(join(DIR, 'outhex', `${name}.txt`), 'utf8').trim().split(/\s+/).join('');
      assert.equal(expected.toString('hex'), outhex, 'output/ and outhex/ agree');
      const got = Buffer.from(jcs(parseJson(new Uint8Array(input), { maxBytes: 1 << 20, what: name })), 'utf8');
      assert.equal(got.toString('hex'), expected.toString('hex'));
    });
  }
});

describe('ES6 number serialization (es6testfile10k.txt)', () => {
  const lines = readFileSync(join(DIR, 'es6testfile10k.txt'), 'utf8').split('\n').filter((l) => l.length > 0);
  const view = new DataView(new ArrayBuffer(8));
  const toDouble = (h: string): number => {
    view.setBigUint64(0, BigInt('0x' + h));
    return view.getFloat64(0);
  };

  it('has 10,000 lines', () => assert.equal(lines.length, 10_000));

  it('every line serializes exactly, at top level and as an array element', () => {
    const failures: string[] = [];
    lines.forEach((line, i) => {
      const m = /^([0-9a-f]{1,16}),(.+)$/.exec(line);
      if (!m) {
        failures.push(`line ${i + 1}: unparseable ${JSON.stringify(line)}`);
        return;
      }
      const d = toDouble(m[1]!);
      const top = jcs(d);
      const arr = jcs([d]);
      if (top !== m[2]) failures.push(`line ${i + 1} (${m[1]}): got ${top}, expected ${m[2]}`);
      if (arr !== `[${m[2]}]`) failures.push(`line ${i + 1} (${m[1]}) in array: got ${arr}`);
    });
    assert.deepEqual(failures.slice(0, 20), []);
  });
});

describe('canonicalJson (signed documents) stays stricter than plain JCS', () => {
  for (const [name, v] of [
    ['a float', 1.5],
    ['the smallest subnormal', 5e-324],
    ['negative zero', -0],
    ['an unsafe integer', 2 ** 53],
    ['a control character', 'a\u0001b'],
  ] as [string, unknown][]) {
    it(`refuses ${name} with CANONICAL_JSON_UNSUPPORTED`, () => {
      assert.throws(() => canonicalJson({ v }), (e) => isOcitrustError(e, 'CANONICAL_JSON_UNSUPPORTED'));
    });
  }

  it('jcs refuses non-JSON values with CANONICAL_JSON_UNSUPPORTED', () => {
    assert.throws(() => jcs(undefined), (e) => isOcitrustError(e, 'CANONICAL_JSON_UNSUPPORTED'));
    assert.throws(() => jcs(() => 1), (e) => isOcitrustError(e, 'CANONICAL_JSON_UNSUPPORTED'));
  });
});
