import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isOcitrustError } from '../../../lib/errors/index.js';
import { checkCollectionName, isCollectionName, isCollectionPattern, matchesPattern, parseCollectionPath, patternCovers } from '../../../server/names.js';

describe('server/names', () => {
  describe('#isCollectionName', () => {
    it('accepts registry-style lowercase names', () => {
      for (const ok of ['app', 'team/app', 'registry.example.com/team/app', 'localhost:5000/app', 'reg.example.com/a_b/c__d/e-f/g--h/i.j', 'docker.io/library/nginx']) {
        assert.ok(isCollectionName(ok), ok);
      }
    });
    it('rejects traversal, empty segments, upper case, junk and overlong names', () => {
      for (const bad of ['', '/', 'a/', '/a', 'a//b', 'a/../b', '..', '.', 'a/./b', 'A/b', 'a/B', 'a b', 'a/b\0', 'a/-b', 'a/b-', 'a/.b', 'a:5000/b:c', 'a/%2e%2e', 'x'.repeat(256), 'a\\b']) {
        assert.equal(isCollectionName(bad), false, JSON.stringify(bad));
      }
    });
    it('never accepts a name with a "." or ".." segment (property)', () => {
      fc.assert(
        fc.property(fc.array(fc.constantFrom('a', 'b1', '.', '..', 'c.d', ''), { minLength: 1, maxLength: 6 }), (segs) => {
          const name = segs.join('/');
          if (isCollectionName(name)) assert.ok(segs.every((s) => s !== '.' && s !== '..' && s !== ''), name);
        }),
      );
    });
    it('checkCollectionName throws COLLECTION_NAME_INVALID without echoing long junk', () => {
      assert.throws(() => checkCollectionName('x'.repeat(300)), (e) => isOcitrustError(e, 'COLLECTION_NAME_INVALID') && !e.message.includes('xxxxxxxxxx'));
      assert.equal(checkCollectionName('reg/app'), 'reg/app');
    });
  });

  describe('#parseCollectionPath', () => {
    it('splits the last segment off as the resource', () => {
      assert.deepEqual(parseCollectionPath('reg.example.com/team/app/12.targets.json'), { name: 'reg.example.com/team/app', resource: { kind: 'targets', version: 12 } });
      assert.deepEqual(parseCollectionPath('a/b/1.root.json'), { name: 'a/b', resource: { kind: 'root', version: 1 } });
      assert.deepEqual(parseCollectionPath('a/b/root.json'), { name: 'a/b', resource: { kind: 'root', version: null } });
      assert.deepEqual(parseCollectionPath('a/timestamp.json'), { name: 'a', resource: { kind: 'timestamp' } });
      assert.deepEqual(parseCollectionPath('a/b/keys/keys'), { name: 'a/b/keys', resource: { kind: 'keys' } });
      assert.deepEqual(parseCollectionPath('a/metadata'), { name: 'a', resource: { kind: 'metadata' } });
    });
    it('returns null for unknown resources and versions 0 or with leading zeros', () => {
      for (const t of ['a/0.root.json', 'a/01.root.json', 'a/snapshot.json', 'a/1.timestamp.json', 'a/x', 'timestamp.json', 'a/99999999999999999.targets.json']) {
        assert.equal(parseCollectionPath(t), null, t);
      }
    });
    it('throws COLLECTION_NAME_INVALID for a bad name before a valid resource', () => {
      assert.throws(() => parseCollectionPath('a/../b/timestamp.json'), (e) => isOcitrustError(e, 'COLLECTION_NAME_INVALID'));
    });
  });

  describe('#matchesPattern', () => {
    it('matches * within one segment and a final ** across segments', () => {
      assert.ok(matchesPattern('reg/team/*', 'reg/team/app'));
      assert.ok(!matchesPattern('reg/team/*', 'reg/team/app/sub'));
      assert.ok(!matchesPattern('reg/team/*', 'reg/team'));
      assert.ok(matchesPattern('reg/team/**', 'reg/team/app/sub'));
      assert.ok(!matchesPattern('reg/team/**', 'reg/team'));
      assert.ok(matchesPattern('**', 'anything/at/all'));
      assert.ok(matchesPattern('reg/app-*', 'reg/app-x'));
      assert.ok(!matchesPattern('reg/app-*', 'reg/other'));
      assert.ok(matchesPattern('reg/app', 'reg/app'));
      assert.ok(!matchesPattern('reg.example.com/app', 'regxexample.com/app'), 'dots are literal');
    });
    it('rejects invalid patterns', () => {
      for (const bad of ['', 'a/**/b', 'a/***', 'A/b', 'a//b', 'a/b c']) assert.equal(isCollectionPattern(bad), false, bad);
      assert.equal(matchesPattern('a/**/b', 'a/x/b'), false);
    });
  });

  describe('#patternCovers', () => {
    it('answers true only when every match of inner is a match of outer', () => {
      assert.ok(patternCovers('**', 'a/*'));
      assert.ok(patternCovers('a/**', 'a/b/*'));
      assert.ok(patternCovers('a/*', 'a/b'));
      assert.ok(patternCovers('a/*', 'a/b*'));
      assert.ok(!patternCovers('a/*', 'a/**'));
      assert.ok(!patternCovers('a/b', 'a/*'));
      assert.ok(!patternCovers('a/**', 'a'));
      assert.ok(!patternCovers('a/*', '**'));
      assert.ok(!patternCovers('a/b*', 'a/*'));
    });
    it('is sound: when it says covers, every sampled name matched by inner is matched by outer (property)', () => {
      const seg = fc.constantFrom('a', 'b', 'ab', '*', 'a*');
      const pat = fc.tuple(fc.array(seg, { minLength: 1, maxLength: 3 }), fc.boolean()).map(([s, dd]) => [...s, ...(dd ? ['**'] : [])].join('/'));
      const name = fc.array(fc.constantFrom('a', 'b', 'ab', 'abc', 'x'), { minLength: 1, maxLength: 5 }).map((s) => s.join('/'));
      fc.assert(
        fc.property(pat, pat, fc.array(name, { minLength: 20, maxLength: 20 }), (outer, inner, names) => {
          if (!patternCovers(outer, inner)) return;
          for (const n of names) if (matchesPattern(inner, n)) assert.ok(matchesPattern(outer, n), `${outer} ⊇ ${inner} but not for ${n}`);
        }),
      );
    });
  });
});
