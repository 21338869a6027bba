/**
 * Starts the trust server from loaded {@link ServerSettings}: the one path shared by
 * `trust server`, `node dist/server/run.js` and the proxy runner, so that every entry point
 * mounts the same things for the same settings and states them in the same start line.
 */
import { join } from 'node:path';
import type { FastifyServerOptions } from 'fastify';
import { startServer, type RunningServer, type ServerOptions } from '../main.js';
import type { ServerPlugin } from '../options.js';
import type { LoadedSettings } from './load.js';
import type { ServerSettings } from './settings.js';
import { logStream } from './log-stream.js';

/** Options of {@link startFromSettings}. */
export interface StartOptions {
  /** Where warnings and the start line go (default: process.stderr). */
  readonly stderr?: { write(s: string): unknown };
  /** The start line's first words (default `trust server`). */
  readonly name?: string;
  /** Listener and app options that have no setting (tests: scrypt cost, signal handling). */
  readonly extra?: Partial<ServerOptions>;
}

/**
 * Maps settings to {@link ServerOptions}, building the proxy plugin (and loading its policy file)
 * when an upstream is set.
 * @throws OcitrustError POLICY_FILE_* for an unusable proxy policy, INVALID_ARGUMENT for a bad registry name
 */
export async function serverOptionsFromSettings(s: ServerSettings): Promise<ServerOptions> {
  const plugins: ServerPlugin[] = [];
  if (s.proxyUpstream !== undefined) {
    const { proxyServerPlugin } = await import('../proxy/server-plugin.js');
    const { loadPolicyFile } = await import('../../lib/policy/load.js');
    const policy = s.proxyPolicy !== undefined ? await loadPolicyFile(s.proxyPolicy) : undefined;
    plugins.push(
      proxyServerPlugin({
        upstream: s.proxyUpstream,
        upstreamTimeoutMs: s.proxyUpstreamTimeoutMs,
        ...(s.proxyRegistryName !== undefined ? { registryName: s.proxyRegistryName } : {}),
        ...(policy ? { policy } : {}),
        ...(s.proxyUpstreamAuthorization !== undefined ? { upstreamAuthorization: s.proxyUpstreamAuthorization } : {}),
        ...(s.notificationsToken !== undefined ? { notificationsToken: s.notificationsToken } : {}),
      }),
    );
  }
  // Readable lines at a terminal, JSON lines otherwise (server/config/log-stream.ts).
  const logger: FastifyServerOptions['logger'] = { level: s.logLevel, stream: logStream(process.stdout) };
  return {
    host: s.host,
    port: s.port,
    ...(s.tlsCert !== undefined ? { tlsCert: s.tlsCert } : {}),
    ...(s.tlsKey !== undefined ? { tlsKey: s.tlsKey } : {}),
    ...(s.clientCa !== undefined ? { clientCa: s.clientCa } : {}),
    ...(s.allowIps !== undefined ? { allowIps: s.allowIps } : {}),
    ...(s.trustProxy !== undefined ? { trustProxy: [...s.trustProxy] } : {}),
    anonymousRead: s.anonymousRead,
    dataDir: s.dataDir,
    ...(s.database !== undefined ? { database: s.database } : {}),
    ...(s.secret !== undefined ? { secret: s.secret } : {}),
    registry: s.registry,
    webhooks: {
      allowPrivate: s.webhookAllowPrivate,
      deliver: s.webhookDeliver,
      ...(s.webhookConcurrency !== undefined ? { concurrency: s.webhookConcurrency } : {}),
      ...(s.webhookTimeoutMs !== undefined ? { timeoutMs: s.webhookTimeoutMs } : {}),
      ...(s.webhookBackoffBaseMs !== undefined ? { backoffBaseMs: s.webhookBackoffBaseMs } : {}),
      ...(s.webhookBackoffMaxMs !== undefined ? { backoffMaxMs: s.webhookBackoffMaxMs } : {}),
      ...(s.webhookMaxAgeMs !== undefined ? { maxAgeMs: s.webhookMaxAgeMs } : {}),
      ...(s.webhookLeaseMs !== undefined ? { leaseMs: s.webhookLeaseMs } : {}),
      ...(s.webhookPollMs !== undefined ? { pollMs: s.webhookPollMs } : {}),
    },
    registryOptions: { allowDelete: s.registryDelete, limits: { maxBlobBytes: s.registryMaxBlobBytes }, ...(s.registryName !== undefined ? { registryName: s.registryName } : {}) },
    snapshotExpirySeconds: s.snapshotExpirySeconds,
    timestampExpirySeconds: s.timestampExpirySeconds,
    timestampMaxAgeSeconds: s.timestampMaxAgeSeconds,
    resignIntervalMs: s.resignIntervalMs,
    cacheTtlMs: s.cacheTtlMs,
    auditRetentionDays: s.auditRetentionDays,
    auditPruneIntervalMs: s.auditPruneIntervalMs,
    shutdownTimeoutMs: s.shutdownTimeoutMs,
    logger,
    requestLogging: s.requestLogging,
    ...(plugins.length ? { plugins } : {}),
    ...(s.admissionPolicy !== undefined ? { admission: { policy: s.admissionPolicy, ...(s.admissionTimeoutSeconds !== undefined ? { timeoutSeconds: s.admissionTimeoutSeconds } : {}) } } : {}),
  };
}

/** The database as the start line names it: kind and place, never a user name or password. */
export function describeDatabase(s: Pick<ServerSettings, 'database' | 'dataDir'>): string {
  const db = s.database ?? join(s.dataDir, 'ocitrust.db');
  if (/^postgres(ql)?:\/\//i.test(db)) {
    try {
      const u = new URL(db);
      return `postgresql ${u.host}${u.pathname}`;
    } catch {
      return 'postgresql';
    }
  }
  return `sqlite ${db}`;
}

/**
 * The start line: where the server listens and its effective security settings, so an
 * operator sees at a glance whether TLS, the allowlist or anonymous reads are what they meant.
 */
export function startLine(name: string, url: string, s: ServerSettings): string {
  const parts = [
    `TLS ${s.tlsCert !== undefined ? 'on' : 'off'}`,
    `mTLS ${s.clientCa !== undefined ? 'on' : 'off'}`,
    `allowlist ${s.allowIps !== undefined ? s.allowIps.join(', ') : 'off (any address)'}`,
    ...(s.trustProxy !== undefined ? [`trusted proxies ${s.trustProxy.join(', ')}`] : []),
    `anonymous reads ${s.anonymousRead ? 'on' : 'off'}`,
    `registry ${s.registry ? 'on' : 'off'}`,
    s.proxyUpstream !== undefined ? `proxy upstream ${s.proxyUpstream}` : 'proxy off',
    s.admissionPolicy !== undefined ? `admission on (policy ${s.admissionPolicy})` : 'admission off',
    ...(s.webhookAllowPrivate ? ['webhooks may call private addresses'] : []),
    `database ${describeDatabase(s)}`,
  ];
  return `${name} listening on ${url} (data ${s.dataDir}); ${parts.join('; ')}`;
}

/**
 * Writes the loader's warnings, starts the server and writes the start line.
 * @throws OcitrustError SERVER_CONFIG_INVALID, SERVER_SECRET_INVALID, STORAGE_*, POLICY_FILE_*
 */
export async function startFromSettings(loaded: LoadedSettings, o: StartOptions = {}): Promise<RunningServer> {
  const stderr = o.stderr ?? process.stderr;
  const name = o.name ?? 'trust server';
  for (const w of loaded.warnings) stderr.write(`${name}: warning: ${w}\n`);
  const server = await startServer({ ...(await serverOptionsFromSettings(loaded.settings)), ...o.extra });
  const st = loaded.settings;
  if (st.bootstrapToken) {
    const { bootstrapAdminToken } = await import('../bootstrap.js');
    const { db, audit } = server.app.ocitrust;
    try {
      const made = await bootstrapAdminToken({ db, audit, dataDir: st.dataDir, expiryDays: st.bootstrapTokenDays });
      if (made) {
        const until = made.token.expiresAt ? `expires ${made.token.expiresAt}` : 'never expires';
        stderr.write(`${name}: created the first admin token (${made.token.id}, all collections, ${until}) in ${made.file}: trust login ${server.url} --token-file ${made.file}\n`);
        server.app.log.info({ tokenId: made.token.id, file: made.file, expiresAt: made.token.expiresAt }, 'bootstrap admin token written');
      }
    } catch (e) {
      await server.close();
      throw e;
    }
  }
  stderr.write(startLine(name, server.url, st) + '\n');
  // The same facts in the structured log, for log pipelines that do not keep stderr lines apart.
  server.app.log.info(
    { url: server.url, tls: st.tlsCert !== undefined, mtls: st.clientCa !== undefined, allowIps: st.allowIps ?? null, anonymousRead: st.anonymousRead, registry: st.registry, proxyUpstream: st.proxyUpstream ?? null, admission: st.admissionPolicy !== undefined, database: describeDatabase(st) },
    'effective security settings',
  );
  return server;
}
