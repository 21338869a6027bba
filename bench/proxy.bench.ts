// Pull latency through the verifying proxy versus straight from the registry (issue 7
// benchmark): a signed image on docker-registry (distribution 2.8.2), pulled by tag the way a
// client does (manifest, config, layers; every digest checked), directly and through the proxy
// (server/proxy/run.ts in its own process) with a warm verdict cache. Pulls are taken in
// triples — direct, through the proxy, and through the floor — back to back in random order,
// with the same client (global fetch, one keep-alive pool per origin), and each figure is the
// median of the per-triple ratios.
// The floor is a bare node:http pass-through (a few lines below, its own process, keep-alive
// to the upstream, Nagle off): what one more Node process on the path costs with no proxy
// logic at all. The gap between it and the proxy is what the proxy's own work costs.
// A second proxy in front of a counting forwarder checks that a warm pull sends the upstream
// exactly the requests a direct pull does (no extra round trip for verification).
//   node --import tsx bench/proxy.bench.ts [--rounds 200] [--layers 3] [--layer-kib 1024]
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { digestOf } from '../lib/crypto/hash.js';
import { OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST } from '../lib/oci/types.js';
import { buildApp } from '../server/app.js';
import { startDistribution } from '../test/helpers/distribution.js';
import { plainClient, publishCollection, sign, spawnProxy } from '../test/helpers/proxy.js';
import { TEST_SCRYPT, TEST_SECRET } from '../test/helpers/trust-server.js';
import { environmentLine } from './harness.js';
import { fmtMs, fmtRatio, fmtSummary, markdownTable, median, numberOption, pairedRatios, summarize } from './helpers/stats.js';

const ROUNDS = numberOption('rounds', 'BENCH_ROUNDS', 200);
const LAYERS = numberOption('layers', 'BENCH_LAYERS', 3);
const LAYER_KIB = numberOption('layer-kib', 'BENCH_LAYER_KIB', 1024);
const REPO = 'bench/app';
const ACCEPT = 'application/vnd.oci.image.manifest.v1+json';

/** Pulls `REPO:v1` from `base` like a client: manifest by tag, then each blob, all digests checked. */
async function pull(base: string, what: 'full' | 'manifest'): Promise<number> {
  const t0 = process.hrtime.bigint();
  const r = await fetch(`${base}/v2/${REPO}/manifests/v1`, { headers: { accept: ACCEPT } });
  if (r.status !== 200) throw new Error(`${base}: manifest answered ${r.status}: ${await r.text()}`);
  const bytes = new Uint8Array(await r.arrayBuffer());
  const m = JSON.parse(Buffer.from(bytes).toString()) as { config: { digest: string }; layers: { digest: string }[] };
  if (what === 'full') {
    for (const d of [m.config.digest, ...m.layers.map((l) => l.digest)]) {
      const b = await fetch(`${base}/v2/${REPO}/blobs/${d}`);
      const h = createHash('sha256');
      for await (const c of b.body as unknown as AsyncIterable<Uint8Array>) h.update(c);
      if (`sha256:${h.digest('hex')}` !== d) throw new Error(`${base}: blob ${d} does not match`);
    }
  }
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** The floor: a bare node:http pass-through proxy (no routing, checks or logging). */
const FLOOR_SOURCE = `
import http from 'node:http';
const up = new URL(process.env.UPSTREAM);
const agent = new http.Agent({ keepAlive: true, maxSockets: 128, scheduling: 'lifo', noDelay: true });
const server = http.createServer((req, res) => {
  const headers = { ...req.headers, host: up.host };
  delete headers.connection;
  const r = http.request({ hostname: up.hostname, port: up.port, method: req.method, path: req.url, headers, agent }, (ur) => {
    const h = { ...ur.headers };
    delete h.connection; delete h['keep-alive']; delete h['transfer-encoding'];
    res.writeHead(ur.statusCode, h);
    ur.pipe(res);
  });
  req.pipe(r);
});
process.on('SIGTERM', () => process.exit(0));
server.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ listening: 'http://127.0.0.1:' + server.address().port }) + '\\n'));
`;

/** Starts the floor proxy in its own process. */
async function startFloor(upstream: string): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const proc = spawn(process.execPath, ['--input-type=module', '-e', FLOOR_SOURCE], { env: { ...process.env, UPSTREAM: upstream }, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    proc.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /\{"listening":"([^"]+)"\}/.exec(out);
      if (m) resolve(m[1]!);
    });
    void exited.then(() => reject(new Error(`floor proxy exited before listening: ${out}`)));
  });
  return {
    url,
    pid: proc.pid!,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

/** CPU time (user + system, ms) a process has used so far; undefined where /proc is not there. */
function cpuMs(pid: number): number | undefined {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // clock ticks, USER_HZ = 100 on Linux
  } catch {
    return undefined;
  }
}

/** A forwarder that counts the requests reaching the upstream. */
async function countingForwarder(target: string): Promise<{ url: string; count: () => number; close(): Promise<void> }> {
  let n = 0;
  const server = createServer((req, res) => {
    n++;
    void fetch(`${target}${req.url}`, { method: req.method, headers: { ...(req.headers.accept ? { accept: req.headers.accept } : {}) } }).then((up) => {
      const headers: Record<string, string> = {};
      up.headers.forEach((v, k) => {
        if (k !== 'transfer-encoding' && k !== 'connection' && k !== 'content-encoding') headers[k] = v;
      });
      res.writeHead(up.status, headers);
      if (up.body) Readable.fromWeb(up.body as never).pipe(res);
      else res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, count: () => n, close: () => new Promise<void>((r) => server.close(() => r())) };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ocitrust-bench-proxy-'));
  const upstream = await startDistribution();
  const dataDir = join(dir, 'data');
  try {
    // The image: a config and LAYERS random layers, pushed straight to the upstream.
    const client = plainClient();
    const repo = { registry: upstream.host, path: REPO };
    const layers = Array.from({ length: LAYERS }, () => new Uint8Array(randomBytes(LAYER_KIB * 1024)));
    const config = new TextEncoder().encode(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
    for (const b of [config, ...layers]) await client.pushBlob(repo, b);
    const manifest = new TextEncoder().encode(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: OCI_CONFIG, digest: digestOf(config), size: config.length },
        layers: layers.map((l) => ({ mediaType: OCI_LAYER_GZIP, digest: digestOf(l), size: l.length })),
      }),
    );
    await client.putManifest(repo, 'v1', manifest, OCI_MANIFEST);

    // Trust data in the proxy's database, then the signature on the upstream.
    const app = await buildApp({ dataDir, secret: TEST_SECRET, scrypt: TEST_SCRYPT, registry: false, resignIntervalMs: 0, auditPruneIntervalMs: 0 });
    const coll = await publishCollection(app, `${upstream.host}/${REPO}`, ['alice']);
    await sign(`${upstream.host}/${REPO}:v1`, coll.signers.get('alice')!, 'alice', client);
    await app.close();

    const proxy = await spawnProxy({ OCITRUST_PROXY_UPSTREAM: upstream.url, OCITRUST_DATA_DIR: dataDir, OCITRUST_REQUEST_LOGGING: 'false' });
    const floor = await startFloor(upstream.url);
    const forwarder = await countingForwarder(upstream.url);
    const counted = await spawnProxy({
      OCITRUST_PROXY_UPSTREAM: forwarder.url,
      OCITRUST_PROXY_REGISTRY_NAME: upstream.host,
      OCITRUST_DATA_DIR: dataDir,
      OCITRUST_REQUEST_LOGGING: 'false',
    });
    try {
      const paths = { direct: upstream.url, proxy: proxy.url, floor: floor.url } as const;
      const names = Object.keys(paths) as (keyof typeof paths)[];
      // Warm up every path (connections, JIT, and the proxy's verdict cache).
      for (let i = 0; i < 20; i++) for (const n of names) await pull(paths[n], 'full');
      const rows: string[][] = [];
      const cpuRows: string[] = [];
      const ratios: Record<string, number> = {};
      for (const what of ['full', 'manifest'] as const) {
        const t = { direct: [] as number[], proxy: [] as number[], floor: [] as number[] };
        const cpu0 = { proxy: cpuMs(proxy.pid), floor: cpuMs(floor.pid) };
        for (let i = 0; i < ROUNDS; i++) {
          // Fisher–Yates: each of the 6 orders equally likely.
          const order = [...names];
          for (let j = order.length - 1; j > 0; j--) {
            const k = Math.floor(Math.random() * (j + 1));
            [order[j], order[k]] = [order[k]!, order[j]!];
          }
          for (const n of order) t[n].push(await pull(paths[n], what));
        }
        const cpu1 = { proxy: cpuMs(proxy.pid), floor: cpuMs(floor.pid) };
        const ratio = median(pairedRatios(t.proxy, t.direct));
        ratios[what] = ratio;
        if (what === 'full') {
          ratios.floor = median(pairedRatios(t.floor, t.direct));
          ratios.overFloor = median(pairedRatios(t.proxy, t.floor));
        }
        const label = what === 'full' ? `full pull: manifest + config + ${LAYERS} × ${LAYER_KIB} KiB layers` : 'manifest GET by tag';
        rows.push([
          label,
          fmtSummary(summarize(t.direct)),
          fmtSummary(summarize(t.proxy)),
          fmtMs(median(t.proxy) - median(t.direct)),
          fmtRatio(ratio),
          fmtSummary(summarize(t.floor)),
          fmtRatio(median(pairedRatios(t.floor, t.direct))),
          fmtRatio(median(pairedRatios(t.proxy, t.floor))),
        ]);
        if (cpu0.proxy !== undefined && cpu1.proxy !== undefined && cpu0.floor !== undefined && cpu1.floor !== undefined) {
          cpuRows.push(`${label}: proxy ${fmtMs((cpu1.proxy - cpu0.proxy) / ROUNDS)}, floor ${fmtMs((cpu1.floor - cpu0.floor) / ROUNDS)}`);
        }
      }

      // Upstream requests of one warm pull, direct versus through the proxy.
      await pull(counted.url, 'full');
      const c0 = forwarder.count();
      await pull(counted.url, 'full');
      const viaProxy = forwarder.count() - c0;
      const directRequests = 1 + 1 + LAYERS;

      process.stdout.write(
        [
          `Pull of a signed image from docker-registry 2.8.2, directly, through the verifying proxy (own process, warm verdict cache) and through a bare pass-through (the floor); ${ROUNDS} triples of pulls per row, random order within each triple. ${environmentLine()}.`,
          '',
          markdownTable(
            ['pull', 'direct: median (min–max)', 'via proxy: median (min–max)', 'added (median)', 'proxy / direct', 'floor: median (min–max)', 'floor / direct', 'proxy / floor'],
            rows,
          ),
          '',
          'Ratios are medians of the per-triple ratios. Floor: a bare node:http pass-through proxy in its own process (keep-alive, Nagle off, no routing, checks or logging), the cost of one more Node process on the path.',
          '',
          ...(cpuRows.length ? [`CPU time (user + system) per pull, from /proc: ${cpuRows.join('; ')}.`, ''] : []),
          `Upstream requests of one warm pull: direct ${directRequests}, through the proxy ${viaProxy} (verification answered from the cache: no referrers or trust round trips).`,
          '',
          `Goal ≤ 1.1× for the full pull: ${ratios.full! <= 1.1 ? 'met' : 'not met'} (${fmtRatio(ratios.full!)}).` +
            (ratios.full! > 1.1 && ratios.floor! > 1.1
              ? ` The bare pass-through alone costs ${fmtRatio(ratios.floor!)} here, so the goal is below what one more Node process on the path costs on this machine; the proxy's own work adds ${fmtRatio(ratios.overFloor!)} over that floor.`
              : ''),
          '',
        ].join('\n'),
      );
    } finally {
      await counted.stop();
      await forwarder.close();
      await floor.stop();
      await proxy.stop();
    }
  } finally {
    await upstream.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
