/**
 * Wiring of the verifying proxy into the trust server (`trust server --proxy-upstream URL`):
 * the default decision against this server's collections (or a policy file), signatures read
 * from the upstream with the proxy's own upstream credentials, the publisher-token bypass,
 * denials in the audit log, and optionally the notification receiver for the upstream.
 */
import { proxyDeniedEvent, RepeatFilter } from '../webhooks/denials.js';
import type { FastifyInstance } from 'fastify';
import { systemClock, type Clock } from '../../lib/clock.js';
import type { Limits } from '../../lib/config.js';
import { HttpRegistryClient } from '../../lib/oci/client.js';
import { dockerConfigCredentials, type CredentialProvider } from '../../lib/oci/credentials.js';
import type { Policy } from '../../lib/policy/types.js';
import type { VerificationCacheOptions } from '../../lib/gate/index.js';
import { notificationRoutes } from '../notifications.js';
import { TRUST_CHANNEL } from '../trust/service.js';
import type { ServerPlugin } from '../options.js';
import type { OcitrustServerContext } from '../types.js';
import { publisherBypass } from './caller.js';
import { remapRegistry } from './clients.js';
import { createEnforcer, type Enforcer } from './enforce.js';
import { parseUpstream, type DecisionListener } from './options.js';
import { proxyPlugin } from './plugin.js';

/** Options of {@link proxyServerPlugin}. */
export interface ProxyServerOptions {
  /** The upstream registry (`--proxy-upstream URL`). */
  readonly upstream: string | URL;
  /** Registry host that trust data names repositories under (default: the upstream's host:port). */
  readonly registryName?: string;
  /** The policy file (`--policy FILE`, loaded with loadPolicyFile) or a getter; default: enforce repositories with a collection. */
  readonly policy?: Policy | (() => Policy);
  /**
   * Credentials the proxy uses for its own reads of the upstream (signature referrers and
   * envelopes). Default: the Docker config of the user running the server (`docker login`).
   */
  readonly upstreamCredentials?: CredentialProvider;
  /** Authorization sent upstream in place of an ocitrust token carried in a client's Authorization header. */
  readonly upstreamAuthorization?: string;
  /** See ProxyOptions.realmRewrite. */
  readonly realmRewrite?: Readonly<Record<string, string>>;
  readonly cacheOptions?: VerificationCacheOptions;
  readonly maxManifestBytes?: number;
  readonly upstreamTimeoutMs?: number;
  readonly limits?: Partial<Limits>;
  readonly clock?: Clock;
  /** Also mount `POST /v1/registry/events` for the upstream's notifications, with this bearer token. */
  readonly notificationsToken?: string;
}

/** The plugin, with the enforcer it built once registered (stats, cache, for tests and metrics). */
export interface ProxyServerPlugin extends ServerPlugin {
  readonly enforcer: Enforcer | undefined;
}

/**
 * The proxy as a trust server plugin. Mount with the embedded registry off (both own `/v2/`):
 *
 * @example
 * await startServer({ dataDir, registry: false, plugins: [proxyServerPlugin({ upstream: 'http://127.0.0.1:5000' })] });
 * @throws OcitrustError INVALID_ARGUMENT for a bad upstream URL
 */
export function proxyServerPlugin(o: ProxyServerOptions): ProxyServerPlugin {
  const upstream = parseUpstream(o.upstream);
  const registryName = o.registryName ?? upstream.host;
  const clock = o.clock ?? systemClock;
  let enforcer: Enforcer | undefined;

  const plugin = async (app: FastifyInstance, ctx: OcitrustServerContext): Promise<void> => {
    const client = new HttpRegistryClient({
      credentials: o.upstreamCredentials ?? dockerConfigCredentials(),
      plainHttp: upstream.protocol === 'http:' ? [upstream.host] : false,
      ...(o.limits ? { limits: o.limits } : {}),
      userAgent: 'ocitrust-proxy',
    });
    const registry = remapRegistry(client, upstream.host);
    enforcer = createEnforcer({
      trust: ctx.trust,
      registry,
      registryName,
      ...(o.policy ? { policy: o.policy } : {}),
      ...(o.cacheOptions ? { cacheOptions: o.cacheOptions } : {}),
      freshness: ctx.metrics.trustFreshness,
      clock,
    });
    const e = enforcer;
    // A publish on this or another instance (PostgreSQL NOTIFY) reaches the enforcer at once.
    const unlisten = await ctx.db.listen(TRUST_CHANNEL, (name) => e.invalidate(name));
    app.addHook('onClose', async () => unlisten());
    const repeats = new RepeatFilter();
    const onDecision: DecisionListener = (request, d, decision) => {
      if (decision.allow && !decision.warning) return;
      void ctx.audit
        .record({
          actor: 'anonymous',
          action: 'proxy.pull',
          collection: d.repository,
          source: request.ip,
          outcome: decision.allow ? 'ok' : 'denied',
          code: decision.code ?? null,
          detail: `${decision.allow ? 'allowed unverified (warn rule)' : 'denied'} ${d.reference} ${d.digest}: ${decision.reason ?? ''}`,
        })
        .catch((err: unknown) => request.log.warn({ err }, 'proxy: audit write failed'));
      if (!decision.allow && repeats.fresh(JSON.stringify([d.repository, d.digest, decision.code]))) {
        ctx.webhooks
          ?.emit(proxyDeniedEvent({ repository: d.repository, reference: d.reference, digest: d.digest, source: request.ip, code: decision.code ?? null, reason: decision.reason ?? null }))
          .catch((err: unknown) => request.log.warn({ err }, 'proxy: webhook event not written'));
      }
    };
    await app.register(proxyPlugin, {
      upstream,
      registryName,
      decide: e.decide,
      canBypass: publisherBypass({ db: ctx.db, audit: ctx.audit, clock, collectionOf: (r) => e.collectionFor(r) }),
      // The Authorization header belongs to the upstream: the proxy checks its own token itself.
      routeConfig: { open: true },
      onDecision,
      onReferrerPushed: (repository, subject) => e.noteReferrer(repository, subject),
      ...(o.upstreamAuthorization ? { upstreamAuthorization: o.upstreamAuthorization } : {}),
      ...(o.realmRewrite ? { realmRewrite: o.realmRewrite } : {}),
      ...(o.maxManifestBytes ? { maxManifestBytes: o.maxManifestBytes } : {}),
      ...(o.upstreamTimeoutMs ? { upstreamTimeoutMs: o.upstreamTimeoutMs } : {}),
    });
    if (o.notificationsToken) {
      await notificationRoutes({ token: o.notificationsToken, registry, registryName })(app, ctx);
    }
  };
  Object.defineProperty(plugin, 'enforcer', { get: () => enforcer });
  return plugin as ProxyServerPlugin;
}
