// verifyImage indexes the delegated roles of a frozen trusted view once (roles by name, eligible
// roles per target path) and reuses a policy normalizePolicy already made. These tests pin that
// the reuse never changes a verdict: a frozen view answers exactly like an unfrozen copy, per
// target path, and an unfrozen view that is changed between calls is read afresh every time.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { verifyImage } from '../../../lib/verify/verifier.js';
import { normalizePolicy } from '../../../lib/verify/policy.js';
import type { TrustedRole, TrustedTargets } from '../../../lib/verify/trust.js';
import { alice, bob, carol, REPO, DIGEST, trust, input, sigEnvelope, role } from './fixtures.js';

/** A copy frozen the way trustViewFromTargets freezes its views. */
function frozen(t: TrustedTargets): TrustedTargets {
  const roles = t.roles.map((r) => Object.freeze({ ...r, keyids: Object.freeze([...r.keyids]), paths: Object.freeze([...r.paths]) }));
  return Object.freeze({ ...t, roles: Object.freeze(roles), revocations: Object.freeze([...t.revocations]) });
}

const codes = (r: ReturnType<typeof verifyImage>) => r.failures.map((f) => f.code);

describe('verifier caches', () => {
  // "pinned" (terminating) claims exactly app:v1 for bob; "releases" covers the team for alice.
  const roles = (): TrustedRole[] => [role('pinned', [bob], 1, [`${REPO}:v1`], true), role('releases', [alice, carol]), role('ops', [bob, carol], 2)];

  it('a frozen view gives the same results as an unfrozen copy, for every target path, in any order', async () => {
    const plain = trust({ roles: roles() });
    const ice = frozen(plain);
    const byAlice = await sigEnvelope([alice]);
    const byBob = await sigEnvelope([bob], { role: 'pinned' });
    const byCarolOps = await sigEnvelope([carol], { role: 'ops' });
    const refs = [
      { repository: REPO, tag: 'v1' },
      { repository: REPO, tag: 'v2' },
      { repository: REPO, digest: DIGEST },
      { repository: REPO, tag: 'v1' },
      { repository: 'registry.example.com/other/app', tag: 'v1' },
    ];
    for (let round = 0; round < 2; round++) {
      for (const reference of refs) {
        for (const envelopes of [[byAlice], [byBob], [byAlice, byBob], [byCarolOps]]) {
          const want = verifyImage(input(envelopes, { reference, trust: plain }));
          const got = verifyImage(input(envelopes, { reference, trust: ice }));
          assert.deepEqual(got, want, `${JSON.stringify(reference)} round ${round}`);
        }
      }
    }
    // The terminating role decides v1, not v2 (the per-path answers are not mixed up).
    assert.ok(codes(verifyImage(input([byAlice], { trust: ice }))).includes('SIG_PATH_NOT_COVERED'));
    assert.equal(verifyImage(input([byAlice], { reference: { repository: REPO, tag: 'v2' }, trust: ice })).verified, true);
    assert.equal(verifyImage(input([byBob], { trust: ice })).verified, true);
  });

  it('an unfrozen view changed between calls is read afresh', async () => {
    const t = trust({ roles: roles() });
    const byAlice = await sigEnvelope([alice], { tag: 'v2' });
    const at = { reference: { repository: REPO, tag: 'v2' }, trust: t };
    assert.equal(verifyImage(input([byAlice], at)).verified, true);
    (t.roles[1]!.paths as string[])[0] = 'registry.example.com/elsewhere/*';
    assert.ok(codes(verifyImage(input([byAlice], at))).includes('SIG_PATH_NOT_COVERED'));
    (t.roles[1]!.paths as string[])[0] = `${REPO}:v2`;
    assert.equal(verifyImage(input([byAlice], at)).verified, true);
    (t.roles as TrustedRole[]).splice(1, 1);
    assert.ok(codes(verifyImage(input([byAlice], at))).includes('SIG_ROLE_UNKNOWN'));
  });

  it('a partly frozen view (roles frozen, paths not) is not cached', async () => {
    const r = roles().map((x) => Object.freeze({ ...x, paths: [...x.paths] }));
    const t = Object.freeze({ ...trust(), roles: Object.freeze(r) });
    const byAlice = await sigEnvelope([alice], { tag: 'v2' });
    const at = { reference: { repository: REPO, tag: 'v2' }, trust: t };
    assert.equal(verifyImage(input([byAlice], at)).verified, true);
    (r[1]!.paths as string[])[0] = 'registry.example.com/elsewhere/*';
    assert.ok(codes(verifyImage(input([byAlice], at))).includes('SIG_PATH_NOT_COVERED'));
  });

  it('a normalized policy is reused as is and verifies like its options', async () => {
    const opts = { requiredRoles: { allOf: ['releases'] }, bindTag: true };
    const p = normalizePolicy(opts);
    assert.equal(normalizePolicy(p), p);
    assert.notEqual(normalizePolicy(opts), p);
    const envs = [await sigEnvelope([alice])];
    assert.deepEqual(verifyImage(input(envs, { policy: p })), verifyImage(input(envs, { policy: opts })));
    assert.deepEqual(verifyImage(input(envs, { policy: undefined })), verifyImage(input(envs, { policy: {} })));
  });
});
