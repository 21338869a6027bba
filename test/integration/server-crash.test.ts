// SIGKILL during a burst of publishes, then restart on the same data: every acknowledged publish
// is there, and what is served is complete and consistent (timestamp → snapshot → targets, every
// version present, signatures valid) — nothing half-published.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata } from '../../lib/metadata/metadata.js';
import type { Root } from '../../lib/metadata/root.js';
import { freshPostgresDatabase, postgresSkipReason, type TestDatabase } from '../helpers/postgres.js';
import { Owner, call, spawnServer, type ServerProcess } from '../helpers/trust-server.js';
import { tokenCommand } from '../../server/token-command.js';

const COLLECTIONS = 4;

async function bytes(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  assert.equal(r.status, 200, `${url}: ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

/** Checks what a server serves for a collection: the whole chain verifies and names `targets`. */
async function checkConsistent(url: string, name: string): Promise<number> {
  const base = `${url}/v1/collections/${name}`;
  const root = Metadata.fromBytes('root', await bytes(`${base}/root.json`)) as Metadata<Root>;
  const tsBytes = await bytes(`${base}/timestamp.json`);
  const ts = Metadata.fromBytes('timestamp', tsBytes);
  root.verifyDelegate('timestamp', ts);
  const snapBytes = await bytes(`${base}/${ts.signed.snapshotMeta.version}.snapshot.json`);
  ts.signed.snapshotMeta.verify(snapBytes, 'snapshot');
  const snap = Metadata.fromBytes('snapshot', snapBytes);
  root.verifyDelegate('snapshot', snap);
  const tv = snap.signed.targetsMeta.version;
  const targetsBytes = await bytes(`${base}/${tv}.targets.json`);
  snap.signed.targetsMeta.verify(targetsBytes, 'targets');
  root.verifyDelegate('targets', Metadata.fromBytes('targets', targetsBytes));
  for (let v = 1; v <= tv; v++) await bytes(`${base}/${v}.targets.json`);
  assert.equal((await fetch(`${base}/${tv + 1}.targets.json`)).status, 404);
  return tv;
}

for (const engine of ['sqlite', 'postgres'] as const) {
  const skip = engine === 'postgres' ? postgresSkipReason() : undefined;
  describe(`trust server killed with SIGKILL during publishes (${engine})`, { skip }, () => {
    const dirs: string[] = [];
    let pg: TestDatabase | undefined;
    let server: ServerProcess | undefined;
    after(async () => {
      await server?.stop('SIGKILL');
      await pg?.drop();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });

    it('keeps every acknowledged publish and nothing partial', async (t) => {
      const dataDir = mkdtempSync(join(tmpdir(), 'ocitrust-crash-'));
      dirs.push(dataDir);
      if (engine === 'postgres') pg = await freshPostgresDatabase();
      const env = { OCITRUST_DATA_DIR: dataDir, ...(pg ? { OCITRUST_DATABASE: pg.url } : {}) };
      server = await spawnServer(env);
      const created = await tokenCommand({ action: 'create', role: 'admin', collections: '**', ...(pg ? { database: pg.url } : { dataDir }) });
      const admin = created.action === 'create' ? created.secret : '';

      const owners: Owner[] = [];
      for (let i = 0; i < COLLECTIONS; i++) {
        const name = `reg.example.com/crash/c${i}`;
        const c = await call(`${server.url}/v1/collections`, { token: admin, body: { name } });
        assert.equal(c.status, 201, JSON.stringify(c.json));
        const o = new Owner(name, c.json);
        const p = await call(`${server.url}/v1/collections/${name}/metadata`, { token: admin, body: await o.initial() });
        assert.equal(p.status, 200, JSON.stringify(p.json));
        owners.push(o);
      }

      // Each collection publishes targets versions back to back until the server dies.
      const acked = owners.map(() => 1);
      const sentBytes = owners.map(() => new Map<number, Uint8Array>());
      let dead = false;
      const url = server.url;
      const bursts = owners.map(async (o, i) => {
        while (!dead) {
          const next = await o.candidateTargets();
          sentBytes[i]!.set(next.signed.version, next.toBytes());
          try {
            const r = await call(`${url}/v1/collections/${o.collection}/metadata`, { token: admin, body: { targets: next.toJSON() } });
            if (r.status !== 200) throw new Error(`publish answered ${r.status} ${JSON.stringify(r.json)}`);
            acked[i] = next.signed.version;
            o.targets = next;
          } catch (e) {
            if (dead) return;
            throw e;
          }
        }
      });
      await new Promise((r) => setTimeout(r, 1500));
      dead = true;
      assert.equal(await server.stop('SIGKILL'), null, 'killed by the signal');
      await Promise.all(bursts);
      assert.ok(acked.every((v) => v > 3), `the burst published something: ${acked}`);
      t.diagnostic(`acknowledged targets versions at the kill: ${acked.join(', ')}`);

      server = await spawnServer(env);
      for (let i = 0; i < COLLECTIONS; i++) {
        const o = owners[i]!;
        const served = await checkConsistent(server.url, o.collection);
        // The publish in flight at the kill may or may not have committed; every acknowledged one has.
        assert.ok(served === acked[i] || served === acked[i]! + 1, `${o.collection}: serves ${served}, acknowledged ${acked[i]}`);
        for (let v = 2; v <= served; v++) {
          assert.deepEqual(await bytes(`${server.url}/v1/collections/${o.collection}/${v}.targets.json`), sentBytes[i]!.get(v), `${o.collection} v${v}`);
        }
      }
    });
  });
}
