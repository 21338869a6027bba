// The server re-signs timestamp (and snapshot) before they expire: on read when stale, from the
// periodic job, and safely when several instances on one database do it at once.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../../lib/clock.js';
import { Metadata } from '../../lib/metadata/metadata.js';
import type { Root } from '../../lib/metadata/root.js';
import { freshPostgresDatabase, postgresSkipReason, type TestDatabase } from '../helpers/postgres.js';
import { Owner, bearer, testApp, tokenFor } from '../helpers/trust-server.js';

const NAME = 'reg.example.com/resign/app';
const HOUR = 3600_000;

class MutableClock implements Clock {
  constructor(public t: number) {}
  now(): Date {
    return new Date(this.t);
  }
}

for (const engine of ['sqlite', 'postgres'] as const) {
  const skip = engine === 'postgres' ? postgresSkipReason() : undefined;
  describe(`timestamp and snapshot re-signing (${engine})`, { skip }, () => {
    const cleanup: (() => Promise<void>)[] = [];
    after(async () => {
      for (const c of cleanup.reverse()) await c();
    });

    it('re-signs once across two instances, on read when expired, and from the periodic job', async () => {
      let pg: TestDatabase | undefined;
      const dir = mkdtempSync(join(tmpdir(), 'ocitrust-resign-'));
      cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
      if (engine === 'postgres') {
        pg = await freshPostgresDatabase();
        cleanup.push(() => pg!.drop());
      }
      const database = pg?.url ?? join(dir, 'shared.db');
      const clock = new MutableClock(Date.parse('2026-03-01T00:00:00Z'));
      const mk = async (): Promise<FastifyInstance> => {
        const t = await testApp({ database, clock, cacheTtlMs: 0 });
        cleanup.push(() => t.close());
        return t.app;
      };
      const one = await mk();
      const two = await mk();
      const admin = await tokenFor(one, 'admin', ['**']);
      const created = await one.inject({ method: 'POST', url: '/v1/collections', headers: bearer(admin), payload: { name: NAME } });
      assert.equal(created.statusCode, 201, created.body);
      const owner = new Owner(NAME, created.json(), clock);
      const pub = await two.inject({ method: 'POST', url: `/v1/collections/${NAME}/metadata`, headers: bearer(admin), payload: await owner.initial() });
      assert.equal(pub.statusCode, 200, pub.body);
      const root = owner.root as Metadata<Root>;

      const timestamp = async (app: FastifyInstance) => {
        const r = await app.inject({ url: `/v1/collections/${NAME}/timestamp.json` });
        assert.equal(r.statusCode, 200, r.body);
        const ts = Metadata.fromBytes('timestamp', r.rawPayload);
        root.verifyDelegate('timestamp', ts);
        return ts;
      };
      const v0 = (await timestamp(one)).signed.version;

      // 13 h later the 1-day timestamp is past half its life: both instances re-sign at once.
      clock.t += 13 * HOUR;
      await Promise.all([one.ocitrust.trust.resign(NAME), two.ocitrust.trust.resign(NAME), one.ocitrust.trust.resign(NAME)]);
      const t1 = await timestamp(one);
      assert.equal(t1.signed.version, v0 + 1, 'exactly one new timestamp version');
      assert.equal((await timestamp(two)).signed.version, v0 + 1);
      assert.equal(t1.signed.expiresAt.getTime(), clock.t + 24 * HOUR);

      // Two days later it has expired: a read re-signs before answering, never serving it expired.
      clock.t += 48 * HOUR;
      const t2 = await timestamp(two);
      assert.ok(t2.signed.expiresAt.getTime() > clock.t, 'served timestamp is not expired');
      assert.equal(t2.signed.version, v0 + 2);
      const snapVersion = t2.signed.snapshotMeta.version;

      // Past half the snapshot's week: the periodic job re-signs snapshot and timestamp together.
      clock.t += 3 * 24 * HOUR;
      const due = await one.ocitrust.trust.resignDue();
      assert.equal(due, 1);
      const t3 = await timestamp(two);
      assert.equal(t3.signed.snapshotMeta.version, snapVersion + 1);
      const snapRes = await two.inject({ url: `/v1/collections/${NAME}/${snapVersion + 1}.snapshot.json` });
      t3.signed.snapshotMeta.verify(snapRes.rawPayload, 'snapshot');
      const snap = Metadata.fromBytes('snapshot', snapRes.rawPayload);
      root.verifyDelegate('snapshot', snap);
      assert.ok(snap.signed.expiresAt.getTime() > clock.t + 6 * 24 * HOUR);
      assert.equal(snap.signed.targetsMeta.version, 1);
      assert.equal(await one.ocitrust.trust.resignDue(), 0, 'nothing left to do');
      assert.match(one.ocitrust.metrics.render(), /ocitrust_resigns_total\{role="snapshot"\} 1/);

      // A publish after re-signing continues the version sequences.
      clock.t += HOUR;
      const next = await one.inject({ method: 'POST', url: `/v1/collections/${NAME}/metadata`, headers: bearer(admin), payload: { targets: await owner.nextTargets() } });
      assert.equal(next.statusCode, 200, next.body);
      assert.deepEqual(next.json().versions, { root: 1, targets: 2, snapshot: snapVersion + 2, timestamp: t3.signed.version + 1 });
    });
  });
}
