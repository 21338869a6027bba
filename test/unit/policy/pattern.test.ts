import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compilePattern, matchPattern, compareSpecificity, type ImagePattern } from '../../../lib/policy/pattern.js';
import { parseReference } from '../../../lib/reference.js';

function pat(s: string): ImagePattern {
  const r = compilePattern(s);
  if (!r.ok) assert.fail(`${s}: ${r.reason}`);
  return r.pattern;
}

describe('image patterns', () => {
  describe('#compilePattern', () => {
    const normalized: [string, string][] = [
      ['nginx', 'docker.io/library/nginx'],
      ['library/nginx', 'docker.io/library/nginx'],
      ['docker.io/nginx', 'docker.io/library/nginx'],
      ['index.docker.io/library/nginx', 'docker.io/library/nginx'],
      ['bitnami/redis', 'docker.io/bitnami/redis'],
      ['localhost:5000/app', 'localhost:5000/app'],
      ['Registry.Example.com/team/*', 'registry.example.com/team/*'],
      ['registry.example.com/**', 'registry.example.com/**'],
      ['**', '**'],
    ];
    for (const [input, text] of normalized) {
      it(`normalizes ${input} → ${text}`, () => assert.equal(pat(input).text, text));
    }

    const bad: [string, RegExp][] = [
      ['', /empty/],
      ['*', /use '\*\*'/],
      ['nginx:1.25', /remove the tag/],
      ['registry.example.com/app:1', /remove the tag/],
      ['nginx@sha256:' + 'a'.repeat(64), /remove the digest/],
      ['bitnami/*', /did you mean 'docker\.io\/bitnami\/\*'/],
      ['registry.example.com/Team/*', /not a valid repository path component/],
      ['registry.example.com//x', /empty path segment/],
      ['registry.example.com/a**', /whole segment/],
      ['registry.example.com/**/**', /consecutive/],
      ['*.example.com', /registry host and a path/],
      ['registry example.com/x', /whitespace/],
      ['a'.repeat(600), /longer than/],
    ];
    for (const [input, why] of bad) {
      it(`rejects ${JSON.stringify(input.slice(0, 40))}`, () => {
        const r = compilePattern(input);
        assert.equal(r.ok, false);
        if (!r.ok) assert.match(r.reason, why);
      });
    }
  });

  describe('#matchPattern', () => {
    const table: [string, string, boolean][] = [
      ['registry.example.com/team/*', 'registry.example.com/team/app', true],
      ['registry.example.com/team/*', 'registry.example.com/team/a/b', false],
      ['registry.example.com/team/*', 'registry.example.com/teamx/app', false],
      ['registry.example.com/**', 'registry.example.com/a', true],
      ['registry.example.com/**', 'registry.example.com/a/b/c', true],
      ['registry.example.com/**', 'registry.example.comx/a', false],
      ['registry.example.com/team/**/api', 'registry.example.com/team/api', true],
      ['registry.example.com/team/**/api', 'registry.example.com/team/x/y/api', true],
      ['registry.example.com/team/**/api', 'registry.example.com/team/x/api2', false],
      ['*.example.com/**', 'eu.example.com/a/b', true],
      ['*.example.com/**', 'example.com/a', false],
      ['**/nginx', 'docker.io/library/nginx', true],
      ['**/nginx', 'ghcr.io/nginx', true],
      ['**/nginx', 'ghcr.io/nginxx', false],
      ['**', 'localhost:5000/x', true],
      ['registry.example.com/app-*', 'registry.example.com/app-api', true],
      ['registry.example.com/app-*', 'registry.example.com/app', false],
      ['nginx', 'docker.io/library/nginx', true],
      ['nginx', 'docker.io/library/nginx2', false],
      ['registry.example.com/a.b', 'registry.example.com/aXb', false],
      ['registry.example.com/team/*', 'REGISTRY.EXAMPLE.COM/team/app', true],
    ];
    for (const [p, repo, want] of table) {
      it(`${p} ${want ? 'matches' : 'does not match'} ${repo}`, () => assert.equal(matchPattern(pat(p), repo), want));
    }

    it('an exact pattern matches exactly the repository its reference normalizes to (property)', () => {
      const comp = fc.stringMatching(/^[a-z0-9]{1,8}$/);
      fc.assert(
        fc.property(fc.constantFrom('docker.io', 'ghcr.io', 'registry.example.com:5000', 'localhost'), fc.array(comp, { minLength: 1, maxLength: 3 }), fc.array(comp, { minLength: 1, maxLength: 3 }), (host, a, b) => {
          const ra = parseReference(`${host}/${a.join('/')}`).repository;
          const rb = parseReference(`${host}/${b.join('/')}`).repository;
          const p = pat(`${host}/${a.join('/')}`);
          assert.equal(matchPattern(p, ra), true);
          assert.equal(matchPattern(p, rb), ra === rb);
          assert.equal(matchPattern(pat('**'), ra), true);
          assert.equal(matchPattern(pat(`${host.toLowerCase()}/**`), ra), true);
        }),
        { numRuns: 200 },
      );
    });
  });

  describe('#compareSpecificity', () => {
    const ordered = [
      // most specific first
      'registry.example.com/team/app',
      'registry.example.com/team/app-*',
      'registry.example.com/team/*',
      'registry.example.com/team/**',
      'registry.example.com/*/app',
      'registry.example.com/**',
      '*.example.com/**',
      '**',
    ];
    it('orders exact > longer literal prefix > fewer wildcards > fewer ** > more literal characters', () => {
      for (let i = 0; i < ordered.length; i++) {
        for (let j = i + 1; j < ordered.length; j++) {
          const a = pat(ordered[i] as string);
          const b = pat(ordered[j] as string);
          assert.ok(compareSpecificity(a, b) > 0, `${a.text} should beat ${b.text}`);
          assert.ok(compareSpecificity(b, a) < 0);
        }
      }
    });

    it('breaks a literal-prefix tie by wildcard count, then by literal characters', () => {
      assert.ok(compareSpecificity(pat('registry.example.com/x/*/c'), pat('registry.example.com/x/*/*')) > 0);
      assert.ok(compareSpecificity(pat('registry.example.com/x/*/abc'), pat('registry.example.com/x/*/c')) > 0);
      assert.equal(compareSpecificity(pat('registry.example.com/x/*/*c'), pat('registry.example.com/x/*c/*')), 0);
    });
  });
});
