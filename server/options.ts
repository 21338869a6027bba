import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import type { OcitrustServerContext } from './types.js';
import { assertArg } from '../lib/errors/index.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { limits as mergeLimits, type Limits } from '../lib/config.js';
import type { Db } from './storage/types.js';
import type { RegistryOptions } from './registry/options.js';
import { DEFAULT_AUDIT_RETENTION_DAYS } from './audit.js';
import type { AdmissionServerOptions } from './admission.js';
import type { WebhookOptions } from './webhooks/options.js';

/** Options of {@link buildApp} (everything but the listener). */
export interface AppOptions {
  /** An open database; when absent one is opened from `database` or `<dataDir>/ocitrust.db` and closed with the app. */
  readonly db?: Db;
  /** `postgres://…` URL or SQLite file path. */
  readonly database?: string;
  /** Data directory: SQLite file, registry blobs, generated server secret (default: `./ocitrust-data`). */
  readonly dataDir?: string;
  /** Secret sealing the server keys (else OCITRUST_SERVER_SECRET, else a generated file in dataDir). */
  readonly secret?: string;
  readonly clock?: Clock;
  /** fastify/pino logger options; false (default for buildApp) logs nothing. */
  readonly logger?: FastifyServerOptions['logger'];
  /** Log one line per request (default true when logging). */
  readonly requestLogging?: boolean;
  /** Reads without a token (default true). */
  readonly anonymousRead?: boolean;
  /** Only these addresses / CIDR ranges may connect (default: everyone). */
  readonly allowIps?: readonly string[];
  /** fastify trustProxy, for the client address behind a proxy (default false). */
  readonly trustProxy?: FastifyServerOptions['trustProxy'];
  /** Mount the embedded OCI registry at /v2/ (default true; blobs under `<dataDir>/registry`). */
  readonly registry?: boolean;
  /** Registry settings: pull enforcement (`beforeManifestGet`), limits, whether DELETE is allowed. */
  readonly registryOptions?: Omit<RegistryOptions, 'dataDir' | 'db' | 'authorize'>;
  /** Lifetime of server-signed snapshots (default 7 days). */
  readonly snapshotExpirySeconds?: number;
  /** Lifetime of server-signed timestamps (default 1 day). */
  readonly timestampExpirySeconds?: number;
  /** How often due timestamps/snapshots are re-signed (default 60 s; 0 disables the timer). */
  readonly resignIntervalMs?: number;
  /** How long a collection head is served from memory (default 1000 ms). */
  readonly cacheTtlMs?: number;
  /** Audit entries are kept this many days (default 90). */
  readonly auditRetentionDays?: number;
  /** How often old audit entries are pruned (default 1 h; 0 disables). */
  readonly auditPruneIntervalMs?: number;
  /** `Cache-Control: max-age` of timestamp.json (default 10 s, never past its expiry). */
  readonly timestampMaxAgeSeconds?: number;
  readonly limits?: Partial<Limits>;
  /** scrypt cost for the key vault (tests lower it). */
  readonly scrypt?: { N: number; r: number; p: number };
  /**
   * More routes registered after the built-in ones, each given the server context (metrics,
   * authz, audit): e.g. the admission webhooks of hook/routes.ts. Routes with `config: {open: true}`
   * skip token authentication (they authenticate callers themselves); the IP allowlist still
   * applies to them, as to every route but the health probes (`config: {probe: true}`).
   */
  readonly plugins?: readonly ServerPlugin[];
  /**
   * Serve the Kubernetes admission webhooks `POST /admission/validate` and `/admission/mutate`
   * (server/admission.ts) with this policy (a Policy or a policy file path) and settings.
   */
  readonly admission?: AdmissionServerOptions;
  /** Webhook delivery settings (server/webhooks/options.ts): SSRF allowance, concurrency, timeouts, retry window. */
  readonly webhooks?: WebhookOptions;
}

/** An extra plugin mounted by {@link AppOptions.plugins}. */
export type ServerPlugin = (app: FastifyInstance, ctx: OcitrustServerContext) => Promise<void>;

/** {@link AppOptions} with every default applied. */
export interface ResolvedAppOptions {
  readonly db: Db | undefined;
  readonly database: string | undefined;
  readonly dataDir: string;
  readonly secret: string | undefined;
  readonly clock: Clock;
  readonly logger: FastifyServerOptions['logger'];
  readonly requestLogging: boolean;
  readonly anonymousRead: boolean;
  readonly allowIps: readonly string[] | undefined;
  readonly trustProxy: FastifyServerOptions['trustProxy'];
  readonly registry: boolean;
  readonly registryOptions: Omit<RegistryOptions, 'dataDir' | 'db' | 'authorize'> | undefined;
  readonly snapshotExpirySeconds: number;
  readonly timestampExpirySeconds: number;
  readonly resignIntervalMs: number;
  readonly cacheTtlMs: number;
  readonly auditRetentionDays: number;
  readonly auditPruneIntervalMs: number;
  readonly timestampMaxAgeSeconds: number;
  readonly limits: Limits;
  readonly scrypt: { N: number; r: number; p: number } | undefined;
  readonly plugins: readonly ServerPlugin[];
  readonly admission: AdmissionServerOptions | undefined;
}

const DAY = 86_400;

function posInt(v: number | undefined, name: string, dflt: number, min = 1): number {
  if (v === undefined) return dflt;
  assertArg(Number.isSafeInteger(v) && v >= min, name, `an integer ≥ ${min}`, v);
  return v;
}

/**
 * Applies defaults and checks option values once, at the door.
 * @throws OcitrustError INVALID_ARGUMENT
 */
export function resolveAppOptions(o: AppOptions): ResolvedAppOptions {
  const timestampExpirySeconds = posInt(o.timestampExpirySeconds, 'timestampExpirySeconds', DAY, 60);
  return {
    db: o.db,
    database: o.database,
    dataDir: o.dataDir ?? 'ocitrust-data',
    secret: o.secret,
    clock: o.clock ?? systemClock,
    logger: o.logger ?? false,
    requestLogging: o.requestLogging ?? true,
    anonymousRead: o.anonymousRead ?? true,
    allowIps: o.allowIps,
    trustProxy: o.trustProxy ?? false,
    registry: o.registry ?? true,
    registryOptions: o.registryOptions,
    snapshotExpirySeconds: posInt(o.snapshotExpirySeconds, 'snapshotExpirySeconds', 7 * DAY, 60),
    timestampExpirySeconds,
    resignIntervalMs: posInt(o.resignIntervalMs, 'resignIntervalMs', 60_000, 0),
    cacheTtlMs: posInt(o.cacheTtlMs, 'cacheTtlMs', 1000, 0),
    auditRetentionDays: posInt(o.auditRetentionDays, 'auditRetentionDays', DEFAULT_AUDIT_RETENTION_DAYS, 1),
    auditPruneIntervalMs: posInt(o.auditPruneIntervalMs, 'auditPruneIntervalMs', 3_600_000, 0),
    timestampMaxAgeSeconds: posInt(o.timestampMaxAgeSeconds, 'timestampMaxAgeSeconds', 10, 0),
    limits: mergeLimits(o.limits),
    scrypt: o.scrypt,
    plugins: o.plugins ?? [],
    admission: o.admission,
  };
}
