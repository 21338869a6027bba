// A 50 MiB layer through the proxy, pushed and pulled with skopeo and read by a slow client,
// while the proxy runs in its own process (server/proxy/run.ts). Its memory must stay flat:
// bodies are piped with backpressure and never held whole, so what the proxy holds during a
// transfer grows by a small fraction of the layer. The bytes must arrive intact both ways.
//
// How it is measured: the proxy process is loaded with test/helpers/memory-probe.mjs, which
// runs a full GC every 20 ms and records RSS, heap and external memory; the test also samples
// VmRSS from /proc. Without the forced collections, V8 lets dead stream chunks pile up as
// external memory until its own trigger (tens of MiB, the same for a 50 or a 150 MiB layer),
// which would hide what the proxy actually keeps.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDistribution, type Distribution } from '../helpers/distribution.js';
import { makeImage, missingPrograms, runSkopeo, writeOciLayout, type TestImage } from '../helpers/oci-layout.js';
import { spawnProxy, type ProxyProcess } from '../helpers/proxy.js';

const skip = missingPrograms('docker-registry', 'skopeo') ?? (existsSync('/proc/self/status') ? undefined : 'needs /proc to read the proxy\'s memory');
const MiB = 1024 * 1024;
const LAYER = 50 * MiB;
/** Allowed growth during a transfer of a 50 MiB layer: well below the layer. */
const BOUND = 16 * MiB;
const PROBE = new URL('../helpers/memory-probe.mjs', import.meta.url).pathname;

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

interface Growth {
  /** Peak VmRSS during the transfer minus VmRSS before it. */
  readonly rss: number;
  /** Peak of heapUsed + external (after a full GC) minus the last figure before the transfer. */
  readonly held: number;
}

describe('a 50 MiB layer streamed through the proxy process', { skip }, () => {
  let dir: string;
  let probeFile: string;
  let upstream: Distribution;
  let proxy: ProxyProcess;
  let image: TestImage;

  /** Runs `fn` while sampling the proxy's memory; returns its growth. */
  async function measure(fn: () => Promise<void>): Promise<Growth> {
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    const before = rssOf(proxy.pid);
    let peak = before;
    const timer = setInterval(() => {
      try {
        peak = Math.max(peak, rssOf(proxy.pid));
      } catch {
        // the process ended; the transfer's assertion reports it
      }
    }, 5);
    try {
      await fn();
    } finally {
      clearInterval(timer);
    }
    await new Promise((r) => setTimeout(r, 30));
    const t1 = Date.now();
    const rows = readFileSync(probeFile, 'utf8').trim().split('\n').map((l) => l.split(' ').map(Number) as [number, number, number, number]);
    const baseline = rows.filter((r) => r[0] < t0).at(-1)!;
    const during = rows.filter((r) => r[0] >= t0 && r[0] <= t1);
    assert.ok(during.length > 5, 'the probe sampled during the transfer');
    const held = Math.max(...during.map((r) => r[2] + r[3])) - (baseline[2] + baseline[3]);
    return { rss: Math.max(peak, ...during.map((r) => r[1])) - before, held };
  }

  function check(g: Growth, what: string): void {
    const mb = (n: number): string => (n / MiB).toFixed(1);
    assert.ok(g.held < BOUND, `${what}: the proxy held ${mb(g.held)} MiB more (heap + external) for a ${mb(LAYER)} MiB layer (bound ${mb(BOUND)} MiB)`);
    assert.ok(g.rss < BOUND, `${what}: the proxy's RSS grew by ${mb(g.rss)} MiB for a ${mb(LAYER)} MiB layer (bound ${mb(BOUND)} MiB)`);
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ocitrust-proxy-mem-'));
    probeFile = join(dir, 'probe.txt');
    upstream = await startDistribution();
    proxy = await spawnProxy({ OCITRUST_PROXY_UPSTREAM: upstream.url, NODE_OPTIONS: `--expose-gc --import ${PROBE}`, PROBE_FILE: probeFile });
    image = makeImage({ fileContent: new Uint8Array(randomBytes(LAYER)) });
    await writeOciLayout(join(dir, 'src'), [{ tag: 'v1', content: image }]);
    // Warm up both ways (JIT, connection pools, allocator) with a smaller layer.
    await writeOciLayout(join(dir, 'warm-src'), [{ tag: 'v1', content: makeImage({ fileContent: new Uint8Array(randomBytes(8 * MiB)) }) }]);
    const warm = await runSkopeo(['copy', '--dest-tls-verify=false', `oci:${join(dir, 'warm-src')}:v1`, `docker://${proxy.host}/warm/app:v1`]);
    assert.equal(warm.code, 0, warm.stderr);
    const back = await runSkopeo(['copy', '--src-tls-verify=false', `docker://${proxy.host}/warm/app:v1`, `oci:${join(dir, 'warm-out')}:v1`]);
    assert.equal(back.code, 0, back.stderr);
  });
  after(async () => {
    await proxy?.stop();
    await upstream?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('pushes it through the proxy with flat memory', async () => {
    assert.ok(image.layers[0]!.size > LAYER);
    const g = await measure(async () => {
      const r = await runSkopeo(['copy', '--dest-tls-verify=false', `oci:${join(dir, 'src')}:v1`, `docker://${proxy.host}/big/app:v1`]);
      assert.equal(r.code, 0, r.stderr + proxy.output());
    });
    check(g, 'push');
    const head = await fetch(`${upstream.url}/v2/big/app/blobs/${image.layers[0]!.digest}`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(image.layers[0]!.size));
  });

  it('pulls it through the proxy with flat memory, bytes intact', async () => {
    const out = join(dir, 'out');
    const g = await measure(async () => {
      const r = await runSkopeo(['copy', '--src-tls-verify=false', `docker://${proxy.host}/big/app:v1`, `oci:${out}:v1`]);
      assert.equal(r.code, 0, r.stderr + proxy.output());
    });
    check(g, 'pull');
    const layer = image.layers[0]!;
    assert.ok(Buffer.from(layer.bytes).equals(readFileSync(join(out, 'blobs', 'sha256', layer.digest.slice(7)))));
  });

  it('does not read ahead of a slow client: backpressure reaches the upstream', async () => {
    const layer = image.layers[0]!;
    const h = createHash('sha256');
    const g = await measure(
      () =>
        new Promise<void>((resolve, reject) => {
          http
            .get(`http://${proxy.host}/v2/big/app/blobs/${layer.digest}`, (res) => {
              res.on('data', (c: Buffer) => {
                h.update(c);
                // About 30 MiB/s: far slower than the upstream on loopback.
                res.pause();
                setTimeout(() => res.resume(), 2);
              });
              res.on('end', resolve);
              res.on('error', reject);
            })
            .on('error', reject);
        }),
    );
    check(g, 'slow pull');
    assert.equal(`sha256:${h.digest('hex')}`, layer.digest);
  });

  it('serves byte ranges of the layer straight from the upstream', async () => {
    const layer = image.layers[0]!;
    const r = await fetch(`http://${proxy.host}/v2/big/app/blobs/${layer.digest}`, { headers: { range: 'bytes=1000-1999' } });
    assert.equal(r.status, 206);
    assert.equal(r.headers.get('content-range'), `bytes 1000-1999/${layer.size}`);
    assert.deepEqual(new Uint8Array(await r.arrayBuffer()), layer.bytes.subarray(1000, 2000));
  });
});
