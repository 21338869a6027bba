// A small benchmark harness: interleaved timed rounds, median ops/s, a markdown table with ratios
// to a baseline row. Each *.bench.ts file exports its cases so rows from several files can go
// into one run (e.g. Ed25519 verify next to statement verify, issue 2's benchmark).
import { cpus } from 'node:os';

/** One row of a benchmark. */
export interface BenchCase {
  /** Row label in the table. */
  readonly name: string;
  /** One operation (or `opsPerCall` operations). The result is kept so the work is not optimized away. */
  readonly fn: () => unknown;
  /** Operations one call of `fn` performs (default 1). */
  readonly opsPerCall?: number;
  /** Runs before each timed round of this case (e.g. toggling a fast path); not timed. */
  readonly setup?: () => void;
  /** Runs after each timed round of this case; not timed. */
  readonly teardown?: () => void;
}

/** Options of {@link runBench}. */
export interface BenchOptions {
  /** Timed rounds per case (default 5); cases are interleaved round by round to spread drift. */
  readonly rounds?: number;
  /** Length of one timed round in ms (default 1000). */
  readonly roundMs?: number;
  /** Untimed warm-up per case in ms (default 300). */
  readonly warmupMs?: number;
  /** Progress output (default: none). */
  readonly log?: (line: string) => void;
}

/** Result of one case. */
export interface BenchResult {
  readonly name: string;
  /** Median ops/s over the rounds. */
  readonly median: number;
  /** ops/s of each round. */
  readonly rounds: readonly number[];
}

let sink: unknown;

function timed(c: BenchCase, ms: number): number {
  c.setup?.();
  try {
    const per = c.opsPerCall ?? 1;
    let ops = 0;
    const start = process.hrtime.bigint();
    const limit = start + BigInt(Math.round(ms * 1e6));
    let now = start;
    // Check the clock every few calls so that timing overhead stays negligible for fast cases.
    while (now < limit) {
      for (let i = 0; i < 8; i++) sink = c.fn();
      ops += 8 * per;
      now = process.hrtime.bigint();
    }
    return ops / (Number(now - start) / 1e9);
  } finally {
    c.teardown?.();
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Runs every case for `rounds` interleaved rounds and returns the median ops/s of each. */
export function runBench(cases: readonly BenchCase[], opts: BenchOptions = {}): BenchResult[] {
  const rounds = opts.rounds ?? 5;
  const roundMs = opts.roundMs ?? 1000;
  for (const c of cases) timed(c, opts.warmupMs ?? 300);
  const per = cases.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    cases.forEach((c, i) => per[i]!.push(timed(c, roundMs)));
    opts.log?.(`round ${r + 1}/${rounds} done`);
  }
  void sink;
  return cases.map((c, i) => ({ name: c.name, median: median(per[i]!), rounds: per[i]! }));
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** A markdown table of results, with each row's median as a ratio of the `baseline` row's. */
export function markdownTable(results: readonly BenchResult[], baseline: string): string {
  const base = results.find((r) => r.name === baseline)?.median;
  const lines = [
    `| case | ops/s (median) | vs ${baseline} | rounds (min–max ops/s) |`,
    '| --- | ---: | ---: | ---: |',
    ...results.map((r) => {
      const ratio = base ? `${((r.median / base) * 100).toFixed(1)} %` : 'n/a';
      return `| ${r.name} | ${fmt(r.median)} | ${ratio} | ${fmt(Math.min(...r.rounds))}–${fmt(Math.max(...r.rounds))} |`;
    }),
  ];
  return lines.join('\n');
}

/** One line naming the machine and runtime, for the header of a results section. */
export function environmentLine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `Node ${process.version}, OpenSSL ${process.versions.openssl}, ${cpus().length} × ${cpu.trim()}, ${process.platform}/${process.arch}`;
}

/** Reads `--rounds N` and `--ms N` from argv (defaults 5 rounds of 1000 ms). */
export function optionsFromArgv(argv: readonly string[] = process.argv.slice(2)): BenchOptions {
  const get = (flag: string, dflt: number): number => {
    const i = argv.indexOf(flag);
    const v = i >= 0 ? Number(argv[i + 1]) : dflt;
    if (!Number.isFinite(v) || v <= 0) throw new RangeError(`${flag} needs a positive number`);
    return v;
  };
  return { rounds: get('--rounds', 5), roundMs: get('--ms', 1000) };
}
