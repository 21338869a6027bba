// The floor (issue 8 item 3): how many HTTP requests a verification makes, and how close the
// library's warm verify comes to simply making those requests. The floor is measured by
// replaying exactly the requests the verification made (same URLs, same headers, bodies read in
// full) with the same fetch and connection pool, one after another: the time the registry and
// the loopback need, with no client work at all.
//
//   npm run build && node --import tsx bench/floor.bench.ts [--iterations 200]
//
// Goals: ≤ 2 requests for a tag reference, ≤ 1 for a digest reference, warm verify ≤ 1.5× the
// floor. "Warm" means trust metadata already refreshed and held in memory, as a long-running
// verifier (server, admission hook, registry plugin) holds it between TUF refreshes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDistribution, type Distribution } from '../test/helpers/distribution.js';
import { cliMissing, buildStaleness, initCollection, loadHomeSigner, pushTaggedImages, startOcitrust, type OcitrustService } from './helpers/ocitrust.js';
import { recordingFetch, type RecordedRequest } from './helpers/recording-fetch.js';
import { nodeFetch } from '../lib/http/fetch.js';
import { fmtMs, fmtRatio, markdownTable, median, numberOption, pairedRatios, summarize } from './helpers/stats.js';
import { environmentLine } from './harness.js';
import { HttpRegistryClient } from '../lib/oci/client.js';
import { anonymous } from '../lib/oci/credentials.js';
import { openCollection } from '../lib/usecases/trust.js';
import { verifyReference } from '../lib/usecases/verify.js';
import { signImage } from '../lib/usecases/sign.js';

const ITERATIONS = numberOption('iterations', 'BENCH_ITERATIONS', 200);
const log = (s: string): void => void process.stderr.write(`floor: ${s}\n`);

interface Row {
  readonly registry: string;
  readonly reference: string;
  readonly requests: readonly RecordedRequest[];
  readonly verify: number[];
  readonly floor: number[];
  readonly goalRequests: number;
}

/** Replays recorded requests one after another, bodies read in full; returns the elapsed ms. */
async function replay(rs: readonly RecordedRequest[]): Promise<number> {
  const start = process.hrtime.bigint();
  for (const r of rs) {
    const res = await nodeFetch(r.url, { method: r.method, headers: r.headers });
    await res.arrayBuffer();
  }
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function measureRegistry(oc: OcitrustService, name: string, host: string): Promise<Row[]> {
  const repo = `${host}/bench/floor`;
  const owner = oc.cli('floor');
  await initCollection(owner, repo);
  const pushed = await pushTaggedImages(oc.registry, repo, ['v1']);
  const signer = await loadHomeSigner(owner, 'alice');
  await signImage({ reference: `${repo}:v1`, registry: oc.registry, signer, role: 'alice' });
  const home = owner.ocitrustHome();
  const trust = (await openCollection({ home, collection: repo, server: oc.url })).refresh.trusted;
  const digest = pushed.get('v1')!.digest;
  const refs = [
    { reference: `${repo}:v1`, label: 'by tag', goal: 2 },
    { reference: `${repo}@${digest}`, label: 'by digest', goal: 1 },
  ];
  const rows: Row[] = [];
  for (const ref of refs) {
    // repairIndex off: a verifier with read-only access never writes (and the floor must not either).
    const rec = recordingFetch();
    const counted = new HttpRegistryClient({ credentials: anonymous, fetch: rec.fetch });
    // Warm, like the timed runs: the client already knows whether the registry has the referrers API.
    await verifyReference({ reference: ref.reference, registry: counted, trust, repairIndex: false });
    rec.reset();
    const check = await verifyReference({ reference: ref.reference, registry: counted, trust, repairIndex: false });
    if (!check.verified) throw new Error(`${ref.reference} did not verify: ${JSON.stringify(check.failures)}`);
    const requests = [...rec.log];
    const client = new HttpRegistryClient({ credentials: anonymous });
    const verifyOnce = async (): Promise<number> => {
      const start = process.hrtime.bigint();
      const r = await verifyReference({ reference: ref.reference, registry: client, trust, repairIndex: false });
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (!r.verified) throw new Error(`${ref.reference} stopped verifying`);
      return ms;
    };
    for (let i = 0; i < 20; i++) {
      await verifyOnce();
      await replay(requests);
    }
    const verify: number[] = [];
    const floor: number[] = [];
    for (let i = 0; i < ITERATIONS; i++) {
      verify.push(await verifyOnce());
      floor.push(await replay(requests));
    }
    log(`${name} ${ref.label}: ${requests.length} requests, verify ${fmtMs(median(verify))}, floor ${fmtMs(median(floor))}`);
    rows.push({ registry: name, reference: ref.label, requests, verify, floor, goalRequests: ref.goal });
  }
  return rows;
}

function describe(rs: readonly RecordedRequest[], host: string): string {
  return rs.map((r) => `${r.method} ${r.url.replace(`http://${host}`, '').replace(/sha256:[0-9a-f]{64}/g, 'sha256:…').replace(/sha256-[0-9a-f]{64}/g, 'sha256-…')} → ${r.status}`).join('<br>');
}

async function main(): Promise<void> {
  const lines: string[] = [];
  lines.push(`Reproduce: \`npm run build && node --import tsx bench/floor.bench.ts --iterations ${ITERATIONS}\` (${environmentLine()}).`, '');
  const why = cliMissing();
  if (why) {
    lines.push(`**pending CLI:** ${why}; the floor needs the trust server and a signed image.`);
    process.stdout.write(lines.join('\n') + '\n');
    return;
  }
  const stale = buildStaleness();
  if (stale) lines.push(`**Warning:** ${stale}.`, '');
  const work = mkdtempSync(join(tmpdir(), 'ocitrust-bench-floor-'));
  let oc: OcitrustService | undefined;
  let dist: Distribution | undefined;
  const rows: Row[] = [];
  const hosts = new Map<string, string>();
  let distWhy: string | undefined;
  try {
    oc = await startOcitrust();
    hosts.set('ocitrust embedded registry (referrers API)', oc.host);
    rows.push(...(await measureRegistry(oc, 'ocitrust embedded registry (referrers API)', oc.host)));
    try {
      dist = await startDistribution();
    } catch (e) {
      distWhy = (e as Error).message;
      if (process.env.CI === 'true') throw e;
    }
    if (dist) {
      hosts.set('docker-registry 2.8.2 (tag fallback)', dist.host);
      rows.push(...(await measureRegistry(oc, 'docker-registry 2.8.2 (tag fallback)', dist.host)));
    }
  } finally {
    await dist?.stop();
    await oc?.stop();
    rmSync(work, { recursive: true, force: true });
  }
  lines.push(
    'Warm verify (library, trust metadata held in memory, default policy) of one signed image against the same number of bare GETs: the requests a warm verification made (the client already knows whether the registry has the referrers API), replayed with the same HTTP stack (lib/http/fetch.ts) and connection pool, bodies read. Both from this process, interleaved, ' +
      `${ITERATIONS} times each; the ratio is the median of the per-iteration ratios. The trust server's TUF refresh (1 request for an unchanged timestamp, see compare) is not part of a warm verification.`,
    '',
  );
  lines.push(markdownTable(
    ['registry', 'reference', 'requests (goal)', 'warm verify (p99)', 'bare-GET floor (p99)', 'verify / floor (goal ≤ 1.5×)'],
    rows.map((r) => {
      const v = summarize(r.verify);
      const f = summarize(r.floor);
      return [
        r.registry,
        r.reference,
        `${r.requests.length} (≤ ${r.goalRequests})${r.requests.length > r.goalRequests ? ' ✗' : ''}`,
        `${fmtMs(v.median)} (${fmtMs(v.p99)})`,
        `${fmtMs(f.median)} (${fmtMs(f.p99)})`,
        fmtRatio(median(pairedRatios(r.verify, r.floor))),
      ];
    }),
  ));
  if (distWhy) lines.push('', `docker-registry not measured: ${distWhy}.`);
  lines.push('', 'The requests:', '');
  lines.push(markdownTable(['registry', 'reference', 'requests'], rows.map((r) => [r.registry, r.reference, describe(r.requests, hosts.get(r.registry) ?? '')]), ['left', 'left', 'left']));
  process.stdout.write(lines.join('\n') + '\n');
}

await main();
