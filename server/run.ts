import { pathToFileURL } from 'node:url';
import { assertArg, isOcitrustError } from '../lib/errors/index.js';
import { startServer, type ServerOptions } from './main.js';
import { webhookOptionsFromEnv } from './webhooks/options.js';

const list = (v: string | undefined): string[] | undefined => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : undefined);
const num = (v: string | undefined, name: string): number | undefined => {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  assertArg(Number.isSafeInteger(n) && n >= 0, name, 'a non-negative integer', v);
  return n;
};
const bool = (v: string | undefined): boolean | undefined => (v === undefined || v === '' ? undefined : !/^(0|false|no|off)$/i.test(v));

/**
 * Server options from the environment (`OCITRUST_*`), for `npm start`, containers and the
 * tests that run the server as a separate process. The CLI (`trust server`) maps its flags to
 * the same {@link ServerOptions}.
 *
 * OCITRUST_DATABASE, OCITRUST_DATA_DIR, OCITRUST_HOST, OCITRUST_PORT, OCITRUST_TLS_CERT,
 * OCITRUST_TLS_KEY, OCITRUST_CLIENT_CA, OCITRUST_ANONYMOUS_READ, OCITRUST_ALLOW_IPS (comma list),
 * OCITRUST_REGISTRY, OCITRUST_CACHE_TTL_MS, OCITRUST_AUDIT_RETENTION_DAYS, OCITRUST_REQUEST_LOGGING
 * (the secret is read by the server itself from OCITRUST_SERVER_SECRET);
 * OCITRUST_ADMISSION_POLICY (policy file: serves the admission webhooks) and
 * OCITRUST_ADMISSION_TIMEOUT_SECONDS (the webhooks' timeoutSeconds, 1-30, default 10).
 *
 * @throws OcitrustError INVALID_ARGUMENT for a malformed number
 */
export function serverOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): ServerOptions {
  const o: Record<string, unknown> = {
    database: env.OCITRUST_DATABASE || undefined,
    dataDir: env.OCITRUST_DATA_DIR || undefined,
    host: env.OCITRUST_HOST || undefined,
    port: num(env.OCITRUST_PORT, 'OCITRUST_PORT'),
    tlsCert: env.OCITRUST_TLS_CERT || undefined,
    tlsKey: env.OCITRUST_TLS_KEY || undefined,
    clientCa: env.OCITRUST_CLIENT_CA || undefined,
    anonymousRead: bool(env.OCITRUST_ANONYMOUS_READ),
    allowIps: list(env.OCITRUST_ALLOW_IPS),
    registry: bool(env.OCITRUST_REGISTRY),
    cacheTtlMs: num(env.OCITRUST_CACHE_TTL_MS, 'OCITRUST_CACHE_TTL_MS'),
    auditRetentionDays: num(env.OCITRUST_AUDIT_RETENTION_DAYS, 'OCITRUST_AUDIT_RETENTION_DAYS'),
    requestLogging: bool(env.OCITRUST_REQUEST_LOGGING),
  };
  if (env.OCITRUST_ADMISSION_POLICY) {
    const timeoutSeconds = num(env.OCITRUST_ADMISSION_TIMEOUT_SECONDS, 'OCITRUST_ADMISSION_TIMEOUT_SECONDS');
    o.admission = { policy: env.OCITRUST_ADMISSION_POLICY, ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}) };
  }
  o.webhooks = webhookOptionsFromEnv(env);
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o as ServerOptions;
}

/**
 * Runs the server from the environment; prints one JSON line `{"listening": url}` on stdout once
 * it listens (process supervisors and tests wait for it). Exit code 2 or 3 on a start failure.
 */
export async function runFromEnv(): Promise<void> {
  try {
    const s = await startServer(serverOptionsFromEnv());
    process.stdout.write(JSON.stringify({ listening: s.url }) + '\n');
  } catch (e) {
    const code = isOcitrustError(e) ? e.code : 'INTERNAL';
    process.stderr.write(JSON.stringify({ error: code, message: (e as Error).message }) + '\n');
    process.exitCode = isOcitrustError(e) ? e.exitCode : 3;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) void runFromEnv();
