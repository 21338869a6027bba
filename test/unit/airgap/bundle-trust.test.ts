import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixedClock } from '../../../lib/clock.js';
import { isOcitrustError } from '../../../lib/errors/index.js';
import { OcitrustHome } from '../../../lib/usecases/home.js';
import { openBundleCollection, MAX_BUNDLE_MAX_AGE_SECONDS } from '../../../lib/usecases/bundle-trust.js';
import type { TrustBundle } from '../../../lib/oci/trust-bundle.js';
import { buildCollection, TEST_TIME, type TestCollection } from '../../helpers/collection.js';

const COLL = 'reg.example/app';
const SERVER = 'https://trust.example';
const DAY = 86_400;
const at = (s: number): ReturnType<typeof fixedClock> => fixedClock(new Date(Date.parse(TEST_TIME) + s * 1000));

function bundleOf(c: TestCollection, collection = COLL): TrustBundle {
  return { collection, server: SERVER, created: TEST_TIME, files: new Map(c.files) };
}

function home(): OcitrustHome {
  return new OcitrustHome(mkdtempSync(join(tmpdir(), 'bundle-home-')));
}

describe('openBundleCollection', () => {
  describe('when the bundle is fresh', () => {
    it('pins the bundle root on first use, says so, and names the rule tuf-expiry', async () => {
      const c = await buildCollection({ collection: COLL, signers: [{ name: 'alice' }] });
      const h = home();
      const t = await openBundleCollection({ home: h, bundle: bundleOf(c), clock: at(60) });
      assert.equal(t.firstUse, true);
      assert.equal(t.freshness.rule, 'tuf-expiry');
      assert.equal(t.freshness.admittedUntil, t.freshness.timestampExpires);
      assert.equal(t.freshness.server, SERVER);
      assert.ok(t.refresh.trusted);
      const again = await openBundleCollection({ home: h, bundle: bundleOf(c), clock: at(120) });
      assert.equal(again.firstUse, false);
    });
  });

  describe('when the timestamp expired (an air-gap transfer took longer than a day)', () => {
    it('refuses it with BUNDLE_TOO_OLD unless --bundle-max-age allows it; then names the rule and its bound', async () => {
      const c = await buildCollection({ collection: COLL, signers: [{ name: 'alice' }] });
      const h = home();
      const late = at(3 * DAY);
      await assert.rejects(openBundleCollection({ home: h, bundle: bundleOf(c), clock: late }), (e) => isOcitrustError(e, 'BUNDLE_TOO_OLD') && /--bundle-max-age/.test((e as Error).message));
      await assert.rejects(openBundleCollection({ home: h, bundle: bundleOf(c), clock: late, bundleMaxAgeSeconds: DAY }), (e) => isOcitrustError(e, 'BUNDLE_TOO_OLD') && /more than the allowed/.test((e as Error).message));
      const t = await openBundleCollection({ home: h, bundle: bundleOf(c), clock: late, bundleMaxAgeSeconds: 7 * DAY });
      assert.equal(t.freshness.rule, 'bundle-max-age');
      assert.equal(t.freshness.maxAgeSeconds, 7 * DAY);
      assert.ok(Date.parse(t.freshness.admittedUntil) <= Date.parse(t.freshness.timestampExpires) + 7 * DAY * 1000);
    });

    it('gives no grace to an expired targets (owner-signed), and bounds the allowance at 30 days', async () => {
      const c = await buildCollection({ collection: COLL, signers: [{ name: 'alice' }], expiresInSeconds: { targets: 2 * DAY } });
      await assert.rejects(openBundleCollection({ home: home(), bundle: bundleOf(c), clock: at(3 * DAY), bundleMaxAgeSeconds: 7 * DAY }), (e) => isOcitrustError(e, 'TUF_EXPIRED') && /targets/.test((e as Error).message));
      await assert.rejects(openBundleCollection({ home: home(), bundle: bundleOf(c), bundleMaxAgeSeconds: MAX_BUNDLE_MAX_AGE_SECONDS + 1 }), (e) => isOcitrustError(e, 'INVALID_ARGUMENT'));
    });
  });

  describe('when bundles arrive out of order', () => {
    it('refuses a bundle older than one seen (TUF_ROLLBACK) and keeps the newer state', async () => {
      const c = await buildCollection({ collection: COLL, signers: [{ name: 'alice' }] });
      const old = bundleOf(c);
      await c.removeSigner('alice');
      const newer = bundleOf(c);
      const h = home();
      const t = await openBundleCollection({ home: h, bundle: newer, clock: at(60) });
      assert.equal(t.freshness.versions.targets, 2, 'the signer removal is targets v2');
      await assert.rejects(openBundleCollection({ home: h, bundle: old, clock: at(120) }), (e) => isOcitrustError(e, 'TUF_ROLLBACK'));
      const still = await openBundleCollection({ home: h, bundle: newer, clock: at(180) });
      assert.equal(still.freshness.versions.targets, t.freshness.versions.targets);
    });
  });

  describe('when the bundle carries another collection\'s trust data', () => {
    it('refuses it with BUNDLE_COLLECTION_MISMATCH against the pin, trusting nothing', async () => {
      const mine = await buildCollection({ collection: COLL, signers: [{ name: 'alice' }] });
      const theirs = await buildCollection({ collection: 'reg.example/other', signers: [{ name: 'mallory' }] });
      const h = home();
      await openBundleCollection({ home: h, bundle: bundleOf(mine), clock: at(60) });
      await assert.rejects(openBundleCollection({ home: h, bundle: bundleOf(theirs, COLL), clock: at(120) }), (e) => isOcitrustError(e, 'BUNDLE_COLLECTION_MISMATCH'));
    });
  });
});
