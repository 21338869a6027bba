// Authorization matrix: every write route × {no token, reader, publisher, admin, other
// collection's admin}; only the right ones succeed and every attempt lands in the audit log.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { Owner, bearer, testApp, tokenFor, type ServerKeysDoc } from '../helpers/trust-server.js';
import { createToken } from '../../server/tokens.js';

const NAME = 'reg.example.com/team/app';
type Who = 'none' | 'reader' | 'publisher' | 'admin' | 'otherAdmin';
const WHO: readonly Who[] = ['none', 'reader', 'publisher', 'admin', 'otherAdmin'];

describe('trust server authorization', () => {
  let t: Awaited<ReturnType<typeof testApp>>;
  let app: FastifyInstance;
  let owner: Owner;
  const tokens = {} as Record<Who, string | undefined>;
  let created = 0;

  before(async () => {
    t = await testApp();
    app = t.app;
    tokens.none = undefined;
    tokens.reader = await tokenFor(app, 'reader', [NAME], 'reader-t');
    tokens.publisher = await tokenFor(app, 'publisher', ['reg.example.com/team/*'], 'publisher-t');
    tokens.admin = await tokenFor(app, 'admin', ['reg.example.com/team/**'], 'admin-t');
    tokens.otherAdmin = await tokenFor(app, 'admin', ['reg.example.com/other/**'], 'other-admin-t');
    const r = await app.inject({ method: 'POST', url: '/v1/collections', headers: bearer(tokens.admin), payload: { name: NAME } });
    owner = new Owner(NAME, r.json() as ServerKeysDoc);
    const p = await app.inject({ method: 'POST', url: `/v1/collections/${NAME}/metadata`, headers: bearer(tokens.admin), payload: await owner.initial() });
    assert.equal(p.statusCode, 200, p.body);
  });
  after(async () => t.close());

  async function lastAudit(): Promise<{ action: string; outcome: string; actor: string; code: string | null; collection: string | null }> {
    const r = await app.inject({ url: '/v1/audit?limit=1', headers: bearer(await tokenFor(app, 'admin', ['**'], 'auditor')) });
    assert.equal(r.statusCode, 200, r.body);
    return r.json().entries[0];
  }

  interface Route {
    readonly name: string;
    readonly action: string;
    readonly allowed: readonly Who[];
    readonly run: (token: string | undefined) => Promise<{ statusCode: number; body: string; json(): any }>;
    /** Called after a success so that the next attempt is valid again. */
    readonly accept?: (res: { json(): any }) => void;
  }

  let pendingTargets: Awaited<ReturnType<Owner['candidateTargets']>> | undefined;
  let pendingRoot: Awaited<ReturnType<Owner['candidateRoot']>> | undefined;
  const revocable: string[] = [];

  const routes: Route[] = [
    {
      name: 'POST /v1/collections',
      action: 'collection.create',
      allowed: ['admin'],
      run: (tok) => app.inject({ method: 'POST', url: '/v1/collections', headers: bearer(tok), payload: { name: `reg.example.com/team/new${++created}` } }),
    },
    {
      name: 'POST …/metadata {targets}',
      action: 'publish',
      allowed: ['publisher', 'admin'],
      run: async (tok) => {
        pendingTargets = await owner.candidateTargets();
        return app.inject({ method: 'POST', url: `/v1/collections/${NAME}/metadata`, headers: bearer(tok), payload: { targets: pendingTargets.toJSON() } });
      },
      accept: () => {
        owner.targets = pendingTargets!;
      },
    },
    {
      name: 'POST …/metadata {root}',
      action: 'publish.root',
      allowed: ['admin'],
      run: async (tok) => {
        pendingRoot = await owner.candidateRoot();
        return app.inject({ method: 'POST', url: `/v1/collections/${NAME}/metadata`, headers: bearer(tok), payload: { root: pendingRoot.toJSON() } });
      },
      accept: () => {
        owner.root = pendingRoot!;
      },
    },
    {
      name: 'POST /v1/tokens',
      action: 'token.create',
      allowed: ['admin'],
      run: (tok) => app.inject({ method: 'POST', url: '/v1/tokens', headers: bearer(tok), payload: { role: 'reader', patterns: [NAME], name: 'made-over-http' } }),
    },
    {
      name: 'DELETE /v1/tokens/:id',
      action: 'token.revoke',
      allowed: ['admin'],
      run: async (tok) => {
        const { token } = await createToken(app.ocitrust.db, { role: 'reader', patterns: [NAME] });
        revocable.push(token.id);
        return app.inject({ method: 'DELETE', url: `/v1/tokens/${token.id}`, headers: bearer(tok) });
      },
    },
    {
      name: 'GET /v1/audit?collection=…',
      action: 'audit.read',
      allowed: ['admin'],
      run: (tok) => app.inject({ url: `/v1/audit?collection=${encodeURIComponent(NAME)}`, headers: bearer(tok) }),
    },
  ];

  for (const route of routes) {
    describe(route.name, () => {
      for (const who of WHO) {
        const ok = route.allowed.includes(who);
        it(`${ok ? 'allows' : 'denies'} ${who}${ok ? '' : ` (${who === 'none' ? 401 : 403})`}, audited`, async () => {
          const res = await route.run(tokens[who]);
          if (ok) {
            assert.ok(res.statusCode >= 200 && res.statusCode < 300, `${res.statusCode} ${res.body}`);
            route.accept?.(res);
          } else {
            assert.equal(res.statusCode, who === 'none' ? 401 : 403, res.body);
            assert.equal(res.json().code, who === 'none' ? 'AUTH_REQUIRED' : 'PERMISSION_DENIED');
          }
          if (route.action === 'audit.read' && ok) return; // a successful read is not a write
          const entry = await lastAudit();
          const actor = who === 'none' ? 'anonymous' : `${who.replace('otherAdmin', 'other-admin')}-t`;
          assert.equal(entry.actor, actor);
          assert.equal(entry.outcome, ok ? 'ok' : 'denied');
          if (!ok) assert.equal(entry.code, who === 'none' ? 'AUTH_REQUIRED' : 'PERMISSION_DENIED');
          if (ok) assert.equal(entry.action, route.action === 'publish.root' ? 'publish' : route.action);
          else assert.ok(entry.action === route.action || (route.action === 'publish.root' && entry.action === 'publish'), entry.action);
        });
      }
    });
  }

  describe('tokens themselves', () => {
    it('rejects malformed, unknown and revoked tokens with AUTH_TOKEN_INVALID (audited)', async () => {
      const { secret, token } = await createToken(app.ocitrust.db, { role: 'admin', patterns: ['**'], name: 'short-lived' });
      const del = await app.inject({ method: 'DELETE', url: `/v1/tokens/${token.id}`, headers: bearer(tokens.admin) });
      assert.equal(del.statusCode, 403, 'an admin of team/** may not revoke a ** token');
      const del2 = await app.inject({ method: 'DELETE', url: `/v1/tokens/${token.id}`, headers: bearer(await tokenFor(app, 'admin', ['**'])) });
      assert.equal(del2.statusCode, 200, del2.body);
      assert.ok(del2.json().revokedAt);
      for (const h of [{ authorization: `Bearer ${secret}` }, { authorization: 'Bearer ocit_' + 'x'.repeat(43) }, { authorization: 'Basic abc' }]) {
        const r = await app.inject({ url: `/v1/collections/${NAME}/timestamp.json`, headers: h });
        assert.equal(r.statusCode, 401, JSON.stringify(h));
        assert.equal(r.json().code, 'AUTH_TOKEN_INVALID');
        assert.match(String(r.headers['www-authenticate']), /^Bearer/);
        const e = await lastAudit();
        assert.equal(e.outcome, 'denied');
        assert.equal(e.code, 'AUTH_TOKEN_INVALID');
      }
    });

    it('lets an admin mint tokens only within its own patterns', async () => {
      const wider = await app.inject({ method: 'POST', url: '/v1/tokens', headers: bearer(tokens.admin), payload: { role: 'admin', patterns: ['reg.example.com/**'] } });
      assert.equal(wider.statusCode, 403);
      const bad = await app.inject({ method: 'POST', url: '/v1/tokens', headers: bearer(tokens.admin), payload: { role: 'reader', patterns: ['Bad/Pattern'] } });
      assert.equal(bad.statusCode, 403, 'an uncoverable pattern is denied before it is parsed');
      const ok = await app.inject({ method: 'POST', url: '/v1/tokens', headers: bearer(tokens.admin), payload: { role: 'publisher', patterns: ['reg.example.com/team/app'] } });
      assert.equal(ok.statusCode, 201, ok.body);
      const made = ok.json();
      assert.match(made.secret, /^ocit_/);
      const use = await app.inject({ method: 'POST', url: `/v1/collections/${NAME}/metadata`, headers: bearer(made.secret), payload: { targets: (await owner.candidateTargets()).toJSON() } });
      assert.notEqual(use.statusCode, 401);
      assert.notEqual(use.statusCode, 403);
      const list = await app.inject({ url: '/v1/tokens', headers: bearer(tokens.admin) });
      assert.equal(list.statusCode, 200);
      const names = list.json().tokens.map((x: { name: string }) => x.name);
      assert.ok(names.includes('admin-t'));
      assert.ok(!names.includes('other-admin-t'), 'tokens outside the caller\'s patterns are not listed');
      assert.ok(list.json().tokens.every((x: object) => !('secret' in x) && !('hash' in x)));
    });
  });

  describe('when anonymous reads are off and an IP allowlist is set', () => {
    it('needs a reader token on the collection to read', async () => {
      const t2 = await testApp({ anonymousRead: false });
      try {
        const a = t2.app;
        const adm = await tokenFor(a, 'admin', ['**']);
        const keys = (await a.inject({ method: 'POST', url: '/v1/collections', headers: bearer(adm), payload: { name: NAME } })).json();
        const o = new Owner(NAME, keys);
        await a.inject({ method: 'POST', url: `/v1/collections/${NAME}/metadata`, headers: bearer(adm), payload: await o.initial() });
        const url = `/v1/collections/${NAME}/timestamp.json`;
        assert.equal((await a.inject({ url })).statusCode, 401);
        assert.equal((await a.inject({ url, headers: bearer(await tokenFor(a, 'reader', ['reg.example.com/other'])) })).statusCode, 403);
        assert.equal((await a.inject({ url, headers: bearer(await tokenFor(a, 'reader', ['reg.example.com/team/*'])) })).statusCode, 200);
        assert.equal((await a.inject({ url: '/healthz' })).statusCode, 200);
      } finally {
        await t2.close();
      }
    });

    it('the allowlist also covers routes that authenticate callers themselves (proxy, notifications, webhooks)', async () => {
      // Such routes are `open` (no bearer token here); the network boundary still applies.
      const t4 = await testApp({
        allowIps: ['10.0.0.0/8'],
        plugins: [async (app) => void app.get('/v2/', { config: { open: true } }, async () => ({ ok: true }))],
      });
      try {
        const outside = await t4.app.inject({ url: '/v2/', remoteAddress: '127.0.0.1' });
        assert.equal(outside.statusCode, 403);
        assert.equal(outside.json().code, 'IP_NOT_ALLOWED');
        const inside = await t4.app.inject({ url: '/v2/', remoteAddress: '10.9.8.7' });
        assert.equal(inside.statusCode, 200);
        assert.deepEqual(inside.json(), { ok: true });
      } finally {
        await t4.close();
      }
    });

    it('refuses clients outside the allowlist with IP_NOT_ALLOWED, audited; health probes pass', async () => {
      const t3 = await testApp({ allowIps: ['10.0.0.0/8'] });
      try {
        const r = await t3.app.inject({ url: `/v1/collections/${NAME}/timestamp.json`, remoteAddress: '127.0.0.1' });
        assert.equal(r.statusCode, 403);
        assert.equal(r.json().code, 'IP_NOT_ALLOWED');
        const inside = await t3.app.inject({ url: `/v1/collections/${NAME}/timestamp.json`, remoteAddress: '10.1.2.3' });
        assert.equal(inside.statusCode, 404, 'allowed through (the collection does not exist there)');
        assert.equal((await t3.app.inject({ url: '/readyz', remoteAddress: '127.0.0.1' })).statusCode, 200);
        assert.equal((await t3.app.inject({ url: '/healthz', remoteAddress: '127.0.0.1' })).statusCode, 200);
        const audit = await t3.app.ocitrust.audit.query({ outcome: 'denied' });
        assert.equal(audit.entries[0]?.code, 'IP_NOT_ALLOWED');
        assert.equal(audit.entries[0]?.source, '127.0.0.1');
      } finally {
        await t3.close();
      }
    });
  });
});
