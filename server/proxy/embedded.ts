/**
 * The same pull enforcement as the proxy, as the embedded registry's `beforeManifestGet` gate
 * (DESIGN §9 "The same check is a hook of the embedded registry"): repositories with a trust
 * collection (or the policy file's rules) are enforced per repository; signatures are read
 * from the registry's own store, not over HTTP.
 *
 * The gate needs the trust server's services, which exist only inside buildApp, so it comes
 * with a plugin that binds them; buildApp registers `plugins` before the registry. Until
 * bound, the gate refuses (fail closed).
 */
import { systemClock, type Clock } from '../../lib/clock.js';
import { assertArg } from '../../lib/errors/index.js';
import { sha256Hex } from '../../lib/crypto/hash.js';
import { SIGNATURE_ARTIFACT_TYPE } from '../../lib/oci/types.js';
import type { Policy } from '../../lib/policy/types.js';
import type { VerificationCacheOptions } from '../../lib/gate/index.js';
import type { ServerPlugin } from '../options.js';
import { BlobStore } from '../registry/blob-store.js';
import { MetadataStore } from '../registry/metadata-store.js';
import type { ManifestGate } from '../registry/options.js';
import { qualifiedRepository } from '../names.js';
import { TRUST_CHANNEL } from '../trust/service.js';
import type { OcitrustServerContext } from '../types.js';
import { publisherOf } from './caller.js';
import { LocalRegistryClient } from './clients.js';
import { createEnforcer, type Enforcer } from './enforce.js';

/** Options of {@link registryEnforcement}. */
export interface RegistryEnforcementOptions {
  /**
   * The registry host under which trust data names this registry's repositories (its public
   * `host:port`, e.g. `registry.example.com` or `127.0.0.1:7443`): repository `team/app` is
   * collection `<registryName>/team/app`. Required: it must never come from a request. Give the
   * registry the same name (`registryOptions.registryName`) so that its access checks and this
   * gate qualify repositories alike.
   */
  readonly registryName: string;
  readonly policy?: Policy | (() => Policy);
  /** The registry's data directory (`<dataDir>/registry`), to read envelope blobs that lack the annotation copy. */
  readonly registryDataDir?: string;
  readonly cacheOptions?: VerificationCacheOptions;
  readonly clock?: Clock;
}

/** The gate and the plugin that binds it. */
export interface RegistryEnforcement {
  /** Pass as `registryOptions.beforeManifestGet`. */
  readonly beforeManifestGet: ManifestGate;
  /** Pass in `plugins` of buildApp / startServer. */
  readonly plugin: ServerPlugin;
  /** The enforcer once bound. */
  readonly enforcer: Enforcer | undefined;
}

/**
 * Pull enforcement for the embedded registry.
 *
 * @example
 * const e = registryEnforcement({ registryName: 'registry.example.com' });
 * await startServer({ dataDir, plugins: [e.plugin], registryOptions: { registryName: 'registry.example.com', beforeManifestGet: e.beforeManifestGet } });
 * @throws OcitrustError INVALID_ARGUMENT without a registryName
 */
export function registryEnforcement(o: RegistryEnforcementOptions): RegistryEnforcement {
  assertArg(o && typeof o.registryName === 'string' && /^[a-z0-9.:[\]-]+$/.test(o.registryName), 'registryName', 'the registry host[:port] trust data names repositories under', o?.registryName);
  const clock = o.clock ?? systemClock;
  let bound: { enforcer: Enforcer; store: MetadataStore; ctx: OcitrustServerContext } | undefined;

  const plugin: ServerPlugin = async (app, ctx) => {
    const store = new MetadataStore(ctx.db);
    const blobs = o.registryDataDir ? new BlobStore(o.registryDataDir) : undefined;
    const enforcer = createEnforcer({
      trust: ctx.trust,
      registry: new LocalRegistryClient({ store, ...(blobs ? { blobs } : {}) }),
      registryName: o.registryName,
      ...(o.policy ? { policy: o.policy } : {}),
      ...(o.cacheOptions ? { cacheOptions: o.cacheOptions } : {}),
      freshness: ctx.metrics.trustFreshness,
      clock,
      // One local query: the signatures the registry holds for the image are part of the key.
      referrersVersion: async (path, digest) => {
        const rows = await store.referrers(path, digest, SIGNATURE_ARTIFACT_TYPE, 1001, undefined);
        return rows.length === 0 ? 'none' : sha256Hex(rows.map((r) => r.digest).join(','));
      },
    });
    const unlisten = await ctx.db.listen(TRUST_CHANNEL, (name) => enforcer.invalidate(name));
    app.addHook('onClose', async () => unlisten());
    bound = { enforcer, store, ctx };
  };

  const beforeManifestGet: ManifestGate = async (path, reference, digest, _info, request) => {
    if (!bound) return { allow: false, code: 'SERVER_NOT_READY', reason: 'SERVER_NOT_READY: pull enforcement is not bound to the trust server yet' };
    const { enforcer, store, ctx } = bound;
    const repository = qualifiedRepository(o.registryName, path);
    // Push-then-sign: the registry already authenticated the caller with the server's tokens.
    const token = request?.principal?.token;
    if (token) {
      const now = clock.now();
      const collection = await enforcer.collectionFor(repository);
      // Patterns match qualified names only: a host-less `team/app` token is no publisher here.
      if (publisherOf(token, collection, repository, now)) {
        await ctx.audit.record({ actor: token.name, tokenId: token.id, action: 'registry.bypass', collection, source: request.ip, outcome: 'ok', detail: `unverified manifest read of ${repository}@${digest} (publisher token)` });
        return true;
      }
    }
    const row = await store.getManifest(path, digest);
    if (!row) return { allow: false, reason: `manifest ${digest} vanished while being checked` };
    let allow = false;
    let reason = '';
    let code: string | undefined;
    try {
      const d = await enforcer.decide({ repository, path, reference, digest, manifestBytes: new Uint8Array(row.content), mediaType: row.mediaType });
      allow = d.allow;
      code = d.code;
      reason = d.reason ?? '';
      if (d.allow && !d.warning) return true;
    } catch (e) {
      code = 'PROXY_VERIFY_UNAVAILABLE';
      reason = `could not verify (${e instanceof Error ? e.message : 'internal error'}); refusing`;
    }
    await ctx.audit
      .record({
        actor: request?.principal?.actor ?? 'anonymous',
        tokenId: request?.principal?.tokenId ?? null,
        action: 'registry.pull',
        collection: repository,
        source: request?.ip ?? null,
        outcome: allow ? 'ok' : 'denied',
        code: code ?? null,
        detail: `${allow ? 'allowed unverified (warn rule)' : 'denied'} ${reference} ${digest}: ${reason}`,
      })
      .catch(() => undefined);
    return allow ? true : { allow: false, reason: code && !reason.startsWith(code) ? `${code}: ${reason}` : reason, ...(code ? { code } : {}) };
  };

  return {
    beforeManifestGet,
    plugin,
    get enforcer() {
      return bound?.enforcer;
    },
  };
}
