// Numbers in query strings (server/query.ts): the server does not coerce types, so routes parse
// them here; only plain decimal digits within the range pass.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isOcitrustError } from '../../../lib/errors/index.js';
import { queryInteger } from '../../../server/query.js';

describe('queryInteger', () => {
  it('parses plain decimal digits within the range; absent is undefined', () => {
    assert.equal(queryInteger('1', 'limit', 1, 1000), 1);
    assert.equal(queryInteger('1000', 'limit', 1, 1000), 1000);
    assert.equal(queryInteger('0', 'n', 0, 10), 0);
    assert.equal(queryInteger(undefined, 'limit', 1, 1000), undefined);
  });

  it('refuses anything else with a coded error saying what was expected and what came', () => {
    for (const v of ['', ' 1', '1 ', '+1', '-1', '01', '1.0', '1e2', '0x10', 'abc', '1001', '0', '99999999999999999999', ['1', '2'], 1, true, null]) {
      assert.throws(
        () => queryInteger(v, 'limit', 1, 1000),
        (e: unknown) => isOcitrustError(e, 'REQUEST_INVALID') && /^limit: expected an integer from 1 to 1000, got /.test(e.message),
        JSON.stringify(v),
      );
    }
    assert.throws(() => queryInteger('x', 'limit', 1, 10, 'AUDIT_QUERY_INVALID'), (e: unknown) => isOcitrustError(e, 'AUDIT_QUERY_INVALID'));
  });
});
