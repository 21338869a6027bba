// Pull latency through the verifying proxy versus straight from the registry (issue 7
// benchmark): a signed image on docker-registry (distribution 2.8.2), pulled by tag the way a
// client does (manifest, config, layers; every digest checked), directly and through the proxy
// (server/proxy/run.ts in its own process) with a warm verdict cache. Pulls are taken in pairs,
// back to back in random order, and the figure is the median of the per-pair ratios.
// A second proxy in front of a counting forwarder checks that a warm pull sends the upstream
// exactly the requests a direct pull does (no extra round trip for verification).
//   node --import tsx bench/proxy.bench.ts [--rounds 200] [--layers 3] [--layer-kib 1024]
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
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
    const forwarder = await countingForwarder(upstream.url);
    const counted = await spawnProxy({
      OCITRUST_PROXY_UPSTREAM: forwarder.url,
      OCITRUST_PROXY_REGISTRY_NAME: upstream.host,
      OCITRUST_DATA_DIR: dataDir,
      OCITRUST_REQUEST_LOGGING: 'false',
    });
    try {
      const direct = upstream.url;
      const via = proxy.url;
      // Warm up both paths (connections, JIT, and the proxy's verdict cache).
      for (let i = 0; i < 20; i++) {
        await pull(direct, 'full');
        await pull(via, 'full');
      }
      const rows: string[][] = [];
      const ratios: Record<string, number> = {};
      for (const what of ['full', 'manifest'] as const) {
        const a: number[] = [];
        const b: number[] = [];
        for (let i = 0; i < ROUNDS; i++) {
          if (Math.random() < 0.5) {
            b.push(await pull(direct, what));
            a.push(await pull(via, what));
          } else {
            a.push(await pull(via, what));
            b.push(await pull(direct, what));
          }
        }
        const ratio = median(pairedRatios(a, b));
        ratios[what] = ratio;
        const label = what === 'full' ? `full pull: manifest + config + ${LAYERS} × ${LAYER_KIB} KiB layers` : 'manifest GET by tag';
        rows.push([label, fmtSummary(summarize(b)), fmtSummary(summarize(a)), fmtMs(median(a) - median(b)), fmtRatio(ratio)]);
      }

      // Upstream requests of one warm pull, direct versus through the proxy.
      await pull(counted.url, 'full');
      const c0 = forwarder.count();
      await pull(counted.url, 'full');
      const viaProxy = forwarder.count() - c0;
      const directRequests = 1 + 1 + LAYERS;

      process.stdout.write(
        [
          `Pull of a signed image from docker-registry 2.8.2, directly and through the verifying proxy (own process, warm verdict cache); ${ROUNDS} paired pulls per row, random order within each pair. ${environmentLine()}.`,
          '',
          markdownTable(['pull', 'direct: median (min–max)', 'via proxy: median (min–max)', 'added (median)', 'proxy / direct (median of pair ratios)'], rows),
          '',
          `Upstream requests of one warm pull: direct ${directRequests}, through the proxy ${viaProxy} (verification answered from the cache: no referrers or trust round trips).`,
          '',
          `Goal ≤ 1.1× for the full pull: ${ratios.full! <= 1.1 ? 'met' : 'not met'} (${fmtRatio(ratios.full!)}).`,
          '',
        ].join('\n'),
      );
    } finally {
      await counted.stop();
      await forwarder.close();
      await proxy.stop();
    }
  } finally {
    await upstream.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
