// Trust server throughput and latency (issue 4): requests per second and p50/p99 for
// `timestamp.json` and `N.targets.json` GETs, and publish latency, on SQLite and PostgreSQL.
//
// The server runs as a child process (`server/run.ts`, request logging off) so that it and the
// load generator each get a core of this 2-core machine. The load generator is hand-written on
// raw loopback sockets (keep-alive, one request in flight per connection), which costs far less
// CPU per request than an HTTP client library. Goal from the issue: ≥ 10,000 metadata GETs/s with
// p99 < 10 ms.
import { connect, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Owner, call, spawnServer, type ServerProcess } from '../test/helpers/trust-server.js';
import { freshPostgresDatabase, postgresSkipReason, type TestDatabase } from '../test/helpers/postgres.js';
import { tokenCommand } from '../server/token-command.js';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const PUBLISHES = Number(process.env.BENCH_PUBLISHES ?? 200);
const NAME = 'reg.example.com/bench/app';

const CRLF2 = Buffer.from('\r\n\r\n');
const CL = Buffer.from('\r\ncontent-length: ');

interface LoadResult {
  readonly requests: number;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * Closed-loop load: `connections` keep-alive sockets each send the next GET as soon as the
 * previous response is complete, for `seconds` after a 1 s warm-up. Latency in ms per request.
 */
async function load(port: number, path: string, connections: number, seconds: number): Promise<LoadResult> {
  const req = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n`);
  const latencies: number[] = [];
  let errors = 0;
  let measuring = false;
  let stop = false;
  const sockets: Socket[] = [];
  const done: Promise<void>[] = [];

  for (let c = 0; c < connections; c++) {
    done.push(
      new Promise<void>((resolve, reject) => {
        const s = connect({ port, host: '127.0.0.1', noDelay: true });
        sockets.push(s);
        let buf: Buffer = Buffer.alloc(0);
        let sent = 0n;
        const send = (): void => {
          if (stop) {
            s.end();
            resolve();
            return;
          }
          sent = process.hrtime.bigint();
          s.write(req);
        };
        s.on('connect', send);
        s.on('error', reject);
        s.on('data', (chunk: Buffer) => {
          buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
          for (;;) {
            const end = buf.indexOf(CRLF2);
            if (end < 0) return;
            // Node writes header names as set; fastify uses lower case. No regex on the hot path.
            const at = buf.indexOf(CL);
            let len = 0;
            if (at >= 0 && at < end) for (let i = at + CL.length; buf[i]! >= 48 && buf[i]! <= 57; i++) len = len * 10 + buf[i]! - 48;
            if (buf.length < end + 4 + len) return;
            const ok = buf[9] === 50 && buf[10] === 48 && buf[11] === 48; // "200"
            buf = buf.subarray(end + 4 + len);
            if (measuring) {
              latencies.push(Number(process.hrtime.bigint() - sent) / 1e6);
              if (!ok) errors++;
            }
            send();
          }
        });
      }),
    );
  }
  await new Promise((r) => setTimeout(r, 1000));
  measuring = true;
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  measuring = false;
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  stop = true;
  await Promise.all(done);
  for (const s of sockets) s.destroy();
  const sorted = Float64Array.from(latencies).sort();
  return { requests: sorted.length, rps: sorted.length / elapsed, p50: percentile(sorted, 50), p99: percentile(sorted, 99), errors };
}

interface EngineResult {
  readonly engine: string;
  readonly timestamp: LoadResult;
  readonly targets: LoadResult;
  readonly publish: { n: number; perSecond: number; p50: number; p99: number };
}

async function benchEngine(engine: 'sqlite' | 'postgres'): Promise<EngineResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ocitrust-bench-'));
  let pg: TestDatabase | undefined;
  let server: ServerProcess | undefined;
  try {
    if (engine === 'postgres') pg = await freshPostgresDatabase();
    const env = { OCITRUST_DATA_DIR: dataDir, OCITRUST_REQUEST_LOGGING: 'false', ...(pg ? { OCITRUST_DATABASE: pg.url } : {}) };
    server = await spawnServer(env);
    const port = Number(new URL(server.url).port);
    const created = await tokenCommand({ action: 'create', role: 'admin', collections: '**', ...(pg ? { database: pg.url } : { dataDir }) });
    const admin = created.action === 'create' ? created.secret : '';
    const c = await call(`${server.url}/v1/collections`, { token: admin, body: { name: NAME } });
    const owner = new Owner(NAME, c.json);
    const first = await call(`${server.url}/v1/collections/${NAME}/metadata`, { token: admin, body: await owner.initial() });
    if (first.status !== 200) throw new Error(`publish failed: ${JSON.stringify(first.json)}`);

    // Publish latency: sequential targets publishes (client-side signing is not timed).
    const lat: number[] = [];
    const t0 = process.hrtime.bigint();
    let signing = 0n;
    for (let i = 0; i < PUBLISHES; i++) {
      const s0 = process.hrtime.bigint();
      const body = { targets: await owner.nextTargets() };
      const s1 = process.hrtime.bigint();
      signing += s1 - s0;
      const r = await call(`${server.url}/v1/collections/${NAME}/metadata`, { token: admin, body });
      lat.push(Number(process.hrtime.bigint() - s1) / 1e6);
      if (r.status !== 200) throw new Error(`publish ${i} failed: ${JSON.stringify(r.json)}`);
    }
    const pubSeconds = Number(process.hrtime.bigint() - t0 - signing) / 1e9;
    const sortedPub = Float64Array.from(lat).sort();
    const v = owner.targets.signed.version;

    const timestamp = await load(port, `/v1/collections/${NAME}/timestamp.json`, CONNECTIONS, SECONDS);
    const targets = await load(port, `/v1/collections/${NAME}/${v}.targets.json`, CONNECTIONS, SECONDS);
    return {
      engine,
      timestamp,
      targets,
      publish: { n: PUBLISHES, perSecond: PUBLISHES / pubSeconds, p50: percentile(sortedPub, 50), p99: percentile(sortedPub, 99) },
    };
  } finally {
    await server?.stop();
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
    console.error(`server bench: ${e}`);
    results.push(await benchEngine(e));
  }
  const out: string[] = [
    `Trust server in a child process, load generator in this process (raw keep-alive loopback sockets, ${CONNECTIONS} connections, one request in flight each, ${SECONDS} s after 1 s warm-up). Goal: ≥ 10,000 GET/s, p99 < 10 ms.`,
    '',
    '| database | request | requests/s | p50 ms | p99 ms | non-200 |',
    '|---|---|---:|---:|---:|---:|',
  ];
  for (const r of results) {
    out.push(`| ${r.engine} | GET timestamp.json | ${f0(r.timestamp.rps)} | ${f2(r.timestamp.p50)} | ${f2(r.timestamp.p99)} | ${r.timestamp.errors} |`);
    out.push(`| ${r.engine} | GET N.targets.json | ${f0(r.targets.rps)} | ${f2(r.targets.p50)} | ${f2(r.targets.p99)} | ${r.targets.errors} |`);
  }
  out.push('', `Publish (targets +1 with a fresh server-signed snapshot and timestamp, one transaction), ${PUBLISHES} sequential publishes, client signing not timed:`, '');
  out.push('| database | publishes/s | p50 ms | p99 ms |', '|---|---:|---:|---:|');
  for (const r of results) out.push(`| ${r.engine} | ${f0(r.publish.perSecond)} | ${f2(r.publish.p50)} | ${f2(r.publish.p99)} |`);
  if (pgSkip) out.push('', `PostgreSQL skipped: ${pgSkip}`);
  console.log(out.join('\n'));
}

await main();
