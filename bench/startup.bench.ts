// CLI start-up (issue 8 item 5): wall time of whole processes that do (almost) nothing, side
// by side in one run — a bare `node empty.js` (the floor of any Node CLI on this machine),
// `notary version` (a Go binary), and the shipped `trust` (package.json "bin": the esbuild bundle
// of scripts/build-cli.mjs, which loads only the invoked command's chunks): `--version` (no
// command at all), `--help` (every command registered), `verify --help` and `sign --help` (the
// command and its libraries, no network). For scale, the plain tsc output `dist/cli/main.js`
// (lazy loading but no bundle) prints the version too.
//
//   npm run build && node --import tsx bench/startup.bench.ts [--runs 20]
import { notaryMissing } from './notary/harness.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DIST_MAIN, PROJECT_ROOT, buildStaleness, cliMissing } from './helpers/ocitrust.js';
import { emptyJs, timeOk } from './helpers/process.js';
import { fmtRatio, fmtSummary, markdownTable, median, numberOption, pairedRatios, summarize } from './helpers/stats.js';
import { environmentLine } from './harness.js';

const RUNS = numberOption('runs', 'BENCH_RUNS', 20);
/** The unbundled entry point tsc writes (what `trust` ran before the bundle). */
const TSC_MAIN = join(PROJECT_ROOT, 'dist', 'cli', 'main.js');

interface Case {
  readonly name: string;
  readonly cmd: string;
  readonly args: readonly string[];
  /** Why it cannot run here. */
  readonly missing?: string;
  /** Checks the output, so a failing command is never timed as a fast one. */
  readonly expect?: RegExp;
}

async function main(): Promise<void> {
  const notaryWhy = notaryMissing();
  const cliWhy = cliMissing();
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1' };
  const cases: Case[] = [
    { name: '`node empty.js`', cmd: process.execPath, args: [emptyJs()] },
    { name: '`notary version`', cmd: 'notary', args: ['version'], expect: /notary/i, ...(notaryWhy ? { missing: notaryWhy } : {}) },
    { name: '`trust --version`', cmd: process.execPath, args: [DIST_MAIN, '--version'], expect: /^\d+\.\d+\.\d+/, ...(cliWhy ? { missing: cliWhy } : {}) },
    { name: '`trust --help`', cmd: process.execPath, args: [DIST_MAIN, '--help'], expect: /Usage: trust/, ...(cliWhy ? { missing: cliWhy } : {}) },
    { name: '`trust verify --help`', cmd: process.execPath, args: [DIST_MAIN, 'verify', '--help'], expect: /Usage: trust verify/, ...(cliWhy ? { missing: cliWhy } : {}) },
    { name: '`trust sign --help`', cmd: process.execPath, args: [DIST_MAIN, 'sign', '--help'], expect: /Usage: trust sign/, ...(cliWhy ? { missing: cliWhy } : {}) },
    {
      name: '`node dist/cli/main.js --version` (tsc output, not bundled)',
      cmd: process.execPath,
      args: [TSC_MAIN, '--version'],
      expect: /^\d+\.\d+\.\d+/,
      ...(existsSync(TSC_MAIN) ? {} : { missing: `${TSC_MAIN} is missing (run \`npm run build\`)` }),
    },
  ];
  const runnable = cases.filter((c) => !c.missing);
  const samples = new Map<string, number[]>(runnable.map((c) => [c.name, []]));
  // Warm the page cache once, then interleave the cases run by run.
  for (const c of runnable) await timeOk(c.cmd, c.args, { env });
  for (let r = 0; r < RUNS; r++) {
    for (const c of runnable) {
      const t = await timeOk(c.cmd, c.args, { env });
      if (c.expect && !c.expect.test(t.stdout)) throw new Error(`${c.name} printed ${JSON.stringify(t.stdout.slice(0, 200))}`);
      samples.get(c.name)!.push(t.ms);
    }
  }
  const floor = samples.get(cases[0]!.name)!;
  const lines = [
    `Reproduce: \`npm run build && node --import tsx bench/startup.bench.ts --runs ${RUNS}\` (${environmentLine()}).`,
    '',
  ];
  const stale = buildStaleness();
  if (stale) lines.push(`**Warning:** ${stale}.`, '');
  lines.push(markdownTable(
    ['command', `wall time, median (min–max) of ${RUNS}`, 'vs `node empty.js`'],
    cases.map((c) => {
      const xs = samples.get(c.name);
      if (!xs) return [c.name, c.missing!.startsWith('pending CLI') ? 'pending CLI' : `not measured: ${c.missing}`, 'n/a'];
      return [c.name, fmtSummary(summarize(xs)), fmtRatio(median(pairedRatios(xs, floor)))];
    }),
  ));
  lines.push(
    '',
    `\`trust\` is the shipped bin, \`${DIST_MAIN.slice(PROJECT_ROOT.length)}\`: one minified ESM entry with a chunk per command (scripts/build-cli.mjs); \`--version\` loads no command and no parser, \`verify --help\` only the verify command and its libraries. ` +
      'Each run starts every command once, in turn; the ratio is the median of the per-run ratios. `trust verify` and `notary lookup` as whole processes (with the network) are in the compare section.',
  );
  process.stdout.write(lines.join('\n') + '\n');
}

await main();
