// The audit log: paging by cursor, filters, retention pruning; and the operator's token command.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../../lib/clock.js';
import { isOcitrustError } from '../../lib/errors/index.js';
import { AuditLog, DEFAULT_AUDIT_RETENTION_DAYS } from '../../server/audit.js';
import { resolveAppOptions } from '../../server/options.js';
import { tokenCommand } from '../../server/token-command.js';
import { bearer, testApp, tokenFor } from '../helpers/trust-server.js';

const DAY = 86_400_000;

class MutableClock implements Clock {
  constructor(public t: number) {}
  now(): Date {
    return new Date(this.t);
  }
}

describe('trust server audit log', () => {
  let t: Awaited<ReturnType<typeof testApp>>;
  let app: FastifyInstance;
  let log: AuditLog;
  const clock = new MutableClock(Date.parse('2026-01-01T00:00:00Z'));

  before(async () => {
    t = await testApp();
    app = t.app;
    log = new AuditLog(app.ocitrust.db, clock);
    // 30 entries, one a day, alternating collections, actors and outcomes.
    for (let i = 0; i < 30; i++) {
      await log.record({
        actor: i % 3 === 0 ? 'alice' : 'bob',
        tokenId: i % 3 === 0 ? 'tok_aaaaaaaaaaaaaaaa' : 'tok_bbbbbbbbbbbbbbbb',
        action: 'publish',
        collection: i % 2 ? 'reg/one' : 'reg/two',
        versions: { targets: i + 1 },
        source: '192.0.2.1',
        outcome: i % 5 === 0 ? 'denied' : 'ok',
        code: i % 5 === 0 ? 'PERMISSION_DENIED' : null,
      });
      clock.t += DAY;
    }
  });
  after(async () => t.close());

  it('pages newest first by cursor without gaps or repeats', async () => {
    const admin = await tokenFor(app, 'admin', ['**']);
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = `/v1/audit?collection=reg%2Fone&limit=4${cursor ? `&cursor=${cursor}` : ''}`;
      const r = await app.inject({ url: q, headers: bearer(admin) });
      assert.equal(r.statusCode, 200, r.body);
      const body = r.json() as { entries: { versions: { targets: number }; collection: string }[]; nextCursor: string | null };
      assert.ok(body.entries.length <= 4);
      for (const e of body.entries) {
        assert.equal(e.collection, 'reg/one');
        seen.push(e.versions.targets);
      }
      cursor = body.nextCursor;
      pages++;
    } while (cursor);
    assert.deepEqual(seen, Array.from({ length: 15 }, (_, i) => 30 - 2 * i));
    assert.equal(pages, 4);
  });

  it('filters by actor (name or token id), time range and outcome', async () => {
    const byName = await log.query({ actor: 'alice', limit: 1000 });
    const byId = await log.query({ actor: 'tok_aaaaaaaaaaaaaaaa', limit: 1000 });
    assert.equal(byName.entries.length, 10);
    assert.deepEqual(byId.entries.map((e) => e.id), byName.entries.map((e) => e.id));
    const range = await log.query({ since: '2026-01-05T00:00:00Z', until: '2026-01-08T00:00:00Z' });
    assert.deepEqual(range.entries.map((e) => e.at), ['2026-01-07T00:00:00Z', '2026-01-06T00:00:00Z', '2026-01-05T00:00:00Z']);
    const denied = await log.query({ outcome: 'denied' });
    assert.equal(denied.entries.length, 6);
    assert.ok(denied.entries.every((e) => e.code === 'PERMISSION_DENIED'));
  });

  it('answers AUDIT_QUERY_INVALID (400) to a forged cursor or a malformed time', async () => {
    const admin = await tokenFor(app, 'admin', ['**']);
    for (const q of ['cursor=bm9wZQ', 'since=yesterday', 'until=2026-01-01']) {
      const r = await app.inject({ url: `/v1/audit?${q}`, headers: bearer(admin) });
      assert.equal(r.statusCode, 400, q);
      assert.equal(r.json().code, 'AUDIT_QUERY_INVALID', q);
    }
    await assert.rejects(log.query({ limit: 0 }), (e) => isOcitrustError(e, 'AUDIT_QUERY_INVALID'));
  });

  it('prunes entries older than the retention (default 90 days)', async () => {
    assert.equal(resolveAppOptions({}).auditRetentionDays, DEFAULT_AUDIT_RETENTION_DAYS);
    assert.ok(DEFAULT_AUDIT_RETENTION_DAYS >= 90);
    // Entries are dated 2026-01-01 + i days; 100 days after the first, the first 10 are past 90 days.
    clock.t = Date.parse('2026-01-01T00:00:00Z') + 100 * DAY;
    const before = (await log.query({ limit: 1000 })).entries.length;
    assert.equal(await log.prune(90), 10);
    const left = (await log.query({ limit: 1000 })).entries;
    assert.equal(left.length, before - 10);
    assert.ok(left.every((e) => Date.parse(e.at) >= clock.t - 90 * DAY));
  });
});

describe('trust server token command (trust server token …)', () => {
  it('creates, lists and revokes tokens directly in the database, audited as cli', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ocitrust-tokencmd-'));
    const created = await tokenCommand({ action: 'create', role: 'publisher', collections: 'reg.example.com/team/*, reg.example.com/other', name: 'ci', dataDir });
    assert.equal(created.action, 'create');
    if (created.action !== 'create') return;
    assert.match(created.secret, /^ocit_[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(created.token.patterns, ['reg.example.com/team/*', 'reg.example.com/other']);
    const listed = await tokenCommand({ action: 'list', dataDir });
    assert.ok(listed.action === 'list' && listed.tokens.some((x) => x.id === created.token.id && !('secret' in x)));
    const revoked = await tokenCommand({ action: 'revoke', id: created.token.id, dataDir });
    assert.ok(revoked.action === 'revoke' && revoked.token.revokedAt !== null);
    await assert.rejects(tokenCommand({ action: 'revoke', id: 'tok_0000000000000000', dataDir }), (e) => isOcitrustError(e, 'TOKEN_NOT_FOUND'));
    await assert.rejects(tokenCommand({ action: 'create', role: 'root', collections: '**', dataDir }), (e) => isOcitrustError(e, 'INVALID_ARGUMENT'));
    await assert.rejects(tokenCommand({ action: 'create', role: 'admin', collections: 'Bad Pattern', dataDir }), (e) => isOcitrustError(e, 'TOKEN_PATTERN_INVALID'));
    const again = await testApp({ dataDir });
    try {
      const entries = (await again.app.ocitrust.audit.query({ actor: 'cli' })).entries;
      assert.deepEqual(entries.map((e) => e.action), ['token.revoke', 'token.create']);
    } finally {
      await again.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
