// Issue 12 item 4: an Invalid Date turns every time check off.
//
// Every comparison with NaN is false, so `expires <= now` written against an Invalid Date
// reads as "not expired". As tried: `trust.expires = new Date(NaN)`, or a clock returning
// one, made verifyImage accept 2020-expired trust data and a 2019-expired statement; the TUF
// client took expired metadata the same way. Such input must be a coded error
// (INVALID_ARGUMENT, "expected X, got Y"), never a verdict.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fixedClock, type Clock } from '../../lib/clock.js';
import { OcitrustError } from '../../lib/errors/index.js';
import { TrustedSet } from '../../lib/tuf/trusted-set.js';
import { Updater } from '../../lib/tuf/updater.js';
import { MemoryTrustCache } from '../../lib/tuf/store.js';
import { verifyImage } from '../../lib/verify/verifier.js';
import { newTargets } from '../../lib/metadata/builders.js';
import { buildCollection } from '../helpers/collection.js';
import { alice, input, sigEnvelope, trust } from '../unit/verify/fixtures.js';

const invalidClock: Clock = { now: () => new Date(NaN) };

function throwsInvalidArgument(fn: () => unknown, mentions: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof OcitrustError, `expected OcitrustError, got ${String(e)}`);
    assert.equal(e.code, 'INVALID_ARGUMENT', e.message);
    assert.match(e.message, mentions);
    assert.match(e.message, /expected .*, got /);
    return true;
  });
}

describe('attack: Invalid Date turns time checks off (issue 12 item 4)', () => {
  describe('verifyImage', () => {
    // Trust data that expired in 2020 and a statement that expired in 2019.
    const expiredTrust = trust({ expires: new Date('2020-01-01T00:00:00Z') });
    const oldStatement = { signedAt: new Date('2018-06-01T00:00:00Z'), expires: new Date('2019-01-01T00:00:00Z') };

    it('the same input with a real clock is not verified (TRUST_EXPIRED)', async () => {
      const r = verifyImage(input([await sigEnvelope([alice], oldStatement)], { trust: expiredTrust, clock: fixedClock('2026-03-01T12:00:00Z') }));
      assert.equal(r.verified, false);
      assert.ok(r.failures.some((f) => f.code === 'TRUST_EXPIRED'));
    });

    it('a clock returning an Invalid Date is refused, not a verdict', async () => {
      const env = await sigEnvelope([alice], oldStatement);
      throwsInvalidArgument(() => verifyImage(input([env], { trust: expiredTrust, clock: invalidClock })), /clock/);
    });

    it('trust.expires = new Date(NaN) is refused', async () => {
      const env = await sigEnvelope([alice], oldStatement);
      throwsInvalidArgument(() => verifyImage(input([env], { trust: trust({ expires: new Date(NaN) }) })), /expires/);
    });

    it('a clock returning something that is not a Date is refused', async () => {
      const env = await sigEnvelope([alice]);
      for (const now of [undefined, null, 0, '2026-03-01T12:00:00Z', {}, { getTime: () => 0 }]) {
        throwsInvalidArgument(() => verifyImage(input([env], { clock: { now: () => now as unknown as Date } })), /clock/);
      }
    });
  });

  describe('TUF client', () => {
    it('TrustedSet with a clock returning an Invalid Date is refused (it accepted expired metadata)', async () => {
      // Metadata that expired long before the clock would read, if it could read.
      const c = await buildCollection({ collection: 'reg.example/nan', clock: fixedClock('2019-01-01T00:00:00Z') });
      throwsInvalidArgument(() => new TrustedSet(c.rootBytes(1), { clock: invalidClock }), /clock/);
    });

    it('Updater with a clock returning an Invalid Date is refused', async () => {
      const c = await buildCollection({ collection: 'reg.example/nan', clock: fixedClock('2019-01-01T00:00:00Z') });
      const u = new Updater({ collection: c.collection, trustedRoot: c.rootBytes(1), source: c.source(), cache: new MemoryTrustCache(), clock: invalidClock });
      await assert.rejects(u.refresh(), (e: unknown) => e instanceof OcitrustError && e.code === 'INVALID_ARGUMENT' && /clock/.test(e.message));
    });

    it('isExpired fails closed on an Invalid Date', () => {
      const t = newTargets({ clock: fixedClock('2019-01-01T00:00:00Z') });
      assert.equal(t.isExpired(new Date(NaN)), true);
    });
  });
});
