// Before / after the gate's proxy move (issue 13), side by side in ONE run: the same process
// loads a second checkout (`--base DIR`, e.g. `git worktree add --detach /tmp/gp-base <commit>`)
// next to this one and measures both, interleaved, on the same machine state:
//
// - in-process warm verify: each tree's gate (createGate, verdict cache off, trust data held in
//   memory) checking one signed image on the embedded registry over HTTP;
// - admission warm p99: each tree's trust server with the webhooks (test/helpers/admission-world),
//   5-image Pods at a steady rate, rounds alternating between the two;
// - proxy added latency: each tree's proxy process (server/proxy/run.ts) in front of one
//   docker-registry, pulls in random order within triples (direct, base proxy, this proxy).
//
//   node --import tsx bench/gate-compare.bench.ts [--base DIR] [--rounds 200] [--admission-rounds 8] [--only verify,admission,proxy]
// Without --base, a temporary `git worktree` of the base commit is made and removed.
// Ratios are this tree / base (below 1: faster now); medians of per-pair ratios where paired.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { OcitrustError } from '../lib/errors/index.js';
import { parseReference } from '../lib/reference.js';
import { signImage } from '../lib/usecases/sign.js';
import { buildCollection, type TestCollection } from '../test/helpers/collection.js';
import { startDistribution } from '../test/helpers/distribution.js';
import { startEmbeddedRegistry } from '../test/helpers/embedded-registry.js';
import { makeImage } from '../test/helpers/oci-layout.js';
import { environmentLine } from './harness.js';
import { sendReviews } from './helpers/admission-load.js';
import { fmtMs, fmtRatio, markdownTable, median, numberOption, pairedRatios, percentile } from './helpers/stats.js';

const ROUNDS = numberOption('rounds', 'BENCH_ROUNDS', 200);
const LOAD_AT_START = loadavg();
const onlyArg = process.argv.indexOf('--only');
/** `--only verify,admission,proxy`: a subset of the measures (default all). */
const ONLY = new Set(onlyArg > 0 ? process.argv[onlyArg + 1]!.split(',') : ['verify', 'admission', 'proxy']);
const ADMISSION_ROUNDS = numberOption('admission-rounds', 'BENCH_ADMISSION_ROUNDS', 8);
/** The commit before the proxy moved onto the gate (issue 13). */
const BASE_COMMIT = 'b6664ab';
const baseArg = process.argv.indexOf('--base');
const given = baseArg > 0 ? process.argv[baseArg + 1] : process.env.BENCH_BASE;
const HEAD = resolve('.');
// Without --base: a temporary worktree of BASE_COMMIT (sources only: both trees run under tsx).
const made = given === undefined ? join(mkdtempSync(join(tmpdir(), 'ocitrust-bench-base-')), 'tree') : undefined;
if (made) {
  execFileSync('git', ['worktree', 'add', '--detach', made, BASE_COMMIT], { stdio: 'ignore' });
  symlinkSync(realpathSync(join(HEAD, 'node_modules')), join(made, 'node_modules'));
}
const BASE = resolve(made ?? given!);
const TREES = { base: BASE, head: HEAD } as const;
type Tree = keyof typeof TREES;
const log = (s: string): void => void process.stderr.write(`gate-compare: ${s}\n`);

/** A module of one tree. */
function load<T>(tree: Tree, rel: string): Promise<T> {
  return import(pathToFileURL(join(TREES[tree], rel)).href) as Promise<T>;
}

function shuffled<T>(xs: readonly T[]): T[] {
  const a = [...xs];
  for (let j = a.length - 1; j > 0; j--) {
    const k = Math.floor(Math.random() * (j + 1));
    [a[j], a[k]] = [a[k]!, a[j]!];
  }
  return a;
}

/** The collection's files as the trust server's storage; "not there" in the tree's own error class. */
function storeOf(c: TestCollection, Err: typeof OcitrustError) {
  const served = (name: string) => {
    const b = c.files.get(name);
    if (!b) throw new Err('METADATA_NOT_FOUND', `no ${name}`);
    return { body: b };
  };
  return { timestamp: async () => served('timestamp.json'), file: async (_n: string, role: string, version: number | null) => served(`${version}.${role}.json`) };
}

/** In-process warm verify through each tree's gate. */
async function warmVerify(): Promise<string[][]> {
  const reg = await startEmbeddedRegistry();
  try {
    const repo = `${reg.host}/bench/app`;
    const c = await buildCollection({ collection: repo, signers: [{ name: 'release' }] });
    const img = makeImage();
    const ref = parseReference(`${repo}:v1`);
    const { HttpRegistryClient } = await load<typeof import('../lib/oci/client.js')>('head', 'lib/oci/client.ts');
    const { anonymous } = await load<typeof import('../lib/oci/credentials.js')>('head', 'lib/oci/credentials.ts');
    const pusher = new HttpRegistryClient({ plainHttp: [reg.host], credentials: anonymous });
    for (const b of img.blobs) await pusher.pushBlob(ref, b.bytes);
    await pusher.putManifest(ref, 'v1', img.manifest.bytes, img.manifest.mediaType);
    await signImage({ reference: `${repo}:v1`, registry: pusher, signer: c.signer('release'), role: 'release', clock: c.clock });
    const rule = { rule: 'bench', policyRevision: 'p', collection: repo, verify: {} };
    const gates = {} as Record<Tree, { check: (r: string, ctx: object) => Promise<{ decision: string }> }>;
    for (const t of ['base', 'head'] as const) {
      const client = await load<typeof import('../lib/oci/client.js')>(t, 'lib/oci/client.ts');
      const creds = await load<typeof import('../lib/oci/credentials.js')>(t, 'lib/oci/credentials.ts');
      const { createGate } = await load<typeof import('../lib/gate/index.js')>(t, 'lib/gate/index.ts');
      const errors = await load<typeof import('../lib/errors/index.js')>(t, 'lib/errors/index.ts');
      gates[t] = createGate({ registry: new client.HttpRegistryClient({ plainHttp: [reg.host], credentials: creds.anonymous }), localTrust: storeOf(c, errors.OcitrustError), clock: c.clock, cache: false, tagTtlSeconds: 0 }) as never;
    }
    const rows: string[][] = [];
    for (const [what, reference] of [['by tag', `${repo}:v1`], ['by digest', `${repo}@${img.manifest.digest}`]] as const) {
      const t: Record<Tree, number[]> = { base: [], head: [] };
      for (let i = 0; i < ROUNDS + 30; i++) {
        for (const tree of shuffled(['base', 'head'] as const)) {
          const t0 = performance.now();
          const a = await gates[tree].check(reference, { rule });
          const ms = performance.now() - t0;
          if (a.decision !== 'allow') throw new Error(`${tree}: ${what}: ${JSON.stringify(a)}`);
          if (i >= 30) t[tree].push(ms);
        }
      }
      rows.push([`in-process warm verify (gate, cache off), ${what}`, `${fmtMs(median(t.base))} (p99 ${fmtMs(percentile(t.base, 99))})`, `${fmtMs(median(t.head))} (p99 ${fmtMs(percentile(t.head, 99))})`, fmtRatio(median(pairedRatios(t.head, t.base)))]);
    }
    // The admission decision in-process (no HTTP, so the machine's scheduling noise stays out):
    // each tree's reviewAdmission over its createAdmissionVerifier, a 5-container Pod, warm.
    for (let i = 1; i <= 5; i++) await pusher.putManifest(ref, `t${i}`, img.manifest.bytes, img.manifest.mediaType);
    const { podReview } = await load<typeof import('./admission.bench.js')>('head', 'bench/admission.bench.ts');
    const review = podReview(reg.host, 0) as { request: { object: { spec: { containers: { image: string }[]; initContainers: { image: string }[] } } } };
    review.request.object.spec.containers = review.request.object.spec.containers.map((c: { image: string }, i: number) => ({ ...c, image: `${repo}:t${i + 3}` }));
    review.request.object.spec.initContainers = review.request.object.spec.initContainers.map((c: { image: string }, i: number) => ({ ...c, image: `${repo}:t${i + 1}` }));
    const reviewers = {} as Record<Tree, () => Promise<boolean>>;
    for (const tr of ['base', 'head'] as const) {
      const { createAdmissionVerifier } = await load<typeof import('../server/admission.js')>(tr, 'server/admission.ts');
      const { reviewAdmission } = await load<typeof import('../hook/admission.js')>(tr, 'hook/admission.ts');
      const { parsePolicy } = await load<typeof import('../lib/policy/index.js')>(tr, 'lib/policy/index.ts');
      const errors = await load<typeof import('../lib/errors/index.js')>(tr, 'lib/errors/index.ts');
      const policy = parsePolicy(['version: 1', 'rules:', '  - name: bench', `    images: ["${reg.host}/bench/*"]`, `    collection: ${repo}`, ''].join('\n'));
      const v = createAdmissionVerifier({ localTrust: storeOf(c, errors.OcitrustError) as never, plainHttp: [reg.host], clock: c.clock });
      reviewers[tr] = async () => (await reviewAdmission(review, 'validate', { policy, verifyImage: v.verifyImage, clock: c.clock })).review.response.allowed;
    }
    const a: Record<Tree, number[]> = { base: [], head: [] };
    for (let i = 0; i < ROUNDS + 30; i++) {
      for (const tree of shuffled(['base', 'head'] as const)) {
        const t0 = performance.now();
        const ok = await reviewers[tree]();
        const ms = performance.now() - t0;
        if (!ok) throw new Error(`${tree}: the review was not allowed`);
        if (i >= 30) a[tree].push(ms);
      }
    }
    rows.push([`admission decision in-process, warm (5-container Pod, ${ROUNDS} reviews each)`, `${fmtMs(median(a.base))} (p99 ${fmtMs(percentile(a.base, 99))})`, `${fmtMs(median(a.head))} (p99 ${fmtMs(percentile(a.head, 99))})`, `${fmtRatio(median(pairedRatios(a.head, a.base)))} (p99 ${fmtRatio(percentile(a.head, 99) / percentile(a.base, 99))})`]);
    return rows;
  } finally {
    await reg.close();
  }
}

/** Admission warm latency of each tree's server, rounds alternating. */
async function admissionWarm(): Promise<string[][]> {
  const IMAGES = ['bench/api:1.0', 'bench/worker:1.0', 'bench/migrate:1.0', 'bench/proxy:1.0', 'bench/agent:1.0'];
  const { podReview } = await load<typeof import('./admission.bench.js')>('head', 'bench/admission.bench.ts');
  type World = Awaited<ReturnType<typeof import('../test/helpers/admission-world.js').startAdmissionWorld>>;
  const worlds = {} as Record<Tree, World>;
  try {
    for (const t of ['base', 'head'] as const) {
      const { startAdmissionWorld } = await load<typeof import('../test/helpers/admission-world.js')>(t, 'test/helpers/admission-world.ts');
      const w = await startAdmissionWorld({ admission: { timeoutSeconds: 10 } });
      worlds[t] = w;
      const root = await w.createCollection(`${w.host}/bench`, [`${w.host}/bench/*`]);
      for (const img of IMAGES) {
        const [path, tag] = img.split(':') as [string, string];
        await w.sign((await w.pushImage(path, tag)).reference);
      }
      await w.usePolicy(['version: 1', 'rules:', '  - name: bench', `    images: ["${w.host}/bench/*"]`, `    collection: ${w.host}/bench`, `    server: ${w.url}`, `    root: ${root}`, '    denyTags: [latest]', ''].join('\n'));
    }
    const steady = (w: World, rate: number, n: number): Promise<number[]> => sendReviews(w.url, Array.from({ length: n }, (_, i) => JSON.stringify(podReview(w.host, i))), rate);
    for (const t of ['base', 'head'] as const) await steady(worlds[t], 100, 100);
    const lat: Record<Tree, number[]> = { base: [], head: [] };
    const p99s: Record<Tree, number[]> = { base: [], head: [] };
    const rounds = ADMISSION_ROUNDS;
    for (let r = 0; r < rounds; r++) {
      for (const t of shuffled(['base', 'head'] as const)) {
        const xs = await steady(worlds[t], 50, 100);
        lat[t].push(...xs);
        p99s[t].push(percentile(xs, 99));
      }
    }
    const line = (t: Tree) => `p50 ${fmtMs(median(lat[t]))}, p99 ${fmtMs(percentile(lat[t], 99))}`;
    return [
      [`admission warm, 5-image Pod at 50/s (${rounds} × 100 reviews each)`, line('base'), line('head'), `p99 ${fmtRatio(percentile(lat.head, 99) / percentile(lat.base, 99))}; per-round p99 ${fmtRatio(median(pairedRatios(p99s.head, p99s.base)))}`],
    ];
  } finally {
    for (const w of Object.values(worlds)) await w.close().catch(() => undefined);
  }
}

/** Added latency of each tree's proxy in front of one docker-registry. */
async function proxyAdded(): Promise<string[][]> {
  const dir = mkdtempSync(join(tmpdir(), 'ocitrust-bench-gate-proxy-'));
  const upstream = await startDistribution();
  const procs: { stop(): Promise<void> }[] = [];
  try {
    const { plainClient, publishCollection, sign } = await load<typeof import('../test/helpers/proxy.js')>('head', 'test/helpers/proxy.ts');
    const { buildApp } = await load<typeof import('../server/app.js')>('head', 'server/app.ts');
    const { TEST_SCRYPT, TEST_SECRET } = await load<typeof import('../test/helpers/trust-server.js')>('head', 'test/helpers/trust-server.ts');
    const client = plainClient();
    const REPO = 'bench/app';
    const img = makeImage();
    const ref = { registry: upstream.host, path: REPO };
    for (const b of img.blobs) await client.pushBlob(ref, b.bytes);
    await client.putManifest(ref, 'v1', img.manifest.bytes, img.manifest.mediaType);
    const dataDir = join(dir, 'data');
    const app = await buildApp({ dataDir, secret: TEST_SECRET, scrypt: TEST_SCRYPT, registry: false, resignIntervalMs: 0, auditPruneIntervalMs: 0 });
    const coll = await publishCollection(app, `${upstream.host}/${REPO}`, ['alice']);
    await sign(`${upstream.host}/${REPO}:v1`, coll.signers.get('alice')!, 'alice', client);
    await app.close();
    const urls: Record<'direct' | Tree, string> = { direct: upstream.url, base: '', head: '' };
    for (const t of ['base', 'head'] as const) {
      const own = join(dir, `data-${t}`);
      cpSync(dataDir, own, { recursive: true });
      const { spawnProxy } = await load<typeof import('../test/helpers/proxy.js')>(t, 'test/helpers/proxy.ts');
      const p = await spawnProxy({ OCITRUST_PROXY_UPSTREAM: upstream.url, OCITRUST_DATA_DIR: own, OCITRUST_REQUEST_LOGGING: 'false' });
      procs.push(p);
      urls[t] = p.url;
    }
    const get = async (base: string): Promise<number> => {
      const t0 = performance.now();
      const r = await fetch(`${base}/v2/${REPO}/manifests/v1`, { headers: { accept: img.manifest.mediaType } });
      await r.arrayBuffer();
      if (r.status !== 200) throw new Error(`${base}: ${r.status}`);
      return performance.now() - t0;
    };
    const names = ['direct', 'base', 'head'] as const;
    for (let i = 0; i < 30; i++) for (const n of names) await get(urls[n]);
    const t: Record<(typeof names)[number], number[]> = { direct: [], base: [], head: [] };
    for (let i = 0; i < ROUNDS; i++) for (const n of shuffled(names)) t[n].push(await get(urls[n]));
    const added = (tree: Tree) => t[tree].map((x, i) => x - t.direct[i]!);
    return [
      [
        `proxy, manifest GET by tag (warm verdict cache; ${ROUNDS} triples)`,
        `${fmtMs(median(t.base))}, added ${fmtMs(median(added('base')))}`,
        `${fmtMs(median(t.head))}, added ${fmtMs(median(added('head')))}`,
        `${fmtRatio(median(pairedRatios(t.head, t.base)))} (proxy / direct: base ${fmtRatio(median(pairedRatios(t.base, t.direct)))}, now ${fmtRatio(median(pairedRatios(t.head, t.direct)))})`,
      ],
    ];
  } finally {
    for (const p of procs) await p.stop().catch(() => undefined);
    await upstream.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

log(`base ${BASE}, head ${HEAD}`);
const rows: string[][] = [];
try {
  if (ONLY.has('verify')) {
    log('in-process warm verify');
    rows.push(...(await warmVerify()));
  }
  if (ONLY.has('admission')) {
    log('admission warm');
    rows.push(...(await admissionWarm()));
  }
  if (ONLY.has('proxy')) {
    log('proxy');
    rows.push(...(await proxyAdded()));
  }
} finally {
  if (made) execFileSync('git', ['worktree', 'remove', '--force', made], { stdio: 'ignore' });
}
process.stdout.write(
  [
    `Before (base: the commit before the proxy moved onto the gate) and after (this commit), measured in one process, interleaved. ${environmentLine()}`,
    '',
    `Reproduce: \`node --import tsx bench/gate-compare.bench.ts --rounds ${ROUNDS}\` (base: a temporary worktree of ${BASE_COMMIT}; or \`--base DIR\` for another checkout with node_modules). Load average at the start: ${LOAD_AT_START.map((x) => x.toFixed(1)).join(', ')} on ${cpus().length} cores.`,
    '',
    markdownTable(['measure', 'before (base)', 'after (this tree)', 'after / before'], rows),
    '',
  ].join('\n'),
);
