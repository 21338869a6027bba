// The proxy's OCI error answers carry the catalogue code in `detail`, so that a client can tell
// an unreachable upstream (REGISTRY_UNREACHABLE) from any other UNKNOWN.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OcitrustError } from '../../../lib/errors/index.js';
import { proxyWireError } from '../../../server/proxy/errors.js';

describe('proxyWireError', () => {
  it('puts the catalogue code of an upstream failure in detail', () => {
    const w = proxyWireError(new OcitrustError('REGISTRY_UNREACHABLE', 'upstream http://127.0.0.1:1: GET failed: ECONNREFUSED'));
    assert.equal(w.status, 502);
    assert.deepEqual(w.body, { errors: [{ code: 'UNKNOWN', message: 'upstream http://127.0.0.1:1: GET failed: ECONNREFUSED', detail: { code: 'REGISTRY_UNREACHABLE' } }] });
  });

  it('keeps a detail the error already carries', () => {
    const detail = { repository: 'r.example/a', digest: `sha256:${'0'.repeat(64)}`, code: 'NO_SIGNATURES' };
    const w = proxyWireError(new OcitrustError('PROXY_PULL_DENIED', 'pull denied', { details: { detail } }));
    assert.equal(w.status, 403);
    assert.deepEqual((w.body as { errors: { detail: unknown }[] }).errors[0]!.detail, detail);
  });
});
