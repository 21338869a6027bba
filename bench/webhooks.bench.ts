// Webhooks (issue 18): events per second through the outbox to a local receiver, and the
// latency a publish gains when 10 subscriptions want its events (0 vs 10, side by side).
//
// The server runs as a child process (server/run.ts) so it and this process (receiver and
// load) each get a core. Publishes are pre-signed, so client signing is not timed. Events of
// one collection are delivered in order (one in flight per subscription and collection), so
// throughput is measured over many collections at once.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Owner, call, spawnServer, type ServerProcess } from '../test/helpers/trust-server.js';
import { freshPostgresDatabase, postgresSkipReason, type TestDatabase } from '../test/helpers/postgres.js';
import { tokenCommand } from '../server/token-command.js';
import { median, percentile } from './helpers/stats.js';

const COLLECTIONS = Number(process.env.BENCH_WH_COLLECTIONS ?? 16);
const PER_COLLECTION = Number(process.env.BENCH_WH_EVENTS ?? 40);
const PUBLISHES = Number(process.env.BENCH_WH_PUBLISHES ?? 60);
const ROUNDS = Number(process.env.BENCH_WH_ROUNDS ?? 3);
const SECRET = 'whsec_' + Buffer.alloc(32, 9).toString('base64');

interface EngineResult {
  readonly engine: string;
  readonly events: number;
  readonly eventsPerSecond: number;
  readonly drainMs: number;
  readonly publish: { readonly subs: number; readonly samples: number[] }[];
}

async function receiver(): Promise<{ url: string; count: () => number; at: (i: number) => number; until: (n: number) => Promise<number>; close: () => Promise<void> }> {
  let n = 0;
  const times: number[] = [];
  let waiting: { n: number; resolve: (t: bigint) => void } | null = null;
  const s = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      n++;
      times.push(Number(process.hrtime.bigint()));
      res.writeHead(204).end();
      if (waiting && n >= waiting.n) {
        const w = waiting;
        waiting = null;
        w.resolve(process.hrtime.bigint());
      }
    });
  });
  s.keepAliveTimeout = 1000;
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(s.address() as AddressInfo).port}/hook`,
    count: () => n,
    at: (i) => times[i]!,
    until: (target) =>
      new Promise<number>((resolve) => {
        if (n >= target) return resolve(Number(process.hrtime.bigint()));
        waiting = { n: target, resolve: (t) => resolve(Number(t)) };
      }),
    close: () => new Promise<void>((r) => s.close(() => r())),
  };
}

async function benchEngine(engine: 'sqlite' | 'postgres'): Promise<EngineResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ocitrust-bench-wh-'));
  let pg: TestDatabase | undefined;
  let server: ServerProcess | undefined;
  const rx = await receiver();
  try {
    if (engine === 'postgres') pg = await freshPostgresDatabase();
    const env = { OCITRUST_DATA_DIR: dataDir, OCITRUST_REQUEST_LOGGING: 'false', OCITRUST_WEBHOOK_CONCURRENCY: '16', ...(pg ? { OCITRUST_DATABASE: pg.url } : {}) };
    server = await spawnServer({ ...env, OCITRUST_WEBHOOK_DELIVER: 'false' });
    const created = await tokenCommand({ action: 'create', role: 'admin', collections: '**', ...(pg ? { database: pg.url } : { dataDir }) });
    const admin = created.action === 'create' ? created.secret : '';
    const owners: Owner[] = [];
    for (let i = 0; i < COLLECTIONS; i++) {
      const name = `reg.example.com/bench/wh${i}`;
      const c = await call(`${server.url}/v1/collections`, { token: admin, body: { name } });
      const o = new Owner(name, c.json);
      const r = await call(`${server.url}/v1/collections/${name}/metadata`, { token: admin, body: await o.initial() });
      if (r.status !== 200) throw new Error(`publish failed: ${JSON.stringify(r.json)}`);
      owners.push(o);
    }
    const subscribe = async (): Promise<string> => {
      const r = await call(`${server!.url}/v1/webhooks`, { token: admin, body: { url: rx.url, secrets: [SECRET], events: ['targets.published'] } });
      if (r.status !== 201) throw new Error(`subscribe failed: ${JSON.stringify(r.json)}`);
      return r.json.id as string;
    };

    // Throughput: the outbox is filled by this instance with delivery off (every collection
    // publishes its pre-signed versions), then a delivering instance starts on the same
    // database and drains it: events/s from its start to the last delivery.
    const bodies = await Promise.all(owners.map(async (o) => {
      const out: object[] = [];
      for (let i = 0; i < PER_COLLECTION; i++) out.push({ targets: await o.nextTargets() });
      return out;
    }));
    const one = await subscribe();
    const events = COLLECTIONS * PER_COLLECTION;
    const base = rx.count();
    await Promise.all(owners.map(async (o, i) => {
      for (const b of bodies[i]!) {
        const r = await call(`${server!.url}/v1/collections/${o.collection}/metadata`, { token: admin, body: b });
        if (r.status !== 200) throw new Error(`publish failed: ${JSON.stringify(r.json)}`);
      }
    }));
    await server.stop();
    const t0 = Number(process.hrtime.bigint());
    server = await spawnServer({ ...env, OCITRUST_WEBHOOK_DELIVER: 'true' });
    const t1 = await rx.until(base + events);
    // From the first delivery to the last: the outbox drain rate, without the process start.
    const first = rx.at(base);
    await call(`${server.url}/v1/webhooks/${one}`, { method: 'DELETE', token: admin });

    // Publish latency with 0 and with 10 subscriptions (deliverer on), rounds interleaved; one collection.
    const o = owners[0]!;
    const publish: { subs: number; samples: number[] }[] = [{ subs: 0, samples: [] }, { subs: 10, samples: [] }];
    for (let round = 0; round < ROUNDS; round++) {
      for (const p of publish) {
        const ids: string[] = [];
        for (let s = 0; s < p.subs; s++) ids.push(await subscribe());
        const pre: object[] = [];
        for (let i = 0; i < PUBLISHES; i++) pre.push({ targets: await o.nextTargets() });
        const before = rx.count();
        for (const b of pre) {
          const s0 = process.hrtime.bigint();
          const r = await call(`${server.url}/v1/collections/${o.collection}/metadata`, { token: admin, body: b });
          p.samples.push(Number(process.hrtime.bigint() - s0) / 1e6);
          if (r.status !== 200) throw new Error(`publish failed: ${JSON.stringify(r.json)}`);
        }
        if (p.subs > 0) await rx.until(before + p.subs * PUBLISHES);
        for (const id of ids) await call(`${server.url}/v1/webhooks/${id}`, { method: 'DELETE', token: admin });
      }
    }
    return { engine, events, eventsPerSecond: (events - 1) / ((t1 - first) / 1e9), drainMs: (t1 - t0) / 1e6, publish };
  } finally {
    await server?.stop();
    await rx.close();
    await pg?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const f0 = (n: number): string => Math.round(n).toLocaleString('en-US');
const f2 = (n: number): string => n.toFixed(2);

async function main(): Promise<void> {
  const engines: ('sqlite' | 'postgres')[] = ['sqlite'];
  const pgSkip = postgresSkipReason();
  if (!pgSkip) engines.push('postgres');
  const results: EngineResult[] = [];
  for (const e of engines) {
    console.error(`webhooks bench: ${e}`);
    results.push(await benchEngine(e));
  }
  const out: string[] = [
    `Trust server in a child process (deliverer concurrency 16, keep-alive), receiver and load in this process on loopback. Throughput: ${COLLECTIONS} collections × ${PER_COLLECTION} targets publishes fill the outbox of an instance with delivery off (one subscription to \`targets.published\`); then a delivering instance starts on the same database. events/s: first to last delivery (every event signed, delivered in per-collection order); drain: from spawning that instance (process start included) to the last delivery.`,
    '',
    '| database | events | events/s (outbox → receiver) | drain time, ms (incl. process start) |',
    '|---|---:|---:|---:|',
  ];
  for (const r of results) out.push(`| ${r.engine} | ${r.events} | ${f0(r.eventsPerSecond)} | ${f0(r.drainMs)} |`);
  out.push('', `Publish latency (targets +1, sequential, ${PUBLISHES} per round × ${ROUNDS} interleaved rounds) with 0 and with 10 subscriptions wanting the event (10 outbox rows in the publish transaction, deliveries running meanwhile):`, '');
  out.push('| database | subscriptions | median ms | p99 ms | ratio of medians to 0 |', '|---|---:|---:|---:|---:|');
  for (const r of results) {
    const m0 = median(r.publish[0]!.samples);
    for (const p of r.publish) out.push(`| ${r.engine} | ${p.subs} | ${f2(median(p.samples))} | ${f2(percentile(p.samples, 99))} | ${(median(p.samples) / m0).toFixed(2)}× |`);
  }
  if (pgSkip) out.push('', `PostgreSQL skipped: ${pgSkip}`);
  console.log(out.join('\n'));
}

await main();
