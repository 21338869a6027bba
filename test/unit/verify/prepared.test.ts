// PreparedEnvelopes (lib/verify/prepared.ts): runs of the verifier over the same envelopes hash,
// parse and verify each once and give the same results; a memo made for other keys is ignored;
// a malformed envelope fails the same way every time.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { verifyImage } from '../../../lib/verify/verifier.js';
import { PreparedEnvelopes } from '../../../lib/verify/prepared.js';
import { alice, mallory, trust, sigEnvelope, asInput, input } from './fixtures.js';

describe('PreparedEnvelopes', () => {
  it('verifies each envelope once across runs, with the results of unprepared runs', async () => {
    const envs = [await sigEnvelope([alice]), await sigEnvelope([mallory]), asInput(new TextEncoder().encode('{"not": "dsse"}'))];
    const t = trust();
    const prepared = new PreparedEnvelopes(t.keys);
    const plain = verifyImage(input(envs, { trust: t }));
    for (let i = 0; i < 3; i++) assert.deepEqual(verifyImage(input(envs, { trust: t, prepared })), plain);
    assert.deepEqual(prepared.stats, { hashed: 3, parsed: 3, authenticated: 2 });
  });

  it('is ignored when made for another key set (its verdicts are about other keys)', async () => {
    const envs = [await sigEnvelope([alice])];
    const other = new PreparedEnvelopes(new Map());
    const r = verifyImage(input(envs, { prepared: other }));
    assert.equal(r.verified, true, JSON.stringify(r.failures));
    assert.deepEqual(other.stats, { hashed: 0, parsed: 0, authenticated: 0 });
  });
});
