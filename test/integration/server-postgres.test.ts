// Two trust server processes on one PostgreSQL database: concurrent publishes of one version
// through both → exactly one wins each version, the others get 409, nothing is lost, and both
// serve the newest metadata.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata } from '../../lib/metadata/metadata.js';
import { freshPostgresDatabase, postgresSkipReason, type TestDatabase } from '../helpers/postgres.js';
import { Owner, call, spawnServer, strangers, type ServerProcess } from '../helpers/trust-server.js';
import { tokenCommand } from '../../server/token-command.js';

const skip = postgresSkipReason();
const NAME = 'reg.example.com/pg/app';

describe('two trust server processes on one PostgreSQL', { skip }, () => {
  let db: TestDatabase;
  let a: ServerProcess;
  let b: ServerProcess;
  let admin: string;
  const dirs: string[] = [];

  before(async () => {
    db = await freshPostgresDatabase();
    const env = (): Record<string, string> => {
      const d = mkdtempSync(join(tmpdir(), 'ocitrust-pg-server-'));
      dirs.push(d);
      // A long head cache: seeing the newest version quickly must come from NOTIFY, not expiry.
      return { OCITRUST_DATABASE: db.url, OCITRUST_DATA_DIR: d, OCITRUST_CACHE_TTL_MS: '60000' };
    };
    [a, b] = await Promise.all([spawnServer(env()), spawnServer(env())]);
    const r = await tokenCommand({ action: 'create', role: 'admin', collections: '**', database: db.url, name: 'pg-admin' });
    assert.equal(r.action, 'create');
    admin = r.action === 'create' ? r.secret : '';
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await db?.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('exactly one publish wins each version; the losers get 409; both serve the newest', async () => {
    const created = await call(`${a.url}/v1/collections`, { token: admin, body: { name: NAME } });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const owner = new Owner(NAME, created.json);
    const first = await call(`${b.url}/v1/collections/${NAME}/metadata`, { token: admin, body: await owner.initial() });
    assert.equal(first.status, 200, JSON.stringify(first.json));

    const ROUNDS = 6;
    const CONTENDERS = 6;
    for (let round = 0; round < ROUNDS; round++) {
      const candidates = await Promise.all(
        Array.from({ length: CONTENDERS }, async (_, i) => {
          const [k] = strangers(1);
          return owner.candidateTargets((t) => t.withDelegation({ name: `r${round}-c${i}`, keys: [k!.publicKey], paths: [`${NAME}*`] }));
        }),
      );
      const results = await Promise.all(
        candidates.map((c, i) => call(`${(i % 2 ? a : b).url}/v1/collections/${NAME}/metadata`, { token: admin, body: { targets: c.toJSON() } })),
      );
      const statuses = results.map((r) => r.status).sort();
      assert.deepEqual(statuses, [200, ...Array(CONTENDERS - 1).fill(409)], JSON.stringify(results.map((r) => r.json)));
      for (const r of results) if (r.status === 409) assert.equal(r.json.code, 'PUBLISH_VERSION_CONFLICT');
      const winner = candidates[results.findIndex((r) => r.status === 200)]!;
      owner.targets = winner;
      const expected = winner.signed.version;
      assert.equal(expected, round + 2);

      // Both instances serve the winner: timestamp → snapshot → targets, byte for byte.
      for (const s of [a, b]) {
        const deadline = Date.now() + 5000;
        let ts: Metadata | undefined;
        for (;;) {
          const res = await fetch(`${s.url}/v1/collections/${NAME}/timestamp.json`);
          ts = Metadata.fromBytes('timestamp', new Uint8Array(await res.arrayBuffer()));
          const snapRes = await fetch(`${s.url}/v1/collections/${NAME}/${(ts.signed as any).snapshotMeta.version}.snapshot.json`);
          const snap = Metadata.fromBytes('snapshot', new Uint8Array(await snapRes.arrayBuffer()));
          if ((snap.signed as any).targetsMeta.version === expected) break;
          assert.ok(Date.now() < deadline, `${s.url} still serves targets ${(snap.signed as any).targetsMeta.version}, expected ${expected}`);
          await new Promise((r) => setTimeout(r, 50));
        }
        const tRes = await fetch(`${s.url}/v1/collections/${NAME}/${expected}.targets.json`);
        assert.deepEqual(new Uint8Array(await tRes.arrayBuffer()), winner.toBytes());
      }
    }

    // Nothing lost: every version from 1 to the last is there, and the audit log has one ok
    // publish per version and a rejected one per loser.
    for (let v = 1; v <= ROUNDS + 1; v++) assert.equal((await fetch(`${a.url}/v1/collections/${NAME}/${v}.targets.json`)).status, 200);
    const audit = await call(`${b.url}/v1/audit?collection=${encodeURIComponent(NAME)}&limit=1000`, { token: admin });
    const pubs = (audit.json.entries as { action: string; outcome: string; code: string | null }[]).filter((e) => e.action === 'publish');
    assert.equal(pubs.filter((e) => e.outcome === 'ok').length, ROUNDS + 1);
    assert.equal(pubs.filter((e) => e.code === 'PUBLISH_VERSION_CONFLICT').length, ROUNDS * (CONTENDERS - 1));
  });

});
