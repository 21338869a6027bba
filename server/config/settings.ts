/**
 * The trust server's settings: ONE table that says, for each setting, its command-line flag,
 * its environment variable, its type, its default and what it does. `trust server` builds its
 * options from it, the environment reader (server/config/load.ts) parses by it, and
 * docs/cli.md's server tables are generated from it (scripts/gen-server-docs.ts) — so a
 * setting cannot exist in one entry point and be silently ignored by another (issue 12 item 8:
 * `trust server` once ignored OCITRUST_ALLOW_IPS and the TLS variables).
 *
 * This module is data only (no I/O, no server imports): the CLI loads it to register flags.
 */

/** How a setting's text (a flag value or an environment variable) is parsed. */
export type SettingType =
  /** Free text. */
  | 'string'
  /** A file or folder path, resolved against the working directory. */
  | 'path'
  /** `postgres://…` URL, or an SQLite file path (resolved against the working directory). */
  | 'database'
  /** A TCP port, 0-65535 (0: any free port). */
  | 'port'
  /** A whole number within the setting's `min`/`max`. */
  | 'int'
  /** true/false (also 1/0, yes/no, on/off); anything else is an error, never "on". */
  | 'bool'
  /** Comma-separated IP addresses and CIDR ranges. */
  | 'ips'
  /** An http(s) URL of a registry. */
  | 'url'
  /** One of `choices`. */
  | 'enum'
  /**
   * A credential: the environment variable holds the value, the flag names a file holding it
   * (never the value itself on the command line, where `ps` shows it).
   */
  | 'secret';

/** Groups, in the order the docs list them. */
export type SettingGroup = 'listener' | 'access' | 'storage' | 'trust data' | 'logging' | 'registry proxy' | 'admission webhooks' | 'event webhooks';

/** One row of {@link SETTINGS}. */
export interface SettingSpec {
  /** Field of {@link ServerSettings}. */
  readonly key: keyof ServerSettings;
  /** The long flag (`--port`); a bool also gets `--no-…`. */
  readonly flag: string;
  /** The value placeholder in help (`<n>`); none for a bool. */
  readonly arg?: string;
  /** Older spellings of the flag still accepted (hidden from help). */
  readonly aliases?: readonly string[];
  readonly env: string;
  readonly type: SettingType;
  readonly min?: number;
  readonly max?: number;
  readonly choices?: readonly string[];
  /** The default value; absent: unset (off). */
  readonly default?: string | number | boolean;
  /** The default as the docs say it (when it is not just the value, or is computed). */
  readonly defaultText?: string;
  readonly group: SettingGroup;
  readonly description: string;
}

/** Every setting with its value after flag > environment > default (see load.ts). */
export interface ServerSettings {
  readonly host: string;
  readonly port: number;
  readonly tlsCert: string | undefined;
  readonly tlsKey: string | undefined;
  readonly clientCa: string | undefined;
  readonly allowIps: readonly string[] | undefined;
  readonly trustProxy: readonly string[] | undefined;
  readonly anonymousRead: boolean;
  readonly dataDir: string;
  readonly database: string | undefined;
  readonly secret: string | undefined;
  readonly bootstrapToken: boolean;
  readonly bootstrapTokenDays: number;
  readonly registry: boolean;
  readonly registryDelete: boolean;
  readonly registryMaxBlobBytes: number;
  readonly registryName?: string;
  readonly snapshotExpirySeconds: number;
  readonly timestampExpirySeconds: number;
  readonly timestampMaxAgeSeconds: number;
  readonly resignIntervalMs: number;
  readonly cacheTtlMs: number;
  readonly auditRetentionDays: number;
  readonly auditPruneIntervalMs: number;
  readonly shutdownTimeoutMs: number;
  readonly logLevel: string;
  readonly requestLogging: boolean;
  readonly proxyUpstream: string | undefined;
  readonly proxyRegistryName: string | undefined;
  readonly proxyPolicy: string | undefined;
  readonly proxyUpstreamAuthorization: string | undefined;
  readonly proxyUpstreamTimeoutMs: number;
  readonly notificationsToken: string | undefined;
  readonly admissionPolicy: string | undefined;
  readonly admissionTimeoutSeconds: number | undefined;
  readonly webhookAllowPrivate: boolean;
  readonly webhookDeliver: boolean;
  readonly webhookConcurrency: number | undefined;
  readonly webhookTimeoutMs: number | undefined;
  readonly webhookBackoffBaseMs: number | undefined;
  readonly webhookBackoffMaxMs: number | undefined;
  readonly webhookMaxAgeMs: number | undefined;
  readonly webhookLeaseMs: number | undefined;
  readonly webhookPollMs: number | undefined;
}

const DAY = 86_400;

/** The table. Order: as the docs list them. */
export const SETTINGS: readonly SettingSpec[] = [
  // listener
  { key: 'host', flag: '--host', arg: '<addr>', env: 'OCITRUST_HOST', type: 'string', default: '127.0.0.1', group: 'listener', description: 'address to listen on (0.0.0.0 or :: for every interface); `--listen HOST:PORT` sets both' },
  { key: 'port', flag: '--port', arg: '<n>', env: 'OCITRUST_PORT', type: 'port', default: 7443, group: 'listener', description: 'TCP port (0: any free port)' },
  { key: 'tlsCert', flag: '--tls-cert', arg: '<file>', env: 'OCITRUST_TLS_CERT', type: 'path', group: 'listener', description: 'PEM certificate chain: serve HTTPS (needs the key)' },
  { key: 'tlsKey', flag: '--tls-key', arg: '<file>', env: 'OCITRUST_TLS_KEY', type: 'path', group: 'listener', description: 'PEM private key of the certificate' },
  { key: 'clientCa', flag: '--client-ca', arg: '<file>', env: 'OCITRUST_CLIENT_CA', type: 'path', group: 'listener', description: 'PEM CA: clients must present a certificate it issued (mTLS; needs TLS)' },
  { key: 'shutdownTimeoutMs', flag: '--shutdown-timeout-ms', arg: '<ms>', env: 'OCITRUST_SHUTDOWN_TIMEOUT_MS', type: 'int', min: 0, default: 10_000, group: 'listener', description: 'on SIGTERM/SIGINT, how long in-flight requests may finish before connections are cut' },
  // access
  { key: 'allowIps', flag: '--allow-ips', arg: '<list>', env: 'OCITRUST_ALLOW_IPS', type: 'ips', defaultText: 'any address', group: 'access', description: 'only these addresses and CIDR ranges (comma-separated) may connect, on every route but /healthz and /readyz' },
  { key: 'trustProxy', flag: '--trust-proxy', arg: '<list>', env: 'OCITRUST_TRUST_PROXY', type: 'ips', defaultText: 'none', group: 'access', description: 'reverse proxies (addresses, CIDR ranges) whose X-Forwarded-For names the client; the allowlist then checks that client' },
  { key: 'anonymousRead', flag: '--anonymous-read', env: 'OCITRUST_ANONYMOUS_READ', type: 'bool', default: true, group: 'access', description: 'reads (trust data, registry pulls) without a token; --no-anonymous-read requires a reader token' },
  // storage
  { key: 'dataDir', flag: '--data', arg: '<dir>', env: 'OCITRUST_DATA_DIR', type: 'path', defaultText: '<home>/server', group: 'storage', description: 'data folder: SQLite database, registry blobs, generated server secret' },
  { key: 'database', flag: '--database', arg: '<url>', env: 'OCITRUST_DATABASE', type: 'database', defaultText: '<data>/ocitrust.db', group: 'storage', description: 'postgres://… URL (instances share it) or SQLite file' },
  { key: 'secret', flag: '--server-secret-file', arg: '<file>', env: 'OCITRUST_SERVER_SECRET', type: 'secret', defaultText: 'generated in <data>', group: 'storage', description: 'secret sealing the server-held snapshot and timestamp keys; instances sharing PostgreSQL must share it' },
  { key: 'bootstrapToken', flag: '--bootstrap-token', env: 'OCITRUST_BOOTSTRAP_TOKEN', type: 'bool', default: true, group: 'access', description: 'on the first start with no token in the database, create an admin token on every collection and write it to <data>/admin-token (mode 0600; the log names the file, never the token)' },
  { key: 'bootstrapTokenDays', flag: '--bootstrap-token-days', arg: '<days>', env: 'OCITRUST_BOOTSTRAP_TOKEN_DAYS', type: 'int', min: 0, max: 3650, default: 30, group: 'access', description: 'the bootstrap admin token expires after this many days (0: never)' },
  { key: 'registry', flag: '--registry', env: 'OCITRUST_REGISTRY', type: 'bool', default: true, defaultText: 'true (false with a proxy upstream)', group: 'storage', description: 'serve the embedded OCI registry at /v2/ (blobs in <data>/registry)' },
  { key: 'registryDelete', flag: '--registry-delete', env: 'OCITRUST_REGISTRY_DELETE', type: 'bool', default: true, group: 'storage', description: 'the embedded registry accepts DELETE of manifests and blobs (from tokens allowed to write there)' },
  { key: 'registryMaxBlobBytes', flag: '--registry-max-blob-bytes', arg: '<bytes>', env: 'OCITRUST_REGISTRY_MAX_BLOB_BYTES', type: 'int', min: 1, default: 10 * 1024 * 1024 * 1024, group: 'storage', description: 'largest blob the embedded registry accepts' },
  { key: 'registryName', flag: '--registry-name', arg: '<host>', env: 'OCITRUST_REGISTRY_NAME', type: 'string', defaultText: 'the address and port the request arrived on', group: 'storage', description: 'host[:port] the embedded registry is reached as: token patterns match <registry-name>/<repository> (set it when clients use a DNS name)' },
  // trust data
  { key: 'snapshotExpirySeconds', flag: '--snapshot-expiry-seconds', arg: '<s>', env: 'OCITRUST_SNAPSHOT_EXPIRY_SECONDS', type: 'int', min: 60, default: 7 * DAY, group: 'trust data', description: 'lifetime of server-signed snapshots' },
  { key: 'timestampExpirySeconds', flag: '--timestamp-expiry-seconds', arg: '<s>', env: 'OCITRUST_TIMESTAMP_EXPIRY_SECONDS', type: 'int', min: 60, default: DAY, group: 'trust data', description: 'lifetime of server-signed timestamps' },
  { key: 'timestampMaxAgeSeconds', flag: '--timestamp-max-age-seconds', arg: '<s>', env: 'OCITRUST_TIMESTAMP_MAX_AGE_SECONDS', type: 'int', min: 0, default: 10, group: 'trust data', description: 'Cache-Control max-age of timestamp.json (never past its expiry)' },
  { key: 'resignIntervalMs', flag: '--resign-interval-ms', arg: '<ms>', env: 'OCITRUST_RESIGN_INTERVAL_MS', type: 'int', min: 0, default: 60_000, group: 'trust data', description: 'how often due timestamps and snapshots are re-signed (0: never)' },
  { key: 'cacheTtlMs', flag: '--cache-ttl-ms', arg: '<ms>', env: 'OCITRUST_CACHE_TTL_MS', type: 'int', min: 0, default: 1000, group: 'trust data', description: 'how long a collection head is served from memory' },
  { key: 'auditRetentionDays', flag: '--audit-retention-days', arg: '<days>', env: 'OCITRUST_AUDIT_RETENTION_DAYS', type: 'int', min: 1, default: 90, group: 'trust data', description: 'audit entries are kept this many days' },
  { key: 'auditPruneIntervalMs', flag: '--audit-prune-interval-ms', arg: '<ms>', env: 'OCITRUST_AUDIT_PRUNE_INTERVAL_MS', type: 'int', min: 0, default: 3_600_000, group: 'trust data', description: 'how often old audit entries are pruned (0: never)' },
  // logging
  { key: 'logLevel', flag: '--log-level', arg: '<level>', env: 'OCITRUST_LOG_LEVEL', type: 'enum', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info', group: 'logging', description: 'log level (stdout: JSON lines, or readable lines on a terminal)' },
  { key: 'requestLogging', flag: '--request-logging', env: 'OCITRUST_REQUEST_LOGGING', type: 'bool', default: true, group: 'logging', description: 'one log line per request' },
  // registry proxy
  { key: 'proxyUpstream', flag: '--proxy-upstream', arg: '<url>', env: 'OCITRUST_PROXY_UPSTREAM', type: 'url', group: 'registry proxy', description: 'serve /v2/ as a verifying proxy in front of this registry instead of the embedded registry (docs/proxy.md)' },
  { key: 'proxyRegistryName', flag: '--proxy-registry-name', arg: '<host>', env: 'OCITRUST_PROXY_REGISTRY_NAME', type: 'string', defaultText: 'the upstream host:port', group: 'registry proxy', description: 'registry host that trust data names the proxied repositories under' },
  { key: 'proxyPolicy', flag: '--proxy-policy', aliases: ['--policy'], arg: '<file>', env: 'OCITRUST_PROXY_POLICY', type: 'path', defaultText: 'enforce every repository with a collection here', group: 'registry proxy', description: 'policy file of the proxy (docs/policy.md)' },
  { key: 'proxyUpstreamAuthorization', flag: '--proxy-upstream-authorization-file', arg: '<file>', env: 'OCITRUST_PROXY_UPSTREAM_AUTHORIZATION', type: 'secret', group: 'registry proxy', description: 'Authorization header value sent upstream in place of an ocitrust token (e.g. `Basic …` of a pull account)' },
  { key: 'proxyUpstreamTimeoutMs', flag: '--proxy-upstream-timeout-ms', arg: '<ms>', env: 'OCITRUST_PROXY_UPSTREAM_TIMEOUT_MS', type: 'int', min: 1, default: 120_000, group: 'registry proxy', description: 'idle timeout of an upstream connection; a stalled transfer is cut' },
  { key: 'notificationsToken', flag: '--notifications-token-file', arg: '<file>', env: 'OCITRUST_NOTIFY_TOKEN', type: 'secret', group: 'registry proxy', description: "accept the upstream's notification events at POST /v1/registry/events with this bearer token" },
  // admission webhooks
  { key: 'admissionPolicy', flag: '--admission-policy', arg: '<file>', env: 'OCITRUST_ADMISSION_POLICY', type: 'path', group: 'admission webhooks', description: 'serve the Kubernetes admission webhooks /admission/validate and /admission/mutate with this policy file (docs/admission.md)' },
  { key: 'admissionTimeoutSeconds', flag: '--admission-timeout', arg: '<seconds>', env: 'OCITRUST_ADMISSION_TIMEOUT_SECONDS', type: 'int', min: 1, max: 30, defaultText: '10', group: 'admission webhooks', description: "the webhook configurations' timeoutSeconds; the server answers within 80 % of it" },
  // event webhooks (docs/webhooks.md); limits are checked by server/webhooks/options.ts
  { key: 'webhookAllowPrivate', flag: '--webhook-allow-private', env: 'OCITRUST_WEBHOOK_ALLOW_PRIVATE', type: 'bool', default: false, group: 'event webhooks', description: 'let webhooks call private, link-local and loopback addresses (loopback is allowed anyway when the server listens only on loopback)' },
  { key: 'webhookDeliver', flag: '--webhook-deliver', env: 'OCITRUST_WEBHOOK_DELIVER', type: 'bool', default: true, group: 'event webhooks', description: 'deliver webhook events from this instance (--no-webhook-deliver: it only writes the outbox)' },
  { key: 'webhookConcurrency', flag: '--webhook-concurrency', arg: '<n>', env: 'OCITRUST_WEBHOOK_CONCURRENCY', type: 'int', min: 1, max: 256, defaultText: '8', group: 'event webhooks', description: 'deliveries in flight at once per instance' },
  { key: 'webhookTimeoutMs', flag: '--webhook-timeout-ms', arg: '<ms>', env: 'OCITRUST_WEBHOOK_TIMEOUT_MS', type: 'int', min: 10, max: 120_000, defaultText: '10000', group: 'event webhooks', description: 'timeout of one delivery' },
  { key: 'webhookBackoffBaseMs', flag: '--webhook-backoff-base-ms', arg: '<ms>', env: 'OCITRUST_WEBHOOK_BACKOFF_BASE_MS', type: 'int', min: 1, max: 86_400_000, defaultText: '5000', group: 'event webhooks', description: 'first retry delay (doubles per attempt, ±25 % jitter)' },
  { key: 'webhookBackoffMaxMs', flag: '--webhook-backoff-max-ms', arg: '<ms>', env: 'OCITRUST_WEBHOOK_BACKOFF_MAX_MS', type: 'int', min: 1, max: 86_400_000, defaultText: '3600000', group: 'event webhooks', description: 'longest retry delay' },
  { key: 'webhookMaxAgeMs', flag: '--webhook-max-age-ms', arg: '<ms>', env: 'OCITRUST_WEBHOOK_MAX_AGE_MS', type: 'int', min: 1, max: 7 * 86_400_000, defaultText: '86400000', group: 'event webhooks', description: 'retry window; older undelivered events are parked in the dead-letter list' },
  { key: 'webhookLeaseMs', flag: '--webhook-lease-ms', arg: '<ms>', env: 'OCITRUST_WEBHOOK_LEASE_MS', type: 'int', min: 11, max: 86_400_000, defaultText: 'timeout + 30000', group: 'event webhooks', description: "how long a claimed delivery is an instance's before another may retry it" },
  { key: 'webhookPollMs', flag: '--webhook-poll-ms', arg: '<ms>', env: 'OCITRUST_WEBHOOK_POLL_MS', type: 'int', min: 5, max: 3_600_000, defaultText: '1000', group: 'event webhooks', description: 'how often the outbox is polled when idle' },
];

/** The settings that only mean something with a proxy upstream. */
export const PROXY_ONLY: readonly (keyof ServerSettings)[] = ['proxyRegistryName', 'proxyPolicy', 'proxyUpstreamAuthorization', 'notificationsToken'];

/**
 * Variables the server does not read but other ocitrust programs do (the `trust` client, the
 * test and benchmark harnesses): never warned about as unknown. Per-role passphrases
 * (`OCITRUST_<ROLE>_PASSPHRASE`) are matched by {@link isClientVariable}.
 */
export const CLIENT_VARIABLES: readonly string[] = ['OCITRUST_HOME', 'OCITRUST_SERVER', 'OCITRUST_TOKEN', 'OCITRUST_PASSPHRASE', 'OCITRUST_DEBUG', 'OCITRUST_TEST_PG_URL', 'OCITRUST_BENCH_FETCH_LOG', 'OCITRUST_TEST_FAILPOINTS', 'OCITRUST_PKCS11_PIN', 'OCITRUST_PKCS11_MODULE', 'OCITRUST_PLUGIN_TIMEOUT', 'OCITRUST_TEST_PLUGIN_KEYS', 'OCITRUST_CODE_CACHE', 'OCITRUST_VERIFY_DAEMON', 'OCITRUST_VERIFY_DAEMON_IDLE_SECONDS', 'OCITRUST_VERIFY_DAEMON_SOCKET'];

/** True for a variable another ocitrust program reads (see {@link CLIENT_VARIABLES}). */
export function isClientVariable(name: string): boolean {
  return CLIENT_VARIABLES.includes(name) || /^OCITRUST_[A-Z0-9_]+_PASSPHRASE$/.test(name);
}
