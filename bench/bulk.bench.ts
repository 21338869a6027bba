// Bulk (issue 8 item 6): sign and verify many images with one `trust` command each, with
// concurrency, against a `trust server` process with its embedded registry (referrers API) and
// against Debian's docker-registry (tag fallback); images per second, whole process included.
//
//   npm run build && node --import tsx bench/bulk.bench.ts [--images 1000] [--runs 3] [--concurrency 16]
import { startDistribution, type Distribution } from '../test/helpers/distribution.js';
import { buildStaleness, cliMissing, initCollection, pushTaggedImages, startOcitrust, type OcitrustService, type TrustCli } from './helpers/ocitrust.js';
import { fmtMs, markdownTable, median, numberOption } from './helpers/stats.js';
import { environmentLine } from './harness.js';

const IMAGES = numberOption('images', 'BENCH_IMAGES', 1000);
const RUNS = numberOption('runs', 'BENCH_RUNS', 3);
const CONCURRENCY = numberOption('concurrency', 'BENCH_CONCURRENCY', 16);
const log = (s: string): void => void process.stderr.write(`bulk: ${s}\n`);

interface Row {
  readonly registry: string;
  readonly sign: number[];
  readonly verify: number[];
}

async function measure(oc: OcitrustService, name: string, host: string, owner: TrustCli): Promise<Row> {
  const sign: number[] = [];
  const verify: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    // A fresh repository per run: every image is signed for the first time.
    const repo = `${host}/bench/bulk${run}`;
    await initCollection(owner, repo);
    const tags = Array.from({ length: IMAGES }, (_, i) => `t${i}`);
    await pushTaggedImages(oc.registry, repo, tags, 16);
    const refs = tags.map((t) => `${repo}:${t}`);
    const s = await owner.run(['sign', '-q', '--concurrency', String(CONCURRENCY), ...refs]);
    const v = await owner.run(['verify', '-q', '-o', 'json', '--concurrency', String(CONCURRENCY), ...refs]);
    const results = (JSON.parse(v.stdout) as { results: { verified: boolean }[] }).results;
    if (results.length !== IMAGES || !results.every((r) => r.verified)) throw new Error(`${name}: ${results.filter((r) => !r.verified).length} of ${IMAGES} did not verify`);
    sign.push(s.ms);
    verify.push(v.ms);
    log(`${name} run ${run + 1}: sign ${fmtMs(s.ms)}, verify ${fmtMs(v.ms)}`);
  }
  return { registry: name, sign, verify };
}

async function main(): Promise<void> {
  const lines = [`Reproduce: \`npm run build && node --import tsx bench/bulk.bench.ts --images ${IMAGES} --runs ${RUNS} --concurrency ${CONCURRENCY}\` (${environmentLine()}).`, ''];
  const why = cliMissing();
  if (why) {
    lines.push(`**pending CLI:** ${why}.`);
    process.stdout.write(lines.join('\n') + '\n');
    return;
  }
  const stale = buildStaleness();
  if (stale) lines.push(`**Warning:** ${stale}.`, '');
  const rows: Row[] = [];
  let oc: OcitrustService | undefined;
  let dist: Distribution | undefined;
  let distWhy: string | undefined;
  try {
    oc = await startOcitrust();
    const owner = oc.cli('bulk');
    rows.push(await measure(oc, 'ocitrust embedded registry (referrers API)', oc.host, owner));
    try {
      dist = await startDistribution();
    } catch (e) {
      distWhy = (e as Error).message;
      if (process.env.CI === 'true') throw e;
    }
    if (dist) rows.push(await measure(oc, 'docker-registry 2.8.2 (tag fallback)', dist.host, owner));
  } finally {
    await dist?.stop();
    await oc?.stop();
  }
  const rate = (ms: number): string => `${Math.round((IMAGES / ms) * 1000).toLocaleString('en-US')}/s`;
  lines.push(
    markdownTable(
      ['registry', `\`trust sign\` ${IMAGES.toLocaleString('en-US')} images`, 'images signed per second', `\`trust verify\` ${IMAGES.toLocaleString('en-US')} images`, 'images verified per second'],
      rows.map((r) => {
        const s = median(r.sign);
        const v = median(r.verify);
        return [r.registry, `${fmtMs(s)} (${fmtMs(Math.min(...r.sign))}–${fmtMs(Math.max(...r.sign))})`, rate(s), `${fmtMs(v)} (${fmtMs(Math.min(...r.verify))}–${fmtMs(Math.max(...r.verify))})`, rate(v)];
      }),
    ),
  );
  if (distWhy) lines.push('', `docker-registry not measured: ${distWhy}.`);
  lines.push(
    '',
    `One \`trust\` process per command, ${IMAGES.toLocaleString('en-US')} references on its command line, ${CONCURRENCY} images in flight (\`--concurrency ${CONCURRENCY}\`); medians of ${RUNS} runs (min–max), each on a fresh repository, process start-up and TUF refresh included. ` +
      'The signing key is decrypted once per command (scrypt), the collection\'s trust metadata refreshed once; every image then costs its own manifest read, one signature push (config, envelope layer, manifest; on the fallback registry also the fallback index read-modify-write and the per-signature tag) and, to verify, the manifest and referrers reads. A progress bar is drawn on stderr when it is a terminal.',
  );
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`bulk: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
