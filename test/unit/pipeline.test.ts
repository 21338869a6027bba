// The whole library path with no network: TUF metadata built and refreshed by lib/tuf, a
// statement signed by lib/statements, checked by the pure lib/verify. Each later change to the
// trust data (signer removed, revocation, rotation) is seen through a fresh refresh.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildCollection, TEST_TIME } from '../helpers/collection.js';
import { Updater } from '../../lib/tuf/updater.js';
import { MemoryTrustCache } from '../../lib/tuf/store.js';
import { fixedClock } from '../../lib/clock.js';
import { digestOf } from '../../lib/crypto/hash.js';
import { buildSignatureStatement } from '../../lib/statements/statement.js';
import { signStatement } from '../../lib/statements/sign.js';
import { serializeEnvelope } from '../../lib/statements/dsse.js';
import { verifyImage } from '../../lib/verify/verifier.js';
import type { Signer } from '../../lib/keys/signer.js';

const repo = 'registry.example.com/team/app';
const manifest = new TextEncoder().encode('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}');
const digest = digestOf(manifest);
const clock = fixedClock('2026-01-16T00:00:00Z');
const subject = { mediaType: 'application/vnd.oci.image.manifest.v1+json', size: manifest.length };

async function envelope(signer: Signer, role: string, over: Partial<{ digest: string; repository: string; tag: string }> = {}) {
  const st = buildSignatureStatement({
    repository: over.repository ?? repo,
    digest: over.digest ?? digest,
    tag: over.tag ?? 'v1',
    mediaType: subject.mediaType,
    size: subject.size,
    role,
    signedAt: new Date(TEST_TIME),
  });
  const bytes = serializeEnvelope(await signStatement(st, [signer]));
  return { bytes, digest: digestOf(bytes) };
}

describe('library pipeline: TUF refresh → DSSE statement → verifier', () => {
  it('verifies a delegated signature, and follows signer removal and revocation', async () => {
    const c = await buildCollection({ collection: repo, signers: [{ name: 'alice' }, { name: 'team', keys: 2, threshold: 2 }] });
    const cache = new MemoryTrustCache();
    const refresh = () => new Updater({ collection: repo, trustedRoot: c.rootBytes(1), source: c.source(), cache, clock }).refresh();
    const ref = { repository: repo, tag: 'v1' };

    const alice = await envelope(c.signer('alice'), 'alice');
    let { trusted } = await refresh();
    let r = verifyImage({ reference: ref, digest, subject, envelopes: [alice], trust: trusted, clock });
    assert.equal(r.verified, true, JSON.stringify(r.failures));
    assert.deepEqual(r.signatures.map((s) => s.role), ['alice']);

    // One of team's two keys is not enough when the policy requires team.
    const team0 = await envelope(c.signer('team', 0), 'team');
    r = verifyImage({ reference: ref, digest, subject, envelopes: [team0, team0], trust: trusted, clock, policy: { requiredRoles: { allOf: ['team'] } } });
    assert.equal(r.verified, false);
    assert.ok(r.failures.some((f) => f.code === 'THRESHOLD_NOT_MET' || f.code === 'REQUIRED_ROLE_MISSING'), JSON.stringify(r.failures));
    const team1 = await envelope(c.signer('team', 1), 'team');
    r = verifyImage({ reference: ref, digest, subject, envelopes: [team0, team1], trust: trusted, clock, policy: { requiredRoles: { allOf: ['team'] } } });
    assert.equal(r.verified, true, JSON.stringify(r.failures));

    // The same statement verified for another repository holding the same digest fails.
    r = verifyImage({ reference: { repository: 'registry.example.com/team/other', tag: 'v1' }, digest, subject, envelopes: [alice], trust: trusted, clock });
    assert.equal(r.verified, false);

    // Signer removed: a fresh refresh no longer delegates alice.
    await c.removeSigner('alice');
    ({ trusted } = await refresh());
    r = verifyImage({ reference: ref, digest, subject, envelopes: [alice], trust: trusted, clock });
    assert.equal(r.verified, false);
    assert.ok(r.failures.some((f) => f.code === 'SIG_ROLE_UNKNOWN' || f.code === 'SIG_KEY_NOT_DELEGATED'), JSON.stringify(r.failures));

    // Revocation of the digest stops team's otherwise valid signatures.
    await c.revoke({ digest, reason: 'compromised build' });
    ({ trusted } = await refresh());
    r = verifyImage({ reference: ref, digest, subject, envelopes: [team0, team1], trust: trusted, clock });
    assert.equal(r.verified, false);
    assert.ok(r.failures.some((f) => f.code === 'SIG_REVOKED'), JSON.stringify(r.failures));
  });

  it('keeps signatures valid across a root rotation', async () => {
    const c = await buildCollection({ collection: repo, signers: [{ name: 'alice' }] });
    const cache = new MemoryTrustCache();
    const alice = await envelope(c.signer('alice'), 'alice');
    await c.rotateRoot();
    const { trusted, versions } = await new Updater({ collection: repo, trustedRoot: c.rootBytes(1), source: c.source(), cache, clock }).refresh();
    assert.equal(versions.root, 2);
    const r = verifyImage({ reference: { repository: repo, tag: 'v1' }, digest, subject, envelopes: [alice], trust: trusted, clock });
    assert.equal(r.verified, true, JSON.stringify(r.failures));
  });
});
