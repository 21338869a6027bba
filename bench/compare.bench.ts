// ocitrust against Notary v1, side by side in one run (issue 8 items 1, 2 and 4):
//   1. sign one more tag in a repository that already has N signed tags;
//   2. verify one tag at the same N, cold and warm, as whole processes and in-process;
//   4. growth: verify time against tags, delegated signers and signatures on one image;
// plus the HTTP requests and bytes each side moves.
//
//   npm run build && node --import tsx bench/compare.bench.ts [--sizes 1,100,1000] [--runs 7] [--iterations 100]
//   (BENCH_SIZES, BENCH_RUNS, BENCH_ITERATIONS; BENCH_BIG=1 adds N = 10,000)
//
// Notary: Debian's notary 0.7 — notary-server + notary-signer on loopback, mutual TLS, memory
// storage (bench/notary/harness.ts); the client is `notary add` + `notary publish` and
// `notary lookup`. ocitrust: `node dist/cli/bundle/trust.js` (the package bin) (`trust sign`, `trust verify`) against a
// `trust server` process with its embedded registry, and lib/usecases in-process. Each run
// measures every case back to back, so ratios are taken pair by pair within one run.
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { notaryMissing, startNotary, populate, manifestFor, type NotaryService, type NotaryClient } from './notary/harness.js';
import {
  BENCH_PASSPHRASE,
  DIST_MAIN,
  PROJECT_ROOT,
  buildStaleness,
  cliMissing,
  initCollection,
  loadHomeSigner,
  pushTaggedImages,
  signInProcess,
  startOcitrust,
  type OcitrustService,
  type TrustCli,
} from './helpers/ocitrust.js';
import { timeBareNode, timeOk } from './helpers/process.js';
import { recordingFetch, requestTotals, type RecordedRequest } from './helpers/recording-fetch.js';
import { fmtBytes, fmtMs, fmtRatio, fmtSummary, listOption, markdownTable, median, numberOption, pairedRatios, summarize } from './helpers/stats.js';
import { environmentLine } from './harness.js';
import { HttpRegistryClient } from '../lib/oci/client.js';
import { anonymous } from '../lib/oci/credentials.js';
import { OcitrustHome } from '../lib/usecases/home.js';
import { openCollection } from '../lib/usecases/trust.js';
import { verifyReference } from '../lib/usecases/verify.js';
import { publishTargetsChange, type AdminContext } from '../lib/usecases/admin.js';
import { signImage } from '../lib/usecases/sign.js';
import { TrustServerClient } from '../lib/trust-client.js';
import { SeedSigner } from '../lib/keys/signer.js';
import { randomSecretSeed } from '../lib/crypto/ed25519.js';
import type { TrustedTargets } from '../lib/verify/trust.js';

const SIZES = [...listOption('sizes', 'BENCH_SIZES', [1, 100, 1000]), ...(process.env.BENCH_BIG === '1' ? [10_000] : [])];
const RUNS = numberOption('runs', 'BENCH_RUNS', 7);
const ITERATIONS = numberOption('iterations', 'BENCH_ITERATIONS', 100);
const GROWTH = listOption('growth', 'BENCH_GROWTH', [1, 10, 100]);
const PENDING = 'pending CLI';
const NA = 'n/a';
const log = (s: string): void => void process.stderr.write(`compare: ${s}\n`);

/** Samples of one N. */
interface SizeResult {
  readonly n: number;
  readonly node: number[];
  readonly notarySign: number[];
  readonly trustSign: number[];
  readonly notaryLookupCold: number[];
  readonly notaryLookupWarm: number[];
  /** Warm trust dir, but the first lookup after a publish: Notary refetches snapshot and targets.json. */
  readonly notaryLookupChanged: number[];
  readonly trustVerifyCold: number[];
  readonly trustVerifyWarm: number[];
  readonly libCold: number[];
  readonly libWarmRefresh: number[];
  readonly libWarm: number[];
  /** targets.json after the last publish (what every Notary publish uploads and every cold lookup downloads). */
  notaryTargetsBytes?: number;
  readonly traffic: Traffic[];
}

/** Requests and bytes of one operation (a counting pass, untimed). */
interface Traffic {
  readonly what: string;
  readonly requests: number;
  readonly sent: number;
  readonly received: number;
}

// ---------------------------------------------------------------- Notary side

interface NotarySide {
  readonly gun: string;
  readonly owner: NotaryClient;
  readonly warm: NotaryClient;
  readonly cold: NotaryClient;
  readonly files: string;
  readonly expected: string;
}

async function notarySetup(notary: NotaryService, n: number): Promise<NotarySide> {
  const gun = `registry.example.com/bench/n${n}`;
  const owner = await populate(notary, gun, n);
  const files = mkdtempSync(join(notary.dir, `files-${n}-`));
  const warm = notary.client('warm');
  const expected = lookupLine('tag-0');
  const first = await warm.lookup(gun, 'tag-0');
  if (first.stdout.trim() !== expected) throw new Error(`notary lookup printed ${first.stdout.trim()}, expected ${expected}`);
  return { gun, owner, warm, cold: notary.client('cold'), files, expected };
}

/** What `notary lookup GUN TAG` prints for a tag made by {@link manifestFor}. */
function lookupLine(tag: string): string {
  const m = manifestFor(tag);
  return `${tag} sha256:${createHash('sha256').update(m).digest('hex')} ${m.length}`;
}

async function notarySign(side: NotarySide, tag: string): Promise<number> {
  const file = join(side.files, tag);
  writeFileSync(file, manifestFor(tag));
  const add = await side.owner.add(side.gun, tag, file);
  const publish = await side.owner.publish(side.gun);
  return add.ms + publish.ms;
}

async function notaryLookup(side: NotarySide, client: NotaryClient): Promise<number> {
  const r = await client.lookup(side.gun, 'tag-0');
  if (r.stdout.trim() !== side.expected) throw new Error(`notary lookup printed ${r.stdout.trim()}`);
  return r.ms;
}

async function notaryTraffic(notary: NotaryService, side: NotarySide, n: number): Promise<Traffic[]> {
  const out: Traffic[] = [];
  const since = async (what: string, f: () => Promise<unknown>, sent = 0): Promise<void> => {
    await notary.settle();
    const mark = notary.requests().length;
    await f();
    await notary.settle();
    const rs = notary.requests().slice(mark);
    out.push({ what, requests: rs.length, sent, received: rs.reduce((a, r) => a + r.written, 0) });
  };
  const tag = `count-${n}`;
  const file = join(side.files, tag);
  writeFileSync(file, manifestFor(tag));
  let sent = 0;
  await since('Notary add + publish', async () => {
    await side.owner.add(side.gun, tag, file);
    await side.owner.publish(side.gun);
    // The publish uploads the new targets.json (the server signs snapshot and timestamp).
    sent = side.owner.metadataSize(side.gun);
  });
  out[out.length - 1] = { ...out[out.length - 1]!, sent };
  await since('Notary lookup, cold', async () => {
    side.cold.forget();
    await notaryLookup(side, side.cold);
  });
  await since('Notary lookup, warm, first after a publish', () => notaryLookup(side, side.warm));
  await since('Notary lookup, warm, unchanged', () => notaryLookup(side, side.warm));
  return out;
}

// ---------------------------------------------------------------- ocitrust side

interface OcitrustSide {
  readonly repo: string;
  readonly owner: TrustCli;
  readonly warm: TrustCli;
  readonly cold: TrustCli;
  readonly registry: HttpRegistryClient;
  readonly digest0: string;
  /** Trusted targets kept in memory (a long-running verifier between TUF refreshes). */
  trusted: TrustedTargets;
  readonly libHome: OcitrustHome;
}

async function ocitrustSetup(oc: OcitrustService, n: number, work: string, extraTags: readonly string[]): Promise<OcitrustSide> {
  const repo = `${oc.host}/bench/n${n}`;
  const owner = oc.cli('owner');
  await initCollection(owner, repo);
  const tags = Array.from({ length: n }, (_, i) => `tag-${i}`);
  const pushed = await pushTaggedImages(oc.registry, repo, [...tags, ...extraTags]);
  const t0 = Date.now();
  await signInProcess(oc.registry, repo, tags, await loadHomeSigner(owner, 'alice'), 'alice');
  log(`N=${n}: ${n} ocitrust signatures in ${Date.now() - t0} ms`);
  const warm = oc.cli('warm');
  await warm.run(['verify', `${repo}:tag-0`]);
  const libHome = new OcitrustHome(mkdtempSync(join(work, 'lib-home-')));
  const t = await openCollection({ home: libHome, collection: repo, server: oc.url });
  return {
    repo,
    owner,
    warm,
    cold: oc.cli('cold'),
    registry: new HttpRegistryClient({ credentials: anonymous, userAgent: 'ocitrust-bench' }),
    digest0: pushed.get('tag-0')!.digest,
    trusted: t.refresh.trusted,
    libHome,
  };
}

async function trustVerify(side: OcitrustSide, cli: TrustCli): Promise<number> {
  const r = await cli.run(['verify', '-o', 'json', `${side.repo}:tag-0`]);
  const doc = JSON.parse(r.stdout) as { results: { verified: boolean; digest: string }[] };
  if (!doc.results[0]?.verified || doc.results[0].digest !== side.digest0) throw new Error(`trust verify did not verify: ${r.stdout}`);
  return r.ms;
}

async function libVerify(side: OcitrustSide, oc: OcitrustService, mode: 'cold' | 'refresh' | 'warm', work: string): Promise<number> {
  let home = side.libHome;
  if (mode === 'cold') home = new OcitrustHome(mkdtempSync(join(work, 'lib-cold-')));
  const start = process.hrtime.bigint();
  const trust = mode === 'warm' ? side.trusted : (await openCollection({ home, collection: side.repo, server: oc.url })).refresh.trusted;
  const r = await verifyReference({ reference: `${side.repo}:tag-0`, registry: side.registry, trust });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (!r.verified || r.digest !== side.digest0) throw new Error(`library verify failed: ${JSON.stringify(r.failures)}`);
  if (mode === 'cold') rmSync(home.dir, { recursive: true, force: true });
  return ms;
}

/** Runs `trust args…` with the recording fetch preloaded; returns the requests it made. */
async function countedTrust(cli: TrustCli, args: readonly string[]): Promise<RecordedRequest[]> {
  const file = join(mkdtempSync(join(tmpdir(), 'ocitrust-bench-count-')), 'log.json');
  await timeOk(process.execPath, ['--import', 'tsx', '--import', join(PROJECT_ROOT, 'bench', 'helpers', 'count-fetch-preload.ts'), DIST_MAIN, ...args], {
    env: { ...cli.env, OCITRUST_BENCH_FETCH_LOG: file },
    cwd: PROJECT_ROOT,
  });
  const log = JSON.parse(readFileSync(file, 'utf8')) as RecordedRequest[];
  rmSync(join(file, '..'), { recursive: true, force: true });
  return log;
}

async function ocitrustTraffic(oc: OcitrustService, side: OcitrustSide, n: number, work: string): Promise<Traffic[]> {
  const t = (what: string, rs: readonly RecordedRequest[]): Traffic => ({ what, ...requestTotals(rs) });
  const out: Traffic[] = [];
  out.push(t('trust sign', await countedTrust(side.owner, ['sign', `${side.repo}:count-${n}`])));
  side.cold.forget();
  out.push(t('trust verify, cold', await countedTrust(side.cold, ['verify', `${side.repo}:tag-0`])));
  out.push(t('trust verify, warm', await countedTrust(side.warm, ['verify', `${side.repo}:tag-0`])));
  const rec = recordingFetch();
  const registry = new HttpRegistryClient({ credentials: anonymous, fetch: rec.fetch });
  const home = new OcitrustHome(mkdtempSync(join(work, 'lib-count-')));
  const cold = (await openCollection({ home, collection: side.repo, server: oc.url, fetch: rec.fetch })).refresh.trusted;
  await verifyReference({ reference: `${side.repo}:tag-0`, registry, trust: cold });
  out.push(t('library verify, cold (TOFU + TUF refresh)', rec.log));
  rec.reset();
  const refreshed = (await openCollection({ home, collection: side.repo, server: oc.url, fetch: rec.fetch })).refresh.trusted;
  await verifyReference({ reference: `${side.repo}:tag-0`, registry, trust: refreshed });
  out.push(t('library verify, warm + TUF refresh', rec.log));
  rec.reset();
  await verifyReference({ reference: `${side.repo}:tag-0`, registry, trust: side.trusted });
  out.push(t('library verify, warm (trust cached)', rec.log));
  return out;
}

// ---------------------------------------------------------------- growth with signers and signatures

interface GrowthRow {
  readonly count: number;
  readonly delegations: number[];
  readonly signatures: number[];
  readonly sigRequests: number;
}

/**
 * Verify time (in-process, trust cached) of one image while the collection delegates 1 → max
 * signers of which one signed (`delegations`), and while 1 → max delegated signers all signed
 * the image (`signatures`).
 */
async function growth(oc: OcitrustService, work: string, counts: readonly number[]): Promise<GrowthRow[]> {
  const owner = oc.cli('growth');
  const admin: AdminContext = {
    home: owner.ocitrustHome(),
    keys: owner.ocitrustHome().keyStore(),
    server: new TrustServerClient(oc.url, { token: oc.token }),
    token: oc.token,
    passphrase: async () => BENCH_PASSPHRASE,
  };
  const registry = new HttpRegistryClient({ credentials: anonymous });
  const setups: { repo: string; signers: SeedSigner[] }[] = [];
  for (const kind of ['delegations', 'signatures']) {
    const repo = `${oc.host}/bench/growth-${kind}`;
    await initCollection(owner, repo);
    await pushTaggedImages(oc.registry, repo, ['v1']);
    setups.push({ repo, signers: [] });
  }
  const [del, sig] = setups as [{ repo: string; signers: SeedSigner[] }, { repo: string; signers: SeedSigner[] }];
  await signInProcess(oc.registry, del.repo, ['v1'], await loadHomeSigner(owner, 'alice'), 'alice');
  const rows: GrowthRow[] = [];
  for (const count of counts) {
    for (const s of [del, sig]) {
      // alice counts as the first signer; add the rest as s-1, s-2, … in one publish.
      const want = count - 1;
      const add = Array.from({ length: Math.max(0, want - s.signers.length) }, () => new SeedSigner(randomSecretSeed()));
      const first = s.signers.length;
      s.signers.push(...add);
      if (add.length > 0) {
        await publishTargetsChange(admin, s.repo, (t) =>
          add.reduce((acc, k, i) => acc.withDelegation({ name: `s-${first + i + 1}`, keys: [k.publicKey], threshold: 1, paths: [`${s.repo}:*`, `${s.repo}@*`], terminating: false }), t),
        );
      }
      if (s === sig) {
        if (first === 0) await signInProcess(oc.registry, s.repo, ['v1'], await loadHomeSigner(owner, 'alice'), 'alice');
        for (let i = 0; i < add.length; i++) await signImage({ reference: `${s.repo}:v1`, registry: oc.registry, signer: add[i]!, role: `s-${first + i + 1}` });
      }
    }
    const trustDel = (await openCollection({ home: admin.home, collection: del.repo, server: oc.url })).refresh.trusted;
    const trustSig = (await openCollection({ home: admin.home, collection: sig.repo, server: oc.url })).refresh.trusted;
    const time = async (repo: string, trust: TrustedTargets, expectSigs: number): Promise<number> => {
      const start = process.hrtime.bigint();
      const r = await verifyReference({ reference: `${repo}:v1`, registry, trust });
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (!r.verified || r.signatures.length !== expectSigs) throw new Error(`growth verify of ${repo}: verified ${r.verified}, ${r.signatures.length} signatures, expected ${expectSigs}: ${JSON.stringify(r.failures.slice(0, 3))}`);
      return ms;
    };
    const d: number[] = [];
    const g: number[] = [];
    for (let i = 0; i < 5; i++) {
      await time(del.repo, trustDel, 1);
      await time(sig.repo, trustSig, count);
    }
    for (let i = 0; i < ITERATIONS; i++) {
      d.push(await time(del.repo, trustDel, 1));
      g.push(await time(sig.repo, trustSig, count));
    }
    const rec = recordingFetch();
    await verifyReference({ reference: `${sig.repo}:v1`, registry: new HttpRegistryClient({ credentials: anonymous, fetch: rec.fetch }), trust: trustSig });
    rows.push({ count, delegations: d, signatures: g, sigRequests: rec.log.length });
    log(`growth ${count}: delegations ${fmtMs(median(d))}, signatures ${fmtMs(median(g))}`);
  }
  return rows;
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const notaryWhy = notaryMissing();
  const cliWhy = cliMissing();
  const stale = buildStaleness();
  if (stale) log(`warning: ${stale}`);
  const work = mkdtempSync(join(tmpdir(), 'ocitrust-bench-compare-'));
  let notary: NotaryService | undefined;
  let oc: OcitrustService | undefined;
  const results: SizeResult[] = [];
  let growthRows: GrowthRow[] | undefined;
  try {
    notary = notaryWhy ? undefined : await startNotary();
    oc = cliWhy ? undefined : await startOcitrust();
    const newTags = Array.from({ length: RUNS }, (_, r) => `new-${r}`);
    for (const n of SIZES) {
      log(`N=${n}: building repositories`);
      const ns = notary ? await notarySetup(notary, n) : undefined;
      const os = oc ? await ocitrustSetup(oc, n, work, [...newTags, `count-${n}`]) : undefined;
      const res: SizeResult = {
        n, node: [], notarySign: [], trustSign: [], notaryLookupCold: [], notaryLookupWarm: [], notaryLookupChanged: [], trustVerifyCold: [], trustVerifyWarm: [],
        libCold: [], libWarmRefresh: [], libWarm: [], traffic: [],
      };
      for (let r = 0; r < RUNS; r++) {
        res.node.push((await timeBareNode()).ms);
        if (ns) res.notarySign.push(await notarySign(ns, `new-${r}`));
        if (os) res.trustSign.push((await os.owner.run(['sign', `${os.repo}:new-${r}`])).ms);
        if (ns) {
          ns.cold.forget();
          res.notaryLookupCold.push(await notaryLookup(ns, ns.cold));
          // The publish above changed targets.json: the warm client's first lookup refetches it.
          res.notaryLookupChanged.push(await notaryLookup(ns, ns.warm));
          res.notaryLookupWarm.push(await notaryLookup(ns, ns.warm));
        }
        if (os) {
          os.cold.forget();
          res.trustVerifyCold.push(await trustVerify(os, os.cold));
          res.trustVerifyWarm.push(await trustVerify(os, os.warm));
          res.libCold.push(await libVerify(os, oc!, 'cold', work));
        }
        log(`N=${n}: run ${r + 1}/${RUNS}`);
      }
      if (ns) res.notaryTargetsBytes = ns.owner.metadataSize(ns.gun);
      if (os) {
        for (let i = 0; i < 50; i++) await libVerify(os, oc!, 'warm', work);
        for (let i = 0; i < ITERATIONS; i++) {
          res.libWarmRefresh.push(await libVerify(os, oc!, 'refresh', work));
          res.libWarm.push(await libVerify(os, oc!, 'warm', work));
        }
      }
      if (notary && ns) res.traffic.push(...(await notaryTraffic(notary, ns, n)));
      if (oc && os) res.traffic.push(...(await ocitrustTraffic(oc, os, n, work)));
      results.push(res);
    }
    if (oc) {
      log('growth with signers and signatures');
      growthRows = await growth(oc, work, GROWTH);
    }
  } finally {
    await notary?.stop();
    await oc?.stop();
    rmSync(work, { recursive: true, force: true });
  }
  process.stdout.write(report(results, growthRows, notaryWhy, cliWhy, stale) + '\n');
}

// ---------------------------------------------------------------- report

const cell = (xs: readonly number[], missing: string): string => (xs.length ? fmtSummary(summarize(xs)) : missing);
const ratioCell = (a: readonly number[], b: readonly number[], missing: string): string => (a.length && b.length ? fmtRatio(median(pairedRatios(a, b))) : missing);

function report(results: readonly SizeResult[], growthRows: readonly GrowthRow[] | undefined, notaryWhy: string | undefined, cliWhy: string | undefined, stale: string | undefined): string {
  const nm = notaryWhy ? 'Notary missing' : NA;
  const om = cliWhy ? PENDING : NA;
  const lines: string[] = [];
  lines.push(`Reproduce: \`npm run build && node --import tsx bench/compare.bench.ts --sizes ${SIZES.join(',')} --runs ${RUNS} --iterations ${ITERATIONS}\` (${environmentLine()}).`);
  lines.push('');
  lines.push('Notary v1: Debian `notary` 0.7 — notary-server in front of notary-signer (mutual TLS, gRPC), both with memory storage, HTTPS from the client, all on loopback; whole `notary` processes with a trust dir each. ocitrust: `node dist/cli/bundle/trust.js` (the package bin, bundled) against a `trust server` process on loopback (SQLite, embedded registry with the referrers API); "library" rows call lib/usecases in the benchmark process. Whole-process figures are medians of the runs with min–max; ratios are the median of per-run ratios.');
  if (notaryWhy) lines.push('', `**Notary columns missing:** ${notaryWhy}.`);
  if (cliWhy) lines.push('', `**ocitrust columns pending:** ${cliWhy}.`);
  if (stale) lines.push('', `**Warning:** ${stale}.`);

  lines.push('', '### 1. Sign one more tag in a repository with N signed tags', '');
  lines.push(markdownTable(
    ['N', '`node empty.js`', 'Notary `add` + `publish`', '`trust sign`', 'trust / Notary', 'trust / bare node', 'Notary targets.json'],
    results.map((r) => [
      r.n.toLocaleString('en-US'),
      cell(r.node, NA),
      cell(r.notarySign, nm),
      cell(r.trustSign, om),
      ratioCell(r.trustSign, r.notarySign, r.trustSign.length ? nm : om),
      ratioCell(r.trustSign, r.node, om),
      r.notaryTargetsBytes !== undefined ? fmtBytes(r.notaryTargetsBytes) : nm,
    ]),
  ));
  lines.push('', 'Notary re-signs and uploads the whole targets.json (every tag of the repository) on every publish; an ocitrust signature is one DSSE envelope pushed as a referrer of the manifest, whatever N is.');

  lines.push('', '### 2. Verify one tag at N tags', '');
  lines.push(markdownTable(
    ['N', 'Notary `lookup` cold', '`trust verify` cold', 'Notary `lookup` warm, after a publish', 'Notary `lookup` warm', '`trust verify` warm', 'trust / Notary (warm)'],
    results.map((r) => [
      r.n.toLocaleString('en-US'),
      cell(r.notaryLookupCold, nm),
      cell(r.trustVerifyCold, om),
      cell(r.notaryLookupChanged, nm),
      cell(r.notaryLookupWarm, nm),
      cell(r.trustVerifyWarm, om),
      ratioCell(r.trustVerifyWarm, r.notaryLookupWarm, r.trustVerifyWarm.length ? nm : om),
    ]),
  ));
  lines.push('', 'Cold: empty trust dir / home (the root is trusted on first use on both sides). Warm: the same trust dir / home as the previous run. Every run signs one more tag first; with Notary that changes targets.json, so the first warm lookup after it downloads the whole file again ("after a publish"), the next one finds nothing new. An ocitrust signature does not change the trust metadata, so its warm verify is the same in both cases.', '');
  lines.push('In-process (library, as the server, the admission hook and the registry plugin verify):', '');
  lines.push(markdownTable(
    ['N', 'library cold (TOFU + TUF)', 'library warm + TUF refresh', 'library warm, trust cached (p99)', 'Notary `lookup` warm / library warm'],
    results.map((r) => [
      r.n.toLocaleString('en-US'),
      cell(r.libCold, om),
      cell(r.libWarmRefresh, om),
      r.libWarm.length ? `${fmtSummary(summarize(r.libWarm))} (p99 ${fmtMs(summarize(r.libWarm).p99)})` : om,
      r.libWarm.length && r.notaryLookupWarm.length ? fmtRatio(median(r.notaryLookupWarm) / median(r.libWarm)) : r.libWarm.length ? nm : om,
    ]),
  ));
  lines.push('', `Library warm figures are over ${ITERATIONS} verifications each (interleaved); the last column is a ratio of medians (the two are not measured in pairs).`);

  lines.push('', '### Requests and bytes per operation', '');
  const traffic = results.flatMap((r) => r.traffic.map((t) => [r.n.toLocaleString('en-US'), t.what, String(t.requests), fmtBytes(t.sent), fmtBytes(t.received)]));
  lines.push(traffic.length ? markdownTable(['N', 'operation', 'HTTP requests', 'bytes sent', 'bytes received'], traffic) : '_no measurements_');
  lines.push('', 'Notary: counted from notary-server\'s request log (response bytes; sent = the targets.json a publish uploads). ocitrust: counted by a recording fetch (in-process, or preloaded into the `trust` process), request and response bodies; both to the trust server and to the registry.');

  lines.push('', '### 4. Growth', '');
  const warmRows = results.filter((r) => r.libWarm.length || r.notaryLookupWarm.length);
  lines.push('With the number of tags in the repository (verify one tag):', '');
  lines.push(markdownTable(
    ['tags', 'Notary `lookup` warm, after a publish', 'Notary `lookup` warm', '`trust verify` warm', 'library warm (trust cached)', 'Notary cold bytes received'],
    warmRows.map((r) => [
      r.n.toLocaleString('en-US'),
      cell(r.notaryLookupChanged, nm),
      cell(r.notaryLookupWarm, nm),
      cell(r.trustVerifyWarm, om),
      cell(r.libWarm, om),
      ((t) => (t ? fmtBytes(t.received) : nm))(r.traffic.find((t) => t.what === 'Notary lookup, cold')),
    ]),
  ));
  lines.push('');
  if (growthRows) {
    lines.push(`With delegated signers and with signatures on one image (library, trust cached, ${ITERATIONS} verifications each):`, '');
    lines.push(markdownTable(
      ['count', 'signers delegated (1 signed)', 'signers delegated, all signed', 'requests (all signed)'],
      growthRows.map((g) => [String(g.count), fmtSummary(summarize(g.delegations)), fmtSummary(summarize(g.signatures)), String(g.sigRequests)]),
    ));
    lines.push('', 'Every signature is checked (Ed25519 over its DSSE PAE) and matched against the delegations, so time with signatures on one image grows linearly; the referrers response carries each envelope in an annotation, so the request count stays flat.');
  } else {
    lines.push(`Signers and signatures: ${om}.`);
  }
  return lines.join('\n');
}

await main();
