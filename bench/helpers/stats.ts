// Statistics and markdown output for the whole-process and latency benchmarks (issue 8): medians
// with min–max, p99, pairwise ratios, and tables. bench/harness.ts measures ops/s of in-process
// loops; this file works on lists of latencies in milliseconds.

/** Summary of a list of samples (milliseconds unless said otherwise). */
export interface Summary {
  readonly n: number;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly p99: number;
  readonly mean: number;
}

function sorted(xs: readonly number[]): number[] {
  return [...xs].sort((a, b) => a - b);
}

/**
 * Median of the samples (mean of the two middle ones for an even count).
 * @throws RangeError when `xs` is empty: a benchmark that measured nothing is a bug.
 */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('median of no samples');
  const s = sorted(xs);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Nearest-rank percentile `p` (0–100) of the samples.
 * @throws RangeError when `xs` is empty or `p` is outside 0–100.
 */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) throw new RangeError('percentile of no samples');
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile expects 0–100, got ${p}`);
  const s = sorted(xs);
  const rank = Math.max(1, Math.ceil((p / 100) * s.length));
  return s[rank - 1]!;
}

/**
 * Median, min, max, p99 and mean of the samples.
 * @throws RangeError when `xs` is empty.
 */
export function summarize(xs: readonly number[]): Summary {
  if (xs.length === 0) throw new RangeError('summary of no samples');
  const s = sorted(xs);
  return {
    n: s.length,
    median: median(s),
    min: s[0]!,
    max: s[s.length - 1]!,
    p99: percentile(s, 99),
    mean: s.reduce((a, b) => a + b, 0) / s.length,
  };
}

/**
 * Ratios `a[i] / b[i]` of samples taken pair by pair in one run (each pair measured back to
 * back, so drift of a noisy machine hits both sides alike); the median of these is the figure
 * to report, not the ratio of two medians.
 * @throws RangeError when the lists differ in length or are empty.
 */
export function pairedRatios(a: readonly number[], b: readonly number[]): number[] {
  if (a.length !== b.length || a.length === 0) throw new RangeError(`paired ratios need two equal non-empty lists, got ${a.length} and ${b.length}`);
  return a.map((x, i) => x / b[i]!);
}

/** Milliseconds with a precision that suits their size: `0.042 ms`, `3.1 ms`, `96 ms`, `4,856 ms`. */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return 'n/a';
  if (ms < 1) return `${ms.toFixed(3)} ms`;
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  return `${Math.round(ms).toLocaleString('en-US')} ms`;
}

/** `median (min–max)` of a summary in milliseconds. */
export function fmtSummary(s: Summary): string {
  return `${fmtMs(s.median)} (${fmtRange(s.min, s.max)})`;
}

/** `min–max` in ms with the precision of {@link fmtMs}, the unit written once. */
export function fmtRange(min: number, max: number): string {
  return `${fmtMs(min).replace(/ ms$/, '')}–${fmtMs(max)}`;
}

/** A ratio like `3.2×` (`n/a` when not finite). */
export function fmtRatio(r: number): string {
  if (!Number.isFinite(r)) return 'n/a';
  return r >= 10 ? `${Math.round(r)}×` : `${r.toFixed(2)}×`;
}

/** Bytes as `512 B`, `12.3 KiB`, `4.56 MiB`. */
export function fmtBytes(n: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

/** Alignment of a markdown table column. */
export type Align = 'left' | 'right';

/**
 * A markdown table. Cells are written as given except that `|` is escaped; columns are right
 * aligned unless `align` says otherwise (the first column defaults to left).
 */
export function markdownTable(headers: readonly string[], rows: readonly (readonly string[])[], align?: readonly Align[]): string {
  const esc = (c: string): string => c.replace(/\|/g, '\\|');
  const al = headers.map((_, i) => align?.[i] ?? (i === 0 ? 'left' : 'right'));
  return [
    `| ${headers.map(esc).join(' | ')} |`,
    `| ${al.map((a) => (a === 'right' ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((r) => `| ${headers.map((_, i) => esc(r[i] ?? '')).join(' | ')} |`),
  ].join('\n');
}

/** Reads `--name N` (a positive number) from argv, else the environment variable, else `dflt`. */
export function numberOption(name: string, env: string, dflt: number, argv: readonly string[] = process.argv.slice(2)): number {
  const i = argv.indexOf(`--${name}`);
  const raw = i >= 0 ? argv[i + 1] : process.env[env];
  if (raw === undefined) return dflt;
  const v = Number(raw);
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`--${name} (or ${env}) expects a positive number, got ${raw}`);
  return v;
}

/** Reads `--name a,b,c` (positive integers) from argv, else the environment variable, else `dflt`. */
export function listOption(name: string, env: string, dflt: readonly number[], argv: readonly string[] = process.argv.slice(2)): number[] {
  const i = argv.indexOf(`--${name}`);
  const raw = i >= 0 ? argv[i + 1] : process.env[env];
  if (raw === undefined) return [...dflt];
  const vs = raw.split(',').map((x) => Number(x.trim()));
  if (vs.length === 0 || vs.some((v) => !Number.isInteger(v) || v <= 0)) throw new RangeError(`--${name} (or ${env}) expects positive integers separated by commas, got ${raw}`);
  return vs;
}
