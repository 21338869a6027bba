import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { nextLink, pageParams, parseContentRange, parseEtags, parseRange, uploadRange } from '../../../server/registry/http.js';
import { isOcitrustError } from '../../../lib/errors/index.js';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(isOcitrustError(e), String(e));
    return e.code;
  }
  return 'none';
}

describe('registry HTTP helpers', () => {
  it('parseRange: single ranges, suffixes, open ends; junk and multi-ranges serve the whole blob', () => {
    assert.deepEqual(parseRange('bytes=0-9', 100), { start: 0, end: 9 });
    assert.deepEqual(parseRange('bytes=90-', 100), { start: 90, end: 99 });
    assert.deepEqual(parseRange('bytes=90-1000', 100), { start: 90, end: 99 });
    assert.deepEqual(parseRange('bytes=-10', 100), { start: 90, end: 99 });
    assert.deepEqual(parseRange('bytes=-1000', 100), { start: 0, end: 99 });
    assert.equal(parseRange(undefined, 100), undefined);
    assert.equal(parseRange('bytes=0-1,5-6', 100), undefined);
    assert.equal(parseRange('items=0-1', 100), undefined);
    assert.equal(parseRange('bytes=5-2', 100), undefined);
    assert.equal(parseRange('bytes=-', 100), undefined);
  });

  it('parseRange: unsatisfiable ranges are DIST_RANGE_INVALID with Content-Range bytes */size', () => {
    for (const r of ['bytes=100-', 'bytes=100-200', 'bytes=-0']) {
      try {
        parseRange(r, 100);
        assert.fail(r);
      } catch (e) {
        assert.ok(isOcitrustError(e, 'DIST_RANGE_INVALID'));
        assert.deepEqual(e.details?.headers, { 'Content-Range': 'bytes */100' });
      }
    }
  });

  it('parseRange: whatever the header, the range lies inside the blob (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), fc.integer({ min: 1, max: 1e6 }), (h, size) => {
        try {
          const r = parseRange(h, size);
          if (r) assert.ok(r.start >= 0 && r.start <= r.end && r.end < size);
        } catch (e) {
          assert.ok(isOcitrustError(e, 'DIST_RANGE_INVALID'));
        }
      }),
    );
  });

  it('parseContentRange: start-end, tolerated "bytes " prefix; junk and reversed ranges refused', () => {
    assert.deepEqual(parseContentRange('0-999'), { start: 0, end: 999 });
    assert.deepEqual(parseContentRange('bytes 10-19/*'), { start: 10, end: 19 });
    assert.deepEqual(parseContentRange('bytes=10-19'), { start: 10, end: 19 });
    for (const v of ['', '10', '-1', 'a-b', '9-3', '1-2-3', '0-1e3']) assert.equal(code(() => parseContentRange(v)), 'DIST_BLOB_UPLOAD_INVALID', v);
  });

  it('pageParams: n clamped to the maximum, 0 kept, junk refused', () => {
    assert.deepEqual(pageParams({}, 100), { n: 100, last: undefined });
    assert.deepEqual(pageParams({ n: '5', last: 'x' }, 100), { n: 5, last: 'x' });
    assert.deepEqual(pageParams({ n: '5000' }, 100), { n: 100, last: undefined });
    assert.deepEqual(pageParams({ n: '0', last: '' }, 100), { n: 0, last: undefined });
    for (const n of ['-1', '1.5', 'abc', '', '1e3']) assert.equal(code(() => pageParams({ n }, 100)), 'DIST_PARAM_INVALID', n);
  });

  it('Link, ETag and upload Range formats', () => {
    assert.equal(nextLink('/v2/a/tags/list', { n: 2, last: 'v1', x: undefined }), '</v2/a/tags/list?n=2&last=v1>; rel="next"');
    assert.equal(nextLink('/v2/a/referrers/d', { artifactType: 'application/vnd.x+json' }), '</v2/a/referrers/d?artifactType=application%2Fvnd.x%2Bjson>; rel="next"');
    assert.deepEqual(parseEtags('"sha256:abc"'), ['sha256:abc']);
    assert.deepEqual(parseEtags('W/"a", "b"'), ['a', 'b']);
    assert.deepEqual(parseEtags('*'), ['*']);
    assert.equal(parseEtags(undefined), undefined);
    assert.equal(uploadRange(0), '0-0');
    assert.equal(uploadRange(1), '0-0');
    assert.equal(uploadRange(1000), '0-999');
  });
});
