import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { pathMatches, targetPathOf } from '../../../lib/metadata/paths.js';
import { isOcitrustError } from '../../../lib/errors/index.js';

describe('pathMatches (TUF delegation paths)', () => {
  const cases: Array<[string, string, boolean]> = [
    ['registry.example.com/team/app:*', 'registry.example.com/team/app:v1', true],
    ['registry.example.com/team/*', 'registry.example.com/team/app:v1', true],
    ['registry.example.com/team/*', 'registry.example.com/team/app@sha256:00ff', true],
    // '*' never crosses '/': segment counts must agree
    ['registry.example.com/*', 'registry.example.com/team/app:v1', false],
    ['*', 'a/b', false],
    ['*/*', 'a/b', true],
    ['registry.example.com/team/app:v?', 'registry.example.com/team/app:v1', true],
    ['registry.example.com/team/app:v?', 'registry.example.com/team/app:v10', false],
    ['r/app:v[0-9]*', 'r/app:v1.2.3', true],
    ['r/app:v[0-9]*', 'r/app:vx', false],
    ['r/app:[!v]*', 'r/app:v1', false],
    ['r/app:[!v]*', 'r/app:latest', true],
    ['r/app:[^v]*', 'r/app:latest', true],
    ['r/[]]x', 'r/]x', true],
    ['r/a[', 'r/a[', true], // unterminated class is literal
    ['r/a[b', 'r/ab', false],
    // regex metacharacters are literal
    ['r/app.v1', 'r/appXv1', false],
    ['r/app.v1', 'r/app.v1', true],
    ['r/(a|b)+', 'r/(a|b)+', true],
    ['r/(a|b)+', 'r/a', false],
    ['r/a$', 'r/a$', true],
    ['r/\\d', 'r/1', false],
    ['', '', true],
    ['*', '', true],
    ['?', '', false],
    ['a*b*c', 'aXXbYYc', true],
    ['a*b*c', 'aXXbYY', false],
    ['**', 'anything', true],
  ];
  for (const [p, t, want] of cases) {
    it(`${JSON.stringify(p)} vs ${JSON.stringify(t)} → ${want}`, () => assert.equal(pathMatches(p, t), want));
  }

  it('is fast on pathological patterns (no exponential backtracking)', () => {
    const p = 'a*'.repeat(50) + 'b';
    const s = 'a'.repeat(5000);
    const t0 = performance.now();
    assert.equal(pathMatches(p, s), false);
    assert.ok(performance.now() - t0 < 2000);
  });

  it('agrees with an escaped-regex oracle on * and ? patterns (property)', () => {
    const alpha = fc.constantFrom('a', 'b', '/', '.', ':');
    const patAlpha = fc.constantFrom('a', 'b', '/', '.', ':', '*', '?');
    fc.assert(
      fc.property(fc.string({ unit: patAlpha, maxLength: 8 }), fc.string({ unit: alpha, maxLength: 8 }), (p, s) => {
        const re = new RegExp(
          '^' + p.split('').map((c) => (c === '*' ? '[^/]*' : c === '?' ? '[^/]' : c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))).join('') + '$',
        );
        assert.equal(pathMatches(p, s), re.test(s));
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses non-strings with INVALID_ARGUMENT', () => {
    assert.throws(() => pathMatches(1 as unknown as string, 'a'), (e) => isOcitrustError(e, 'INVALID_ARGUMENT'));
    assert.throws(() => pathMatches('a', null as unknown as string), (e) => isOcitrustError(e, 'INVALID_ARGUMENT'));
  });
});

describe('targetPathOf', () => {
  const d = 'sha256:' + 'ab'.repeat(32);
  it('uses the tag when there is one', () => {
    assert.equal(targetPathOf('registry.example.com/team/app', { tag: 'v1', digest: d }), 'registry.example.com/team/app:v1');
  });
  it('uses the digest otherwise', () => {
    assert.equal(targetPathOf('registry.example.com/team/app', { digest: d }), `registry.example.com/team/app@${d}`);
  });
  it('refuses a reference with neither', () => {
    assert.throws(() => targetPathOf('r/app', {}), (e) => isOcitrustError(e, 'INVALID_ARGUMENT'));
    assert.throws(() => targetPathOf('', { tag: 'x' }), (e) => isOcitrustError(e, 'INVALID_ARGUMENT'));
  });
});
