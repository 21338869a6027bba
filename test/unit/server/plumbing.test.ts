import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OcitrustError, isOcitrustError } from '../../../lib/errors/index.js';
import { toHttpError } from '../../../server/errors.js';
import { IpAllowlist } from '../../../server/ip-allowlist.js';
import { ServerMetrics } from '../../../server/metrics.js';
import { roleAllows, tokenAllows, isTokenSecret, type TokenRecord } from '../../../server/tokens.js';

describe('server/errors', () => {
  describe('#toHttpError', () => {
    it('keeps an OcitrustError code and its catalogue status', () => {
      assert.deepEqual(toHttpError(new OcitrustError('PUBLISH_VERSION_CONFLICT', 'stale')), { status: 409, body: { code: 'PUBLISH_VERSION_CONFLICT', message: 'stale' } });
    });
    it('maps fastify client errors to coded 4xx, never 500', () => {
      const validation = Object.assign(new Error('body/name must be string'), { validation: [{}], statusCode: 400 });
      assert.deepEqual(toHttpError(validation), { status: 400, body: { code: 'REQUEST_INVALID', message: 'body/name must be string' } });
      assert.equal(toHttpError(Object.assign(new Error('too large'), { statusCode: 413 })).body.code, 'INPUT_TOO_LARGE');
      assert.equal(toHttpError(Object.assign(new Error('media'), { statusCode: 415 })).status, 415);
      assert.equal(toHttpError(Object.assign(new Error('x'), { statusCode: 400, code: 'FST_ERR_CTP_EMPTY_JSON_BODY' })).body.code, 'JSON_MALFORMED');
      assert.equal(toHttpError(Object.assign(new Error('x'), { statusCode: 404 })).body.code, 'ROUTE_NOT_FOUND');
    });
    it('hides the message of unexpected errors', () => {
      const r = toHttpError(new TypeError('secret internals'), 'req-7');
      assert.equal(r.status, 500);
      assert.equal(r.body.code, 'INTERNAL');
      assert.ok(!r.body.message.includes('secret'));
      assert.match(r.body.message, /req-7/);
    });
  });
});

describe('server/ip-allowlist', () => {
  it('matches addresses and CIDR ranges, IPv4-mapped IPv6 as IPv4', () => {
    const l = new IpAllowlist(['127.0.0.1', '10.0.0.0/8', 'fd00::/8']);
    assert.ok(l.allows('127.0.0.1'));
    assert.ok(l.allows('::ffff:127.0.0.1'));
    assert.ok(l.allows('10.200.3.4'));
    assert.ok(l.allows('fd12::1'));
    assert.ok(!l.allows('11.0.0.1'));
    assert.ok(!l.allows('::1'));
    assert.ok(!l.allows(undefined));
    assert.ok(!l.allows('junk'));
  });
  it('refuses entries that are not addresses (SERVER_CONFIG_INVALID)', () => {
    for (const bad of ['10.0.0.0/33', 'example.com', '::1/129', '']) {
      assert.throws(() => new IpAllowlist([bad]), (e) => isOcitrustError(e, 'SERVER_CONFIG_INVALID'), bad);
    }
  });
});

describe('server/metrics', () => {
  it('renders counters and cumulative histograms in the Prometheus text format', () => {
    const m = new ServerMetrics();
    m.observeRequest('GET', '/v1/collections/{name}/timestamp.json', 200, 0.0007);
    m.observeRequest('GET', '/v1/collections/{name}/timestamp.json', 200, 0.3);
    m.verifyOutcome('registry', 'failed');
    m.publishes.inc({ outcome: 'conflict', code: 'PUBLISH_VERSION_CONFLICT' });
    const text = m.render();
    assert.match(text, /^# TYPE ocitrust_http_requests_total counter$/m);
    assert.match(text, /^ocitrust_http_requests_total\{method="GET",route="\/v1\/collections\/\{name\}\/timestamp.json",status="200"\} 2$/m);
    assert.match(text, /^ocitrust_http_request_duration_seconds_bucket\{method="GET",route="[^"]+",status="200",le="0.001"\} 1$/m);
    assert.match(text, /^ocitrust_http_request_duration_seconds_bucket\{method="GET",route="[^"]+",status="200",le="0.5"\} 2$/m);
    assert.match(text, /^ocitrust_http_request_duration_seconds_bucket\{[^\n]*le="\+Inf"\} 2$/m);
    assert.match(text, /^ocitrust_http_request_duration_seconds_count\{[^\n]*\} 2$/m);
    assert.match(text, /^ocitrust_verify_outcomes_total\{source="registry",outcome="failed"\} 1$/m);
    assert.match(text, /^ocitrust_publishes_total\{outcome="conflict",code="PUBLISH_VERSION_CONFLICT"\} 1$/m);
    assert.equal(m.verifications.get({ source: 'registry', outcome: 'failed' }), 1);
  });
  it('escapes label values', () => {
    const m = new ServerMetrics();
    m.observeRequest('GET', 'a"b\\c\nd', 404, 0.001);
    assert.match(m.render(), /route="a\\"b\\\\c\\nd"/);
  });
});

describe('server/tokens', () => {
  const token = (over: Partial<TokenRecord> = {}): TokenRecord => ({
    id: 'tok_0123456789abcdef',
    name: 't',
    role: 'publisher',
    patterns: ['reg/team/*'],
    createdAt: '2026-01-01T00:00:00Z',
    expiresAt: null,
    revokedAt: null,
    createdBy: null,
    ...over,
  });
  const now = new Date('2026-02-01T00:00:00Z');

  it('orders roles reader < publisher < admin', () => {
    assert.ok(roleAllows('admin', 'publisher'));
    assert.ok(roleAllows('publisher', 'reader'));
    assert.ok(!roleAllows('publisher', 'admin'));
    assert.ok(!roleAllows('reader', 'publisher'));
  });
  it('grants only on matching collections, never when revoked or expired', () => {
    assert.ok(tokenAllows(token(), 'publisher', 'reg/team/app', now));
    assert.ok(!tokenAllows(token(), 'publisher', 'reg/other/app', now));
    assert.ok(!tokenAllows(token(), 'admin', 'reg/team/app', now));
    assert.ok(!tokenAllows(token({ revokedAt: '2026-01-02T00:00:00Z' }), 'reader', 'reg/team/app', now));
    assert.ok(!tokenAllows(token({ expiresAt: '2026-01-31T00:00:00Z' }), 'reader', 'reg/team/app', now));
    assert.ok(tokenAllows(token({ expiresAt: '2026-03-01T00:00:00Z' }), 'reader', 'reg/team/app', now));
  });
  it('needs ** for operations over all collections', () => {
    assert.ok(!tokenAllows(token({ role: 'admin' }), 'admin', null, now));
    assert.ok(tokenAllows(token({ role: 'admin', patterns: ['**'] }), 'admin', null, now));
  });
  it('recognizes the token secret format only', () => {
    assert.ok(isTokenSecret('ocit_' + 'A'.repeat(43)));
    assert.ok(!isTokenSecret('ocit_' + 'A'.repeat(42)));
    assert.ok(!isTokenSecret('Bearer x'));
  });
});
