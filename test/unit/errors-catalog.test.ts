import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AREAS } from '../../lib/errors/catalog.js';
import { renderErrorsDoc } from '../../lib/errors/doc.js';
import { OcitrustError } from '../../lib/errors/index.js';

const root = new URL('../../', import.meta.url).pathname;

function sources(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

describe('error catalogue', () => {
  it('docs/errors.md is the generated rendering of the catalogue (run npm run docs:errors)', () => {
    assert.equal(readFileSync(join(root, 'docs/errors.md'), 'utf8'), renderErrorsDoc());
  });

  it('no code is defined in two areas', () => {
    const seen = new Map<string, string>();
    for (const [area, table] of Object.entries(AREAS)) {
      for (const code of Object.keys(table)) {
        assert.ok(!seen.has(code), `${code} defined in ${seen.get(code)} and ${area}`);
        seen.set(code, area);
      }
    }
  });

  it('every entry is complete: UPPER_SNAKE code, exit 1|2|3, HTTP 4xx/5xx, prose', () => {
    for (const table of Object.values(AREAS)) {
      for (const [code, s] of Object.entries(table)) {
        assert.match(code, /^[A-Z][A-Z0-9_]+$/);
        assert.ok([1, 2, 3].includes(s.exit), code);
        assert.ok(s.http >= 400 && s.http < 600, code);
        assert.ok(s.meaning.length > 10 && s.action.length > 5, code);
      }
    }
  });

  it('every code in the catalogue is used somewhere in the sources (no dead entries)', () => {
    const text = ['lib', 'server', 'cli', 'hook']
      .flatMap((d) => {
        try { return sources(join(root, d)); } catch { return []; }
      })
      .filter((p) => !p.includes('/errors/'))
      .map((p) => readFileSync(p, 'utf8'))
      .join('\n');
    // The native front (native/trust-front.c) prints its one error as "… [CODE]".
    const native = readdirSync(join(root, 'native'))
      .filter((f) => f.endsWith('.c'))
      .map((f) => readFileSync(join(root, 'native', f), 'utf8'))
      .join('\n');
    for (const table of Object.values(AREAS)) {
      for (const code of Object.keys(table)) {
        if (code === 'INTERNAL') continue; // produced by toOcitrustError's default
        assert.ok(text.includes(`'${code}'`) || native.includes(`[${code}]`), `${code} is catalogued but never used`);
      }
    }
  });

  it('OcitrustError maps a code to its exit code and HTTP status', () => {
    const e = new OcitrustError('JSON_MALFORMED', 'x');
    assert.equal(e.exitCode, 2);
    assert.equal(e.httpStatus, 400);
    assert.deepEqual(e.toJSON(), { code: 'JSON_MALFORMED', message: 'x' });
  });
});
