// lib/gate/outcome.ts: every code of the error catalogue is classified, from the catalogue only:
// a verdict (the image does not verify) or "could not decide".
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CATALOGUE } from '../../../lib/errors/index.js';
import { exitOfCode, outcomeOfCode } from '../../../lib/gate/index.js';

describe('gate outcome classification', () => {
  it('classifies every catalogue code as failed (exit 1) or inconclusive (exit 2, 3)', () => {
    const codes = Object.keys(CATALOGUE);
    assert.ok(codes.length > 50, `expected the whole catalogue, got ${codes.length} codes`);
    for (const code of codes) {
      const o = outcomeOfCode(code);
      const exit = CATALOGUE[code as keyof typeof CATALOGUE].exit;
      assert.equal(o, exit === 1 ? 'failed' : 'inconclusive', code);
      assert.equal(exitOfCode(code), exit, code);
    }
  });

  it('classifies the codes the faces meet as the issue expects', () => {
    for (const c of ['NOT_SIGNED', 'NO_SIGNATURES', 'POLICY_FILE_NO_MATCH', 'POLICY_FILE_TAG_DENIED', 'SIG_REVOKED', 'TUF_EXPIRED']) assert.equal(outcomeOfCode(c), 'failed', c);
    for (const c of ['TUF_SOURCE_UNREACHABLE', 'REGISTRY_UNREACHABLE', 'REGISTRY_BAD_RESPONSE', 'TRUST_ROOT_NOT_PINNED', 'REFERENCE_INVALID']) assert.equal(outcomeOfCode(c), 'inconclusive', c);
  });

  it('treats an unknown code as could-not-decide (fail closed as an error, never a silent verdict)', () => {
    assert.equal(outcomeOfCode('NO_SUCH_CODE'), 'inconclusive');
    assert.equal(exitOfCode('NO_SUCH_CODE'), 3);
  });
});
