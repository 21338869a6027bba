/**
 * How fresh the trust data of the long-running faces is (admission webhooks, proxy and pull
 * gate), DESIGN §3 Freeze: a service keeps its last good trust data of a collection when a
 * refresh fails for an environment reason, until that data expires, and says so — as
 * Prometheus series and as a readiness condition (docs/failure-modes.md):
 *
 * - `ocitrust_trust_data_age_seconds{face,server,collection}`: seconds since the last
 *   successful refresh;
 * - `ocitrust_trust_data_expires_in_seconds{…}`: seconds until the earliest expiry of the
 *   trusted metadata (negative once expired);
 * - `ocitrust_trust_data_stale{…}`: 1 while the last refresh attempt failed;
 * - `ocitrust_trust_refresh_failures_total{face,code}`.
 *
 * `/readyz` answers `degraded` (200) while some data is stale but unexpired, and 503
 * (`SERVER_NOT_READY`) once some data in use has expired: verifications against it are then
 * denied anyway, and an operator must know.
 */
import { systemClock, type Clock } from '../lib/clock.js';
import { Counter } from './metrics.js';

/** A face that keeps trust data. */
export type TrustFace = 'hook' | 'proxy';

interface Entry {
  readonly face: TrustFace;
  readonly server: string;
  readonly collection: string;
  refreshedAt: number;
  expiresAt: number;
  stale: boolean;
  lastError?: string;
  /** Last refresh attempt (ms): entries idle for {@link IDLE_MS} no longer count. */
  touched: number;
}

/** Readiness as trust data sees it. */
export interface TrustReadiness {
  readonly status: 'ready' | 'degraded' | 'expired';
  /** One line per stale or expired collection. */
  readonly problems: readonly string[];
}

/** Most tracked series (collections × faces); the oldest is dropped beyond it. */
const MAX_ENTRIES = 10_000;
/**
 * A collection nobody asked about for an hour (a rule removed from the policy) is forgotten,
 * so its old expiry cannot keep the server "not ready" forever. Collections in use are
 * refreshed at least every minute by the faces.
 */
export const IDLE_MS = 60 * 60 * 1000;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** Freshness of the trust data every long-running face of one server uses. */
export class TrustFreshness {
  readonly #entries = new Map<string, Entry>();
  readonly #clock: Clock;
  readonly failures = new Counter('ocitrust_trust_refresh_failures_total', 'Failed trust data refreshes by face and error code (the last good data stays in use until it expires).', ['face', 'code']);

  constructor(clock: Clock = systemClock) {
    this.#clock = clock;
  }

  #key(face: TrustFace, server: string, collection: string): string {
    return JSON.stringify([face, server, collection]);
  }

  /** A refresh succeeded: trust data obtained at `refreshedAt`, valid until `expiresAt`. */
  succeeded(face: TrustFace, server: string, collection: string, refreshedAt: Date, expiresAt: Date): void {
    const k = this.#key(face, server, collection);
    if (!this.#entries.has(k) && this.#entries.size >= MAX_ENTRIES) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(k, { face, server, collection, refreshedAt: refreshedAt.getTime(), expiresAt: expiresAt.getTime(), stale: false, touched: this.#clock.now().getTime() });
  }

  /** A refresh failed: the last good data (if any) is now stale. */
  failed(face: TrustFace, server: string, collection: string, code: string): void {
    this.failures.inc({ face, code });
    const e = this.#entries.get(this.#key(face, server, collection));
    if (e) {
      e.stale = true;
      e.lastError = code;
      e.touched = this.#clock.now().getTime();
    }
  }

  /** Forgets every entry of a face (its trust state was cleared). */
  forget(face: TrustFace): void {
    for (const [k, e] of this.#entries) if (e.face === face) this.#entries.delete(k);
  }

  /** The entries in use (idle ones are dropped). */
  #live(now: number): Entry[] {
    for (const [k, e] of this.#entries) if (now - e.touched > IDLE_MS) this.#entries.delete(k);
    return [...this.#entries.values()];
  }

  /** Readiness: `expired` beats `degraded` beats `ready`. */
  readiness(): TrustReadiness {
    const now = this.#clock.now().getTime();
    const problems: string[] = [];
    let status: TrustReadiness['status'] = 'ready';
    for (const e of this.#live(now)) {
      const where = `${e.face} trust data of ${e.collection} from ${e.server}`;
      if (now >= e.expiresAt) {
        status = 'expired';
        problems.push(`${where} expired ${Math.round((now - e.expiresAt) / 1000)} s ago`);
      } else if (e.stale) {
        if (status === 'ready') status = 'degraded';
        problems.push(`${where} is ${Math.round((now - e.refreshedAt) / 1000)} s old: refresh failing (${e.lastError ?? 'error'})`);
      }
    }
    return { status, problems };
  }

  /** Prometheus text exposition (ServerMetrics renders it with the rest). */
  render(out: string[]): void {
    const now = this.#clock.now().getTime();
    const live = this.#live(now);
    const series = (name: string, help: string, value: (e: Entry) => number): void => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
      for (const e of live) {
        out.push(`${name}{face="${e.face}",server="${escapeLabel(e.server)}",collection="${escapeLabel(e.collection)}"} ${value(e)}`);
      }
    };
    series('ocitrust_trust_data_age_seconds', 'Seconds since the trust data of a collection was last refreshed successfully.', (e) => Math.max(0, Math.round((now - e.refreshedAt) / 1000)));
    series('ocitrust_trust_data_expires_in_seconds', 'Seconds until the trusted metadata of a collection expires (negative: expired, verifications are denied).', (e) => Math.round((e.expiresAt - now) / 1000));
    series('ocitrust_trust_data_stale', '1 while the last refresh of a collection\'s trust data failed and the last good data is in use.', (e) => (e.stale ? 1 : 0));
    this.failures.render(out);
  }
}
