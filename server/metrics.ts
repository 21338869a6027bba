/**
 * A small Prometheus registry (text exposition format 0.0.4), written by hand because the
 * server needs only counters, gauges and histograms and no dependency should sit on the hot
 * path of every request.
 */
import type { Clock } from '../lib/clock.js';
import { TrustFreshness } from './trust-freshness.js';

type Labels = Readonly<Record<string, string>>;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

const keyCache = new Map<string, string>();

/** The rendered label set (`a="x",b="y"`), memoized: the same few label sets recur on every request. */
function labelKey(names: readonly string[], labels: Labels): string {
  let raw = '';
  for (const n of names) raw += n + '\0' + (labels[n] ?? '') + '\0';
  let k = keyCache.get(raw);
  if (k === undefined) {
    k = names.map((n) => `${n}="${escapeLabel(labels[n] ?? '')}"`).join(',');
    if (keyCache.size > 10_000) keyCache.clear();
    keyCache.set(raw, k);
  }
  return k;
}

interface Metric {
  render(out: string[]): void;
}

/** A monotonically increasing counter with fixed label names. */
export class Counter implements Metric {
  readonly #values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string, readonly labelNames: readonly string[] = []) {}

  /** Adds `by` (default 1) to the series named by `labels`. */
  inc(labels: Labels = {}, by = 1): void {
    const k = labelKey(this.labelNames, labels);
    this.#values.set(k, (this.#values.get(k) ?? 0) + by);
  }

  /** Current value of one series (tests). */
  get(labels: Labels = {}): number {
    return this.#values.get(labelKey(this.labelNames, labels)) ?? 0;
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`);
    for (const [k, v] of this.#values) out.push(`${this.name}${k ? `{${k}}` : ''} ${v}`);
  }
}

/** A gauge whose value is read when metrics are scraped. */
export class Gauge implements Metric {
  constructor(readonly name: string, readonly help: string, readonly read: () => number) {}
  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`, `${this.name} ${this.read()}`);
  }
}

/** A cumulative histogram with fixed buckets (upper bounds in seconds). */
export class Histogram implements Metric {
  readonly #series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly buckets: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  ) {}

  observe(labels: Labels, value: number): void {
    const k = labelKey(this.labelNames, labels);
    let s = this.#series.get(k);
    if (!s) {
      s = { counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.#series.set(k, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    for (const [k, s] of this.#series) {
      const pre = k ? `${k},` : '';
      this.buckets.forEach((b, i) => out.push(`${this.name}_bucket{${pre}le="${b}"} ${s.counts[i]}`));
      out.push(`${this.name}_bucket{${pre}le="+Inf"} ${s.count}`);
      out.push(`${this.name}_sum${k ? `{${k}}` : ''} ${s.sum}`);
      out.push(`${this.name}_count${k ? `{${k}}` : ''} ${s.count}`);
    }
  }
}

/** Outcome of one verification, as counted by {@link ServerMetrics.verifyOutcome}. */
export type VerifyOutcome = 'verified' | 'failed' | 'error';

/**
 * The server's metrics. One instance per app (`app.metrics`); other modules mounted on the same
 * server (embedded registry pull enforcement, admission hook) count their verifications through
 * {@link ServerMetrics.verifyOutcome}.
 */
export class ServerMetrics {
  readonly requests = new Counter('ocitrust_http_requests_total', 'HTTP requests by method, route and status.', ['method', 'route', 'status']);
  readonly latency = new Histogram('ocitrust_http_request_duration_seconds', 'HTTP request latency by method, route and status.', ['method', 'route', 'status']);
  readonly publishes = new Counter('ocitrust_publishes_total', 'Metadata publish attempts by outcome (ok, rejected, conflict, denied) and error code.', ['outcome', 'code']);
  readonly verifications = new Counter('ocitrust_verify_outcomes_total', 'Image verifications by source (registry, hook, api) and outcome (verified, failed, error).', ['source', 'outcome']);
  readonly resigns = new Counter('ocitrust_resigns_total', 'Server re-signings of timestamp or snapshot metadata before expiry.', ['role']);
  readonly auditWrites = new Counter('ocitrust_audit_entries_total', 'Audit log entries written by outcome.', ['outcome']);
  /** Freshness of the trust data the webhooks and the proxy keep (series and readiness). */
  readonly trustFreshness: TrustFreshness;
  readonly #extra: Metric[] = [];
  readonly #started = Date.now();

  constructor(clock?: Clock) {
    this.trustFreshness = new TrustFreshness(clock);
    this.#extra.push(new Gauge('ocitrust_uptime_seconds', 'Seconds since this server instance started.', () => Math.round((Date.now() - this.#started) / 1000)));
  }

  /** Counts one request. */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const l = { method, route, status: String(status) };
    this.requests.inc(l);
    this.latency.observe(l, seconds);
  }

  /** Counts one verification outcome (API for the registry plugin and the hook). */
  verifyOutcome(source: string, outcome: VerifyOutcome): void {
    this.verifications.inc({ source, outcome });
  }

  /** Registers another metric to be rendered (counters made by other modules). */
  register(metric: Counter | Gauge | Histogram): void {
    this.#extra.push(metric);
  }

  /** The text exposition of every metric. */
  render(): string {
    const out: string[] = [];
    for (const m of [this.requests, this.latency, this.publishes, this.verifications, this.resigns, this.auditWrites, this.trustFreshness, ...this.#extra]) m.render(out);
    return out.join('\n') + '\n';
  }
}
