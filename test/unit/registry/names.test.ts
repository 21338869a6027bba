import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isRepositoryName, isTag, pathAfterV2, routeV2 } from '../../../server/registry/names.js';
import { isOcitrustError } from '../../../lib/errors/index.js';

const D = `sha256:${'a'.repeat(64)}`;

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(isOcitrustError(e), String(e));
    return e.code;
  }
  return 'none';
}

describe('registry names', () => {
  it('repository names follow the distribution grammar (label: name → valid)', () => {
    const cases: [string, boolean][] = [
      ['library/ubuntu', true],
      ['a', true],
      ['a/b/c/d', true],
      ['a.b_c-d', true],
      ['a__b', true],
      ['a---b', true],
      ['0/9', true],
      ['A', false],
      ['', false],
      ['/a', false],
      ['a/', false],
      ['a//b', false],
      ['a/../b', false],
      ['.a', false],
      ['a.', false],
      ['a..b', false],
      ['a___b', false],
      ['a b', false],
      ['localhost:5000/a', false],
      ['a'.repeat(255), true],
      ['a'.repeat(256), false],
    ];
    for (const [name, ok] of cases) assert.equal(isRepositoryName(name), ok, `${JSON.stringify(name)} → ${ok}`);
  });

  it('tags: [A-Za-z0-9_][A-Za-z0-9._-]{0,127}', () => {
    for (const t of ['latest', 'v1.2.3', '_x', 'A-b_c.d', 'x'.repeat(128)]) assert.ok(isTag(t), t);
    for (const t of ['', '-x', '.x', 'a:b', 'a/b', 'x'.repeat(129), 'ä']) assert.ok(!isTag(t), t);
  });

  it('routes every endpoint, with greedy nested names', () => {
    assert.deepEqual(routeV2(''), { kind: 'base' });
    assert.deepEqual(routeV2('_catalog'), { kind: 'catalog' });
    assert.deepEqual(routeV2('a/b/tags/list'), { kind: 'tags', name: 'a/b' });
    assert.deepEqual(routeV2('a/b/manifests/latest'), { kind: 'manifest', name: 'a/b', reference: 'latest' });
    assert.deepEqual(routeV2(`a/manifests/${D}`), { kind: 'manifest', name: 'a', reference: D });
    assert.deepEqual(routeV2('a/manifests/b/manifests/c'), { kind: 'manifest', name: 'a/manifests/b', reference: 'c' });
    assert.deepEqual(routeV2('a/blobs/uploads/'), { kind: 'uploads', name: 'a' });
    assert.deepEqual(routeV2('a/blobs/uploads'), { kind: 'uploads', name: 'a' });
    assert.deepEqual(routeV2(`a/blobs/uploads/${'0'.repeat(32)}`), { kind: 'upload', name: 'a', id: '0'.repeat(32) });
    assert.deepEqual(routeV2(`a/blobs/${D}`), { kind: 'blob', name: 'a', digest: D });
    assert.deepEqual(routeV2(`a/referrers/${D}`), { kind: 'referrers', name: 'a', digest: D });
    // A repository may be called "blobs": only the trailing endpoint counts.
    assert.deepEqual(routeV2(`blobs/blobs/${D}`), { kind: 'blob', name: 'blobs', digest: D });
  });

  it('refuses bad parts with the spec codes', () => {
    assert.equal(code(() => routeV2('A/manifests/x')), 'DIST_NAME_INVALID');
    assert.equal(code(() => routeV2('a/manifests/-x')), 'DIST_NAME_INVALID');
    assert.equal(code(() => routeV2('a/manifests/sha256:abc')), 'DIST_DIGEST_INVALID');
    assert.equal(code(() => routeV2('a/blobs/latest')), 'DIST_DIGEST_INVALID');
    assert.equal(code(() => routeV2('a/referrers/sha256:XYZ')), 'DIST_DIGEST_INVALID');
    assert.equal(code(() => routeV2('a/blobs/uploads/../../etc')), 'DIST_ENDPOINT_UNKNOWN');
    assert.equal(code(() => routeV2('a/blobs/uploads/xyz')), 'DIST_BLOB_UPLOAD_UNKNOWN');
    assert.equal(code(() => routeV2('a')), 'DIST_ENDPOINT_UNKNOWN');
    assert.equal(code(() => routeV2('a/tags')), 'DIST_ENDPOINT_UNKNOWN');
    assert.equal(code(() => pathAfterV2('/v3/a')), 'DIST_ENDPOINT_UNKNOWN');
    assert.equal(code(() => pathAfterV2('/v2/a%E0%A4%A')), 'DIST_ENDPOINT_UNKNOWN');
    assert.equal(pathAfterV2('/v2/a%2Fb/tags/list?n=1'), 'a/b/tags/list');
  });

  it('never throws anything but a coded error, whatever the path (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        try {
          routeV2(s);
        } catch (e) {
          assert.ok(isOcitrustError(e), String(e));
          assert.match(e.code, /^DIST_/);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
