import type { ServerOptions as HttpsServerOptions } from 'node:https';
import { join } from 'node:path';
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import swagger from '@fastify/swagger';
import { OcitrustError } from '../lib/errors/index.js';
import { parseJson } from '../lib/json.js';
import { TRUST_SERVER_API_VERSION, TRUST_SERVER_HEADER } from '../lib/trust-server-id.js';
import { openDb } from './storage/index.js';
import { registryPlugin } from './registry/index.js';
import { registryAuthorizer } from './registry-access.js';
import type { Db } from './storage/types.js';
import { AuditLog } from './audit.js';
import { Authz, routeOf, type Principal } from './auth.js';
import { frameworkErrorOptions, installErrorHandling } from './errors.js';
import { IpAllowlist } from './ip-allowlist.js';
import { ServerMetrics } from './metrics.js';
import { expandCollectionPaths } from './openapi.js';
import { resolveAppOptions, type AppOptions, type ResolvedAppOptions } from './options.js';
import { loadServerSecret } from './secret.js';
import { trustMigrations } from './trust/migrations.js';
import { TRUST_CHANNEL, TrustService } from './trust/service.js';
import { auditRoutes } from './routes/audit.js';
import { collectionRoutes } from './routes/collections.js';
import { healthRoutes } from './routes/health.js';
import { tokenRoutes } from './routes/tokens.js';
import { mountAdmission } from './admission.js';
import { mountWebhooks, webhookEvents, webhookMigrations } from './webhooks/index.js';
import { signatureCreatedEvent } from './webhooks/denials.js';
import type { RouteContext } from './routes/context.js';
import './types.js';

export type { AppOptions } from './options.js';

/** Header values never written to logs. */
export const REDACTED_PATHS = ['req.headers.authorization', 'req.headers.cookie', 'req.headers["proxy-authorization"]', 'req.headers["x-ocitrust-token"]', 'res.headers["set-cookie"]'];

/** Extra fastify server options startServer passes through (TLS, timeouts). */
export interface ListenerOptions {
  readonly https?: HttpsServerOptions;
}

function loggerOption(o: ResolvedAppOptions): FastifyServerOptions['logger'] {
  const l = o.logger;
  if (!l) return false;
  const base = l === true ? { level: 'info' } : (l as Record<string, unknown>);
  // Credentials never reach the log, whatever the caller configured.
  const redact = (base as { redact?: unknown }).redact;
  const paths = Array.isArray(redact) ? [...(redact as string[]), ...REDACTED_PATHS] : REDACTED_PATHS;
  return { ...base, redact: { paths, censor: '[redacted]' } } as FastifyServerOptions['logger'];
}

/**
 * Builds the trust server as a fastify instance without listening (tests use `inject()`;
 * {@link startServer} in main.ts listens). Opens (or uses) the database, migrates the trust
 * schema, opens the key vault with the server secret, and registers every route with its JSON
 * schema (which also feeds `/openapi.json`).
 *
 * @throws OcitrustError SERVER_SECRET_INVALID, SERVER_CONFIG_INVALID, STORAGE_* and INVALID_ARGUMENT
 * @example const app = await buildApp({ dataDir: '/var/lib/ocitrust' }); await app.inject({ url: '/healthz' });
 */
export async function buildApp(options: AppOptions = {}, listener: ListenerOptions = {}): Promise<FastifyInstance> {
  const opts = resolveAppOptions(options);
  const allowlist = opts.allowIps ? new IpAllowlist(opts.allowIps) : null;
  const secret = loadServerSecret({ ...(opts.secret !== undefined ? { secret: opts.secret } : {}), dataDir: opts.dataDir });
  const ownsDb = !opts.db;
  const db: Db = opts.db ?? (await openDb(opts.database ?? join(opts.dataDir, 'ocitrust.db')));
  let app: FastifyInstance | undefined;
  try {
    await db.migrate(trustMigrations);
    await db.migrate(webhookMigrations);
    const webhooks = webhookEvents(db, opts.clock);
    const metrics = new ServerMetrics(opts.clock);
    const audit = new AuditLog(db, opts.clock, (outcome) => metrics.auditWrites.inc({ outcome }));
    const authz = new Authz({ db, audit, clock: opts.clock, anonymousRead: opts.anonymousRead });

    // Whether /v2/ is served (embedded registry or a proxy plugin): known once every route is registered.
    let servesV2 = false;
    const distribution = (): boolean => servesV2;
    let closing = false;
    app = Fastify({
      logger: loggerOption(opts),
      logController: new LogController({ disableRequestLogging: !opts.requestLogging }),
      trustProxy: opts.trustProxy as boolean,
      bodyLimit: 1024 * 1024,
      // Requests that arrive while closing get SERVER_NOT_READY from the onRequest hook below,
      // a coded body, rather than fastify's own 503 body.
      return503OnClosing: false,
      ...frameworkErrorOptions(distribution),
      // No coercion: a wrongly typed value is a coded 400, never silently turned into the declared
      // type (`{"name":123}` is not the name "123", a string is not a one-element array). Query
      // strings are strings; routes parse numbers in them explicitly (server/query.ts).
      ajv: { customOptions: { removeAdditional: false, allErrors: false, coerceTypes: false, verbose: true } },
      ...(listener.https ? { https: listener.https } : {}),
    } as FastifyServerOptions) as unknown as FastifyInstance;
    const log = app.log;
    const trust = new TrustService({
      db,
      secret,
      clock: opts.clock,
      limits: opts.limits,
      audit,
      snapshotExpirySeconds: opts.snapshotExpirySeconds,
      timestampExpirySeconds: opts.timestampExpirySeconds,
      cacheTtlMs: opts.cacheTtlMs,
      ...(opts.scrypt ? { scrypt: opts.scrypt } : {}),
      onResign: (role) => metrics.resigns.inc({ role }),
      events: webhooks,
      log: { warn: (o, m) => log.warn(o, m), info: (o, m) => log.info(o, m) },
    });
    await trust.init();

    app.decorate('ocitrust', { db, trust, authz, audit, metrics, webhooks });
    app.decorateRequest('principal', null as unknown as Principal);
    app.decorateRequest('metricsRoute', null);

    // Strict JSON is the only body format: no duplicate keys, bounded depth, coded errors; any
    // other content type is 415.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => {
      try {
        done(null, parseJson(body as Buffer, { maxBytes: Number.MAX_SAFE_INTEGER, what: 'request body' }));
      } catch (e) {
        done(e as Error, undefined);
      }
    });
    installErrorHandling(app, distribution);
    // Every answer says it comes from a trust server, so clients can tell "no such collection"
    // (our 404) from a wrong --server address (a registry's or a web server's 404).
    app.addHook('onRequest', async (_request, reply) => {
      reply.header(TRUST_SERVER_HEADER, TRUST_SERVER_API_VERSION);
    });

    await app.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: { title: 'ocitrust trust server', version: '1', description: 'TUF trust metadata per collection, publishing, tokens, audit, operations.' },
        components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
        security: [{ bearer: [] }],
      },
      transformObject: (d) => ('openapiObject' in d ? expandCollectionPaths(d.openapiObject) : d.swaggerObject),
      refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    });

    app.addHook('preClose', async () => void (closing = true));
    app.addHook('onRequest', async (request, reply) => {
      if (closing) {
        void reply.header('connection', 'close');
        throw new OcitrustError('SERVER_NOT_READY', 'the server is shutting down; retry (another instance may answer)');
      }
      // The allowlist is a network boundary: it covers every route, the ones that authenticate
      // callers themselves (registry proxy, notifications, admission webhooks) included; only
      // health probes, which the orchestrator sends from its own addresses, are exempt.
      if (allowlist && !request.routeOptions.config?.probe && !allowlist.allows(request.ip)) {
        const p: Principal = { actor: 'anonymous', tokenId: null, token: null, source: request.ip, certSubject: null };
        await authz.deny(p, 'IP_NOT_ALLOWED', `${request.method} ${routeOf(request)}`, null, 'address not in the allowlist');
        throw new OcitrustError('IP_NOT_ALLOWED', `address ${request.ip} is not allowed to connect`);
      }
      if (request.routeOptions.config?.open) {
        request.principal = { actor: 'anonymous', tokenId: null, token: null, source: request.ip, certSubject: null };
        return;
      }
      request.principal = await authz.authenticate(request);
    });
    app.addHook('onResponse', async (request, reply) => {
      const route = request.metricsRoute ?? request.routeOptions.url ?? 'unmatched';
      metrics.observeRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    });

    const ctx: RouteContext = { db, trust, authz, audit, metrics, opts, webhooks };
    await app.register(async (i) => collectionRoutes(i, ctx));
    await app.register(async (i) => tokenRoutes(i, ctx));
    await app.register(async (i) => auditRoutes(i, ctx));
    await app.register(async (i) => healthRoutes(i, ctx));
    const delivery = await mountWebhooks(app, { db, audit, authz, clock: opts.clock, sealer: trust.vault }, options.webhooks);
    // Delivery starts once the server listens: the loopback rule of the SSRF check needs the listener.
    app.addHook('onListen', async () => delivery.start());
    for (const plugin of opts.plugins) await app.register(async (i) => plugin(i, app!.ocitrust));
    const admission = opts.admission;
    if (admission) {
      // The admission webhooks verify against this server's own trust data unless a rule names another server.
      const published = (fn: (name: string) => void) => db.listen(TRUST_CHANNEL, fn);
      await app.register(async (i) => void (await mountAdmission(i, { trust, metrics, webhooks, published }, admission, opts.clock)));
    }

    if (opts.registry) {
      // The embedded OCI registry on the same listener; repository access by the same tokens.
      await app.register(registryPlugin, {
        ...opts.registryOptions,
        dataDir: join(opts.dataDir, 'registry'),
        db,
        authorize: registryAuthorizer(authz),
        onManifestStored: async (tx, m) => {
          const e = signatureCreatedEvent(m, 'registry');
          if (e) await webhooks.record(tx, e);
        },
      });
    }

    const timers: NodeJS.Timeout[] = [];
    if (opts.resignIntervalMs > 0) {
      timers.push(setInterval(() => void trust.resignDue().catch((err: unknown) => log.warn({ err }, 're-sign job failed')), opts.resignIntervalMs).unref());
    }
    if (opts.auditPruneIntervalMs > 0) {
      const prune = (): void =>
        void audit.prune(opts.auditRetentionDays).then(
          (n) => n > 0 && log.info({ pruned: n }, 'pruned audit entries'),
          (err: unknown) => log.warn({ err }, 'audit pruning failed'),
        );
      timers.push(setInterval(prune, opts.auditPruneIntervalMs).unref());
    }
    app.addHook('onClose', async () => {
      for (const t of timers) clearInterval(t);
      await delivery.stop();
      await trust.close();
      if (ownsDb) await db.close();
    });
    await app.ready();
    servesV2 = app.hasRoute({ method: 'GET', url: '/v2/*' });
    return app;
  } catch (e) {
    if (app) await app.close().catch(() => undefined);
    if (ownsDb) await db.close().catch(() => undefined);
    throw e;
  }
}
