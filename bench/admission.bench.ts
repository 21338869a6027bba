// Admission latency (issue 6 benchmark): a Pod with 5 distinct images, POSTed as an
// AdmissionReview v1 to /admission/validate of a real trust server (SQLite, embedded registry
// on loopback, webhooks mounted) at a steady request rate, with a warm and a cold cache.
// Registry round trips are counted by a proxy in front of the registry.
//   node --import tsx bench/admission.bench.ts [--rate 50] [--seconds 10] [--cold 40] [--delay 50]
// Goal: warm p99 < 10 ms; cold ≤ 2 registry round trips per distinct image, run in parallel
// (with the registry slowed by --delay ms per request, a cold review takes about 2 × delay, not 10 ×).
import { pathToFileURL } from 'node:url';
import { startAdmissionWorld, postReview, type AdmissionWorld } from '../test/helpers/admission-world.js';
import { environmentLine } from './harness.js';
import { sendReviews } from './helpers/admission-load.js';
import { fmtMs, markdownTable, numberOption, summarize } from './helpers/stats.js';

const IMAGES = ['bench/api:1.0', 'bench/worker:1.0', 'bench/migrate:1.0', 'bench/proxy:1.0', 'bench/agent:1.0'];

/** An AdmissionReview v1 for a Pod with the given images (2 init containers, 3 containers). */
export function podReview(host: string, n: number): unknown {
  const c = (img: string, i: number) => ({ name: `c${i}`, image: `${host}/${img}`, resources: {}, terminationMessagePolicy: 'File', imagePullPolicy: 'IfNotPresent' });
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `bench-${n}`,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      name: `bench-${n}`,
      namespace: 'prod',
      operation: 'CREATE',
      userInfo: { username: 'bench', groups: ['system:authenticated'] },
      object: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `bench-${n}`, namespace: 'prod' },
        spec: { initContainers: IMAGES.slice(0, 2).map(c), containers: IMAGES.slice(2).map((img, i) => c(img, i + 2)) },
      },
      oldObject: null,
      dryRun: false,
      options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
    },
  };
}

/** One measured scenario. */
export interface AdmissionRow {
  readonly scenario: string;
  readonly rate: string;
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** Registry requests per distinct image and review (cold scenarios). */
  readonly roundTrips?: number;
}

/** Sends `count` reviews at `rate` per second (bench/helpers/admission-load.ts). */
async function steady(w: AdmissionWorld, rate: number, count: number): Promise<number[]> {
  return sendReviews(w.url, Array.from({ length: count }, (_, i) => JSON.stringify(podReview(w.host, i))), rate);
}

/** Cold reviews one after another at `rate`, every cache cleared before each; counts registry requests. */
async function cold(w: AdmissionWorld, rate: number, count: number, trust: boolean): Promise<{ latencies: number[]; perImage: number }> {
  const latencies: number[] = [];
  let requests = 0;
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    w.verifier().clear({ trust });
    w.proxy.reset();
    const r = await postReview(w.url, 'validate', podReview(w.host, i));
    if (r.body?.response?.allowed !== true) throw new Error(`cold review ${i} not allowed: ${JSON.stringify(r.body).slice(0, 400)}`);
    latencies.push(r.ms);
    requests += w.proxy.requests().length;
  }
  return { latencies, perImage: requests / count / IMAGES.length };
}

function row(scenario: string, rate: string, xs: number[], roundTrips?: number): AdmissionRow {
  const s = summarize(xs);
  return { scenario, rate, n: s.n, p50: s.median, p99: s.p99, max: s.max, ...(roundTrips !== undefined ? { roundTrips } : {}) };
}

/** Sets up the server and images, measures every scenario. */
export async function measure(opts: { rate: number; seconds: number; cold: number; delayMs: number; log?: (l: string) => void }): Promise<AdmissionRow[]> {
  const log = opts.log ?? (() => undefined);
  const w = await startAdmissionWorld({ admission: { timeoutSeconds: 10 } });
  try {
    const root = await w.createCollection(`${w.host}/bench`, [`${w.host}/bench/*`]);
    for (const img of IMAGES) {
      const [path, tag] = img.split(':') as [string, string];
      const { reference } = await w.pushImage(path, tag);
      await w.sign(reference);
    }
    await w.usePolicy(
      ['version: 1', 'rules:', '  - name: bench', `    images: ["${w.host}/bench/*"]`, `    collection: ${w.host}/bench`, `    server: ${w.url}`, `    root: ${root}`, '    denyTags: [latest]', ''].join('\n'),
    );
    const rows: AdmissionRow[] = [];
    // Warm-up: JIT, connections, first-use caches.
    await steady(w, 100, 100);

    log('warm');
    const warmRequests = Math.round(opts.rate * opts.seconds);
    w.proxy.reset();
    const warm = await steady(w, opts.rate, warmRequests);
    if (w.proxy.requests().length !== 0) throw new Error(`warm reviews made ${w.proxy.requests().length} registry requests`);
    rows.push(row('warm cache', `${opts.rate}/s`, warm, 0));

    log('cold (trust metadata warm)');
    const coldRate = Math.min(opts.rate, 10);
    const c1 = await cold(w, coldRate, opts.cold, false);
    rows.push(row('cold: verdicts, tags, manifests cleared', `${coldRate}/s`, c1.latencies, c1.perImage));

    log('cold (everything)');
    const c2 = await cold(w, coldRate, opts.cold, true);
    rows.push(row('cold: also trust metadata (TUF refresh)', `${coldRate}/s`, c2.latencies, c2.perImage));

    log(`cold with the registry slowed by ${opts.delayMs} ms per request`);
    w.proxy.delayMs = opts.delayMs;
    const slowRate = Math.min(coldRate, 1000 / (4 * opts.delayMs));
    const c3 = await cold(w, slowRate, Math.min(opts.cold, 20), false);
    w.proxy.delayMs = 0;
    rows.push(row(`cold, registry +${opts.delayMs} ms per request`, `${+slowRate.toFixed(2)}/s`, c3.latencies, c3.perImage));
    return rows;
  } finally {
    await w.close();
  }
}

/** The markdown section. */
export function report(rows: readonly AdmissionRow[], delayMs: number): string {
  const table = markdownTable(
    ['scenario', 'rate', 'reviews', 'p50', 'p99', 'max', 'registry requests per distinct image'],
    rows.map((r) => [r.scenario, r.rate, String(r.n), fmtMs(r.p50), fmtMs(r.p99), fmtMs(r.max), r.roundTrips === undefined ? '' : r.roundTrips.toFixed(2)]),
  );
  const warm = rows.find((r) => r.scenario === 'warm cache');
  const slow = rows.find((r) => r.scenario.startsWith('cold, registry'));
  const lines = [
    `Environment: ${environmentLine()}. Trust server (SQLite) with its embedded registry on loopback; AdmissionReview v1 for a Pod`,
    `with ${IMAGES.length} distinct images (2 initContainers, 3 containers) POSTed to /admission/validate over HTTP; latency measured by the client (warm: a load generator on its own thread; cold: one review at a time).`,
    'Registry requests counted by a proxy in front of the registry. Trust metadata comes from the same server over HTTP with a pinned root.',
    '',
    table,
    '',
    `Goal: warm p99 < 10 ms — ${warm && warm.p99 < 10 ? 'met' : 'NOT met'} (${warm ? fmtMs(warm.p99) : 'n/a'}).`,
    `Cold ≤ 2 registry round trips per distinct image (manifest by tag, referrers; the envelopes ride in the referrers annotations) — ${rows.filter((r) => r.roundTrips !== undefined && r.scenario.startsWith('cold')).every((r) => r.roundTrips! <= 2) ? 'met' : 'NOT met'}.`,
    `In parallel: with ${delayMs} ms added to every registry request, a cold review of ${IMAGES.length} images takes ${slow ? fmtMs(slow.p50) : 'n/a'} (p50): about 2 × ${delayMs} ms, not ${2 * IMAGES.length} × ${delayMs} ms.`,
  ];
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rate = numberOption('rate', 'BENCH_ADMISSION_RATE', 50);
  const seconds = numberOption('seconds', 'BENCH_ADMISSION_SECONDS', 10);
  const coldCount = Math.round(numberOption('cold', 'BENCH_ADMISSION_COLD', 40));
  const delayMs = numberOption('delay', 'BENCH_ADMISSION_DELAY_MS', 50);
  const rows = await measure({ rate, seconds, cold: coldCount, delayMs, log: (l) => process.stderr.write(`admission: ${l}\n`) });
  process.stdout.write(report(rows, delayMs) + '\n');
}
