// Attack (issue 12 item 10): a revoked token kept working for up to 5 s because token lookups
// were cached per instance; within that window it minted new admin tokens. Revocation through
// the API and through the operator's command line must take effect before the call returns, on
// every instance sharing the database: two real server processes on one PostgreSQL, and one
// server on SQLite with the real `trust server token revoke` binary writing its database.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshPostgresDatabase, postgresSkipReason, type TestDatabase } from '../helpers/postgres.js';
import { call, spawnServer, type ServerProcess } from '../helpers/trust-server.js';
import { runTrust } from '../helpers/cli.js';
import { tokenCommand } from '../../server/token-command.js';

/** Creates an admin token on every collection directly in the database; returns id and secret. */
async function adminToken(database: string, name: string): Promise<{ id: string; secret: string }> {
  const r = await tokenCommand({ action: 'create', role: 'admin', collections: '**', database, name });
  assert.equal(r.action, 'create');
  return r.action === 'create' ? { id: r.token.id, secret: r.secret } : { id: '', secret: '' };
}

/** What the attacker does with a token: mint a fresh admin token. */
function mint(url: string, token: string): Promise<{ status: number; json: any }> {
  return call(`${url}/v1/tokens`, { token, body: { role: 'admin', patterns: ['**'], name: 'minted-by-attacker' } });
}

/** Warms whatever the instance remembers about the token (a successful authenticated read). */
async function use(url: string, token: string): Promise<void> {
  const r = await call(`${url}/v1/tokens`, { token });
  assert.equal(r.status, 200, JSON.stringify(r.json));
}

function assertRefused(r: { status: number; json: any }, where: string): void {
  assert.equal(r.status, 401, `${where}: a revoked token was accepted: ${JSON.stringify(r.json)}`);
  assert.equal(r.json.code, 'AUTH_TOKEN_INVALID');
}

describe('attack: a revoked token keeps working (two instances on one PostgreSQL)', { skip: postgresSkipReason() }, () => {
  let db: TestDatabase;
  let a: ServerProcess;
  let b: ServerProcess;
  const dirs: string[] = [];

  before(async () => {
    db = await freshPostgresDatabase();
    const env = (): Record<string, string> => {
      const d = mkdtempSync(join(tmpdir(), 'ocitrust-attack-revoke-'));
      dirs.push(d);
      return { OCITRUST_DATABASE: db.url, OCITRUST_DATA_DIR: d };
    };
    [a, b] = await Promise.all([spawnServer(env()), spawnServer(env())]);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await db?.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('revoked through the API on one instance: refused at once by both', async () => {
    const victim = await adminToken(db.url, 'leaked');
    const operator = await adminToken(db.url, 'operator');
    await use(a.url, victim.secret);
    await use(b.url, victim.secret);
    const del = await call(`${a.url}/v1/tokens/${victim.id}`, { method: 'DELETE', token: operator.secret });
    assert.equal(del.status, 200, JSON.stringify(del.json));
    assertRefused(await mint(a.url, victim.secret), 'the instance that revoked');
    assertRefused(await mint(b.url, victim.secret), 'the other instance');
  });

  it('revoked by the operator with the real `trust server token revoke`: refused at once by both', async () => {
    const victim = await adminToken(db.url, 'leaked-2');
    await use(a.url, victim.secret);
    await use(b.url, victim.secret);
    const run = await runTrust(['server', 'token', 'revoke', victim.id, '--database', db.url], { dist: true, env: { HOME: dirs[0]!, OCITRUST_HOME: join(dirs[0]!, 'home') } });
    assert.equal(run.code, 0, run.stderr);
    assertRefused(await mint(a.url, victim.secret), 'instance a');
    assertRefused(await mint(b.url, victim.secret), 'instance b');
  });

  it('no token minted by a revoked token exists', async () => {
    const r = await tokenCommand({ action: 'list', database: db.url });
    assert.equal(r.action, 'list');
    if (r.action === 'list') assert.deepEqual(r.tokens.filter((t) => t.name === 'minted-by-attacker'), []);
  });
});

describe('attack: a revoked token keeps working (SQLite, operator revokes with the CLI)', () => {
  let dir: string;
  let s: ServerProcess;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ocitrust-attack-revoke-sqlite-'));
    s = await spawnServer({ OCITRUST_DATA_DIR: join(dir, 'data') });
  });
  after(async () => {
    await s?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses the token as soon as `trust server token revoke` returns', async () => {
    const database = join(dir, 'data', 'ocitrust.db');
    const victim = await adminToken(database, 'leaked');
    await use(s.url, victim.secret);
    const run = await runTrust(['server', 'token', 'revoke', victim.id, '--database', database], { dist: true, env: { HOME: dir, OCITRUST_HOME: join(dir, 'home') } });
    assert.equal(run.code, 0, run.stderr);
    assertRefused(await mint(s.url, victim.secret), 'the server');
    // Authenticated reads and the embedded registry refuse it too.
    assertRefused(await call(`${s.url}/v1/tokens`, { token: victim.secret }), 'GET /v1/tokens');
  });
});
