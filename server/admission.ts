/**
 * The admission webhooks of the trust server (issue 6, DESIGN §8): the `verifyImage` behind
 * hook/routes.ts is the gate's (lib/gate: trust pool, manifest memo, verdict cache, one
 * first-use rule); this module only mounts it with the policy file, metrics and freshness.
 *
 * Fail closed: every environment error (registry, trust source, missing configuration)
 * becomes a thrown OcitrustError, which reviewAdmission turns into a denial naming the image
 * and the code (or a warning under a `warn` rule). The deadline below the webhook timeout is
 * hook/admission.ts's.
 */
import type { FastifyInstance } from 'fastify';
import { OcitrustError, assertArg, isOcitrustError } from '../lib/errors/index.js';
import { systemClock, type Clock } from '../lib/clock.js';
import type { Limits } from '../lib/config.js';
import { HttpRegistryClient } from '../lib/oci/client.js';
import { loadPolicyFile } from '../lib/policy/load.js';
import { watchPolicyFile, type WatchedPolicy } from './policy-reload.js';
import type { Policy, RuleSettings } from '../lib/policy/types.js';
import { createGate, outcomeOfCode, pinRootAdvice, type Gate, type GateLog, type GateOptions, type GateStats } from '../lib/gate/index.js';
import type { AdmissionVerifyImage, AdmissionOutcome, AdmissionAction, NamespaceLabelsFn } from '../hook/admission.js';
import { admissionRoutes } from '../hook/routes.js';
import type { ServerMetrics } from './metrics.js';
import { inClusterNamespaceLabels } from './k8s-namespaces.js';
import type { WebhookEvents } from './webhooks/index.js';
import { admissionDeniedEvents, RepeatFilter } from './webhooks/denials.js';
import type { TrustService } from './trust/service.js';

export { LocalMetadataSource } from '../lib/gate/index.js';

/** Where trust metadata comes from when a rule names no `server`: the trust server's own storage. */
export type LocalTrust = Pick<TrustService, 'timestamp' | 'file'>;

/** Logger used for first-use pins and background refresh failures. */
export type AdmissionLog = GateLog;

/**
 * Options of {@link createAdmissionVerifier}: the gate's (lib/gate GateOptions: trust cache,
 * `maxCacheAgeSeconds`, freshness, tag TTL, verdict cache, manifests kept, platform, clock,
 * limits, fetch, log), with a default registry client.
 */
export interface AdmissionVerifierOptions
  extends Partial<Pick<GateOptions, 'registry' | 'trustCache' | 'maxCacheAgeSeconds' | 'freshness' | 'tagTtlSeconds' | 'cache' | 'maxManifests' | 'platform' | 'clock' | 'fetch' | 'log'>> {
  /** Plain HTTP for these registries (or all) when the default client is made. Loopback is always plain. */
  readonly plainHttp?: boolean | readonly string[];
  /** Trust metadata of rules without `server` (the trust server hosting the webhook). */
  readonly localTrust?: LocalTrust;
  /** How often a collection's trust metadata is refreshed (seconds, default 30). */
  readonly trustRefreshSeconds?: number;
  readonly limits?: Partial<Limits>;
}

/** Counters of an {@link AdmissionVerifier}: the gate's (verdict cache, tags, manifests, trust refreshes). */
export type AdmissionVerifierStats = GateStats;

/** The verifier the admission routes call, with its gate. */
export interface AdmissionVerifier {
  readonly verifyImage: AdmissionVerifyImage;
  readonly stats: AdmissionVerifierStats;
  /** The gate behind it. */
  readonly gate: Gate;
  /** Forgets every cached verdict, tag and manifest, and (unless `trust: false`) every trust state. */
  clear(opts?: { readonly trust?: boolean }): void;
}

/**
 * Builds the `verifyImage` of the admission routes over the gate (lib/gate): trust per rule
 * from the gate's pool (its `server` with a pinned `root`, or the hosting trust server's own
 * storage), the tag resolved once, the verdict cached. Throws (→ a denial naming the code)
 * whenever the outcome cannot be decided.
 *
 * @throws OcitrustError INVALID_ARGUMENT for bad option values
 * @example const v = createAdmissionVerifier({ localTrust: app.ocitrust.trust }); await app.register(admissionRoutes, { policy, verifyImage: v.verifyImage });
 */
export function createAdmissionVerifier(o: AdmissionVerifierOptions = {}): AdmissionVerifier {
  assertArg(typeof o === 'object' && o !== null, 'options', 'AdmissionVerifierOptions object', o);
  const { plainHttp, trustRefreshSeconds, registry, localTrust, ...rest } = o;
  const gate = createGate({
    ...rest,
    registry:
      registry ??
      new HttpRegistryClient({
        userAgent: 'ocitrust-admission',
        ...(plainHttp !== undefined ? { plainHttp } : {}),
        ...(o.limits ? { limits: o.limits } : {}),
      }),
    ...(localTrust ? { localTrust } : {}),
    ...(trustRefreshSeconds !== undefined ? { refreshSeconds: trustRefreshSeconds } : {}),
    face: 'hook',
  });
  const verifyImage: AdmissionVerifyImage = async (ref, options) => {
    const r = await gate.verifyRule(ref, options);
    const digest = r.digest || ref.digest;
    return { verified: r.verified, ...(digest ? { digest } : {}), failures: r.failures.map((f) => ({ code: f.code, message: f.message })) };
  };
  return { verifyImage, stats: gate.stats, gate, clear: (opts) => gate.clear(opts) };
}

// ---------------------------------------------------------------------------------------------
// Mounting on the trust server.

/** The `admission` option of buildApp: serve `/admission/validate` and `/admission/mutate`. */
export interface AdmissionServerOptions extends Omit<AdmissionVerifierOptions, 'localTrust' | 'log' | 'clock'> {
  /** The policy, a path to the policy file, or a getter (hot reload). */
  readonly policy: Policy | string | (() => Policy);
  /** The webhook configurations' timeoutSeconds (1-30, default 10); the deadline is 80 % of it. */
  readonly timeoutSeconds?: number;
  /** Explicit deadline in ms (below the timeout). */
  readonly deadlineMs?: number;
  /** Namespace labels, needed when the policy selects rules by label (default: the Kubernetes API, in a cluster). */
  readonly namespaceLabels?: NamespaceLabelsFn;
  /** Called after each review, after the metrics are counted. */
  readonly onOutcome?: (outcome: AdmissionOutcome, action: AdmissionAction) => void;
  /** Receives the verifier once built (tests and benchmarks read its stats). */
  readonly onVerifier?: (v: AdmissionVerifier) => void;
  /** With a policy path: how often the file is polled for edits (ms, default 2000). */
  readonly policyReloadIntervalMs?: number;
  /** With a policy path: receives the watcher (tests reload on demand). */
  readonly onPolicyWatch?: (w: WatchedPolicy) => void;
}

/** Rule settings that verify (not `skip`) and have no trust source when the webhook has no local one. */
function rulesWithoutSource(policy: Policy): string[] {
  const d: RuleSettings = policy.defaults;
  return policy.rules.filter((r) => (r.mode ?? d.mode ?? 'enforce') !== 'skip' && (r.server ?? d.server) === undefined).map((r) => r.name);
}

/**
 * The one first-use rule (lib/gate trust pool): a verifying rule that names a remote trust
 * server must pin its root; the webhook never trusts what the network serves on first use.
 * @throws TRUST_ROOT_NOT_PINNED naming the first such rule and how to pin it
 */
function assertRemoteRootsPinned(policy: Policy): void {
  const d: RuleSettings = policy.defaults;
  for (const r of policy.rules) {
    const server = r.server ?? d.server;
    if ((r.mode ?? d.mode ?? 'enforce') === 'skip' || server === undefined || (r.root ?? d.root) !== undefined) continue;
    throw new OcitrustError('TRUST_ROOT_NOT_PINNED', pinRootAdvice(r.name, server, r.collection ?? d.collection ?? '<collection>'));
  }
}

/**
 * Registers the admission webhooks on a trust server: loads the policy (a path is read now, so a
 * broken policy stops the server from starting), builds the verifier over the server's own trust
 * data and counts outcomes in `ocitrust_verify_outcomes_total{source="hook"}`.
 *
 * @throws OcitrustError POLICY_FILE_* for an unusable policy file; SERVER_CONFIG_INVALID when the
 *   policy selects namespaces by label and no label source is given, or when a rule has no trust
 *   source; INVALID_ARGUMENT for bad option values
 */
export async function mountAdmission(
  app: FastifyInstance,
  ctx: {
    readonly trust?: LocalTrust;
    readonly metrics?: Pick<ServerMetrics, 'verifyOutcome'> & Partial<Pick<ServerMetrics, 'trustFreshness'>>;
    readonly webhooks?: Pick<WebhookEvents, 'emit'>;
    /** Publish notifications of the trust server (TRUST_CHANNEL): a local collection published to is read again at once. */
    readonly published?: (onPublish: (collection: string) => void) => Promise<() => Promise<void>>;
  },
  o: AdmissionServerOptions,
  clock: Clock = systemClock,
): Promise<AdmissionVerifier> {
  let policy: Policy | (() => Policy) = typeof o.policy === 'string' ? await loadPolicyFile(o.policy) : o.policy;
  const current = typeof policy === 'function' ? policy() : policy;
  // Label-selected rules need the namespace's labels: in a cluster, from the API server.
  const namespaceLabels = o.namespaceLabels ?? (current.usesNamespaceLabels ? await inClusterNamespaceLabels() : undefined);
  if (current.usesNamespaceLabels && !namespaceLabels) {
    throw new OcitrustError(
      'SERVER_CONFIG_INVALID',
      'the admission policy selects namespaces by label, but the server has no source of namespace labels (it reads them from the Kubernetes API when it runs in a cluster); select by namespace names instead',
    );
  }
  if (!ctx.trust) {
    const missing = rulesWithoutSource(current);
    if (missing.length > 0) {
      throw new OcitrustError('SERVER_CONFIG_INVALID', `admission policy rules ${missing.join(', ')} name no trust server; set \`server\` in them or in \`defaults\``);
    }
  }
  assertRemoteRootsPinned(current);
  if (typeof o.policy === 'string') {
    // A policy file is followed: edits take effect without a restart once they load and pass
    // the same checks as at start-up; a broken edit keeps the last good policy (policy-reload.ts).
    const path = o.policy;
    const watched = watchPolicyFile(path, current, {
      ...(o.policyReloadIntervalMs !== undefined ? { intervalMs: o.policyReloadIntervalMs } : {}),
      check: (next) => {
        if (next.usesNamespaceLabels && !namespaceLabels) {
          throw new OcitrustError('SERVER_CONFIG_INVALID', 'the new policy selects namespaces by label, and this server has no source of namespace labels');
        }
        const missing = ctx.trust ? [] : rulesWithoutSource(next);
        if (missing.length > 0) throw new OcitrustError('SERVER_CONFIG_INVALID', `admission policy rules ${missing.join(', ')} name no trust server`);
        assertRemoteRootsPinned(next);
      },
      onReload: (r) => {
        if (r.ok) app.log.info({ policy: path, revision: r.revision }, 'admission policy reloaded');
        else app.log.warn({ policy: path, code: isOcitrustError(r.error) ? r.error.code : 'INTERNAL', err: r.error instanceof Error ? r.error.message : String(r.error) }, 'admission policy not reloaded; the previous policy stays in force');
      },
    });
    app.addHook('onClose', async () => watched.stop());
    o.onPolicyWatch?.(watched);
    policy = watched.get;
  }
  const { policy: _p, timeoutSeconds, deadlineMs, namespaceLabels: _n, onOutcome, onVerifier, policyReloadIntervalMs: _r, onPolicyWatch: _w, ...verifierOpts } = o;
  const verifier = createAdmissionVerifier({
    ...verifierOpts,
    ...(ctx.trust ? { localTrust: ctx.trust } : {}),
    ...(ctx.metrics?.trustFreshness ? { freshness: ctx.metrics.trustFreshness } : {}),
    clock,
    log: { warn: (obj, msg) => app.log.warn(obj, msg), info: (obj, msg) => app.log.info(obj, msg) },
  });
  onVerifier?.(verifier);
  if (ctx.published) {
    // As the proxy: a removed signer or a revocation counts at once, not after the refresh interval.
    const unlisten = await ctx.published((name) => verifier.gate.invalidate(name));
    app.addHook('onClose', async () => unlisten());
  }
  const metrics = ctx.metrics;
  const repeats = new RepeatFilter();
  await app.register(admissionRoutes, {
    policy,
    verifyImage: verifier.verifyImage,
    clock,
    ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
    ...(deadlineMs !== undefined ? { deadlineMs } : {}),
    ...(namespaceLabels ? { namespaceLabels } : {}),
    onOutcome: (outcome, action, review) => {
      // Only the validating webhook reports denials: a cluster calling both would report each twice.
      if (ctx.webhooks && action === 'validate' && !outcome.review.response.allowed) {
        for (const e of admissionDeniedEvents(outcome, review)) {
          if (!repeats.fresh(JSON.stringify([e.data.namespace, e.data.image, e.data.codes]))) continue;
          ctx.webhooks.emit(e).catch((err: unknown) => app.log.warn({ err }, 'admission: webhook event not written'));
        }
      }
      if (metrics) {
        for (const v of outcome.verdicts) {
          if (v.decision === 'skipped' || v.code === 'POLICY_FILE_NO_MATCH' || v.code === 'POLICY_FILE_TAG_DENIED') continue;
          if (v.decision === 'allowed' && v.digest === undefined) continue;
          metrics.verifyOutcome('hook', v.decision === 'allowed' ? 'verified' : v.code !== undefined && outcomeOfCode(v.code) === 'inconclusive' ? 'error' : 'failed');
        }
      }
      onOutcome?.(outcome, action);
    },
  });
  return verifier;
}
