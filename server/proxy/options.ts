/**
 * Options of the verifying registry proxy (DESIGN §9) and the contract between the proxy and
 * whatever decides about a pull: {@link DecideFn}. The proxy itself knows nothing about trust
 * data; it fetches the manifest, recomputes its digest from the bytes and asks `decide`.
 */
import type { FastifyRequest } from 'fastify';
import { assertArg } from '../../lib/errors/index.js';

/** What a pull decision is asked about: one manifest, fetched from the upstream, digest recomputed. */
export interface DecideContext {
  /** Full repository name as trust data names it: `<registryName>/<path>`. */
  readonly repository: string;
  /** The repository's name on the registry, as in `/v2/<path>/…`. */
  readonly path: string;
  /** What the client asked for: a tag or a digest. */
  readonly reference: string;
  /** Digest computed from `manifestBytes` (never the upstream's claim). */
  readonly digest: string;
  readonly manifestBytes: Uint8Array;
  /** The manifest's media type as the registry served it (Content-Type). */
  readonly mediaType: string;
  /** The ocitrust token the caller presented, if any (never logged). */
  readonly callerToken?: string;
}

/** A pull decision. A denial's `reason` names the failed check; it reaches the client. */
export interface Decision {
  readonly allow: boolean;
  /** Why: shown in the 403 message on a denial, logged on an allow with a warning. */
  readonly reason?: string;
  /** Stable code of the failed check (a catalogue code, e.g. NO_SIGNATURES, PROXY_PULL_DENIED). */
  readonly code?: string;
  /** Allowed although not verified (a `warn` rule): logged and audited. */
  readonly warning?: boolean;
}

/** Decides whether a manifest may be served. May throw: a throw is a denial (fail closed). */
export type DecideFn = (ctx: DecideContext) => Promise<Decision>;

/** Whether `request` may read any manifest of `repository` unverified (signing tools: the push-then-sign catch-22). */
export type BypassFn = (request: FastifyRequest, repository: string) => Promise<boolean>;

/** Called after every manifest decision (audit, metrics). Must not throw. */
export type DecisionListener = (request: FastifyRequest, ctx: Omit<DecideContext, 'manifestBytes' | 'callerToken'>, decision: Decision & { readonly bypass: boolean }) => void;

/** Called when a manifest with a `subject` (a signature or other referrer) was pushed through the proxy. Must not throw. */
export type ReferrerListener = (repository: string, subjectDigest: string) => void;

/** Options of {@link proxyPlugin}. */
export interface ProxyOptions {
  /** Base URL of the upstream registry (`http://127.0.0.1:5000`, `https://registry.example.com`). */
  readonly upstream: URL | string;
  readonly decide: DecideFn;
  /** Default: nobody bypasses. */
  readonly canBypass?: BypassFn;
  /**
   * The registry host that trust data (collections, statement subjects, policy patterns) names
   * repositories under. Default: the upstream's `host[:port]`. Never taken from the request's
   * Host header: a client could otherwise pick a name no collection covers.
   */
  readonly registryName?: string;
  /**
   * Rewrites of the `realm` of upstream `WWW-Authenticate` challenges, for token services the
   * clients reach under another address: `{ 'http://10.0.0.5:5001/auth': 'https://auth.example.com/auth' }`
   * (prefix match). Default: challenges pass unchanged.
   */
  readonly realmRewrite?: Readonly<Record<string, string>>;
  /**
   * Authorization sent upstream in place of an ocitrust token that the client put in its
   * Authorization header (e.g. `Basic …` of a pull account). Default: none (anonymous upstream).
   */
  readonly upstreamAuthorization?: string;
  /** Largest manifest passed on (bytes, default 4 MiB: what registries must accept). */
  readonly maxManifestBytes?: number;
  /** Idle timeout of an upstream connection (ms, default 120 000); a stalled transfer is cut. */
  readonly upstreamTimeoutMs?: number;
  /** Most concurrent connections to the upstream (default 128). */
  readonly maxSockets?: number;
  /** Extra route config (the trust server passes `{ open: true }`: the proxy authenticates callers itself). */
  readonly routeConfig?: Readonly<Record<string, unknown>>;
  readonly onDecision?: DecisionListener;
  /**
   * Told about referrers pushed through the proxy, so that a refusal cached for their subject
   * is not reused (sign right after a refused pull, and the next pull verifies again).
   */
  readonly onReferrerPushed?: ReferrerListener;
  /** TLS: extra CA certificates (PEM) trusted for an https upstream. */
  readonly upstreamCa?: string | Buffer;
}

/** {@link ProxyOptions} after defaults. */
export interface ResolvedProxyOptions {
  readonly upstream: URL;
  readonly upstreamHost: string;
  readonly registryName: string;
  readonly decide: DecideFn;
  readonly canBypass: BypassFn | undefined;
  readonly realmRewrite: readonly (readonly [string, string])[];
  readonly upstreamAuthorization: string | undefined;
  readonly maxManifestBytes: number;
  readonly upstreamTimeoutMs: number;
  readonly maxSockets: number;
  readonly routeConfig: Readonly<Record<string, unknown>>;
  readonly onDecision: DecisionListener | undefined;
  readonly onReferrerPushed: ReferrerListener | undefined;
  readonly upstreamCa: string | Buffer | undefined;
}

const HOST_RE = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*(?::[0-9]{1,5})?$|^\[[0-9a-f:.]+\](?::[0-9]{1,5})?$/;

/**
 * Parses an upstream registry URL: http(s), no credentials, no path beyond `/` (the
 * distribution API lives at `/v2/`).
 * @throws OcitrustError INVALID_ARGUMENT
 */
export function parseUpstream(u: URL | string): URL {
  let url: URL | undefined;
  try {
    url = new URL(String(u));
  } catch {
    url = undefined;
  }
  assertArg(url !== undefined && (url.protocol === 'http:' || url.protocol === 'https:'), 'upstream', 'an http(s) URL of a registry', u);
  assertArg(url.username === '' && url.password === '', 'upstream', 'a URL without credentials (use upstream credentials options)', '<URL with credentials>');
  assertArg(url.pathname === '/' && url.search === '' && url.hash === '', 'upstream', 'a URL without path or query (the registry API is at /v2/)', url.toString());
  return url;
}

/**
 * Checks and completes the proxy options once, at register time.
 * @throws OcitrustError INVALID_ARGUMENT
 */
export function resolveProxyOptions(o: ProxyOptions): ResolvedProxyOptions {
  assertArg(o && typeof o === 'object', 'proxy options', 'an object', o);
  const upstream = parseUpstream(o.upstream);
  assertArg(typeof o.decide === 'function', 'decide', 'a function', o.decide);
  assertArg(o.canBypass === undefined || typeof o.canBypass === 'function', 'canBypass', 'a function', o.canBypass);
  const registryName = o.registryName ?? upstream.host;
  assertArg(typeof registryName === 'string' && HOST_RE.test(registryName), 'registryName', 'a lowercase registry host[:port]', registryName);
  const rewrite = Object.entries(o.realmRewrite ?? {});
  for (const [from, to] of rewrite) {
    assertArg(/^https?:\/\/\S+$/.test(from) && /^https?:\/\/\S+$/.test(to) && !/["\\]/.test(to), 'realmRewrite', 'http(s) URL prefixes mapped to http(s) URL prefixes', `${from} -> ${to}`);
  }
  const n = (v: number | undefined, name: string, dflt: number): number => {
    if (v === undefined) return dflt;
    assertArg(Number.isSafeInteger(v) && v > 0, name, 'a positive integer', v);
    return v;
  };
  assertArg(o.upstreamAuthorization === undefined || (typeof o.upstreamAuthorization === 'string' && /^[\x21-\x7e][\x20-\x7e]*$/.test(o.upstreamAuthorization)), 'upstreamAuthorization', 'a header value', '<redacted>');
  return {
    upstream,
    upstreamHost: upstream.host,
    registryName,
    decide: o.decide,
    canBypass: o.canBypass,
    // Longest prefix first, so a specific rule wins over a general one.
    realmRewrite: rewrite.sort((a, b) => b[0].length - a[0].length),
    upstreamAuthorization: o.upstreamAuthorization,
    maxManifestBytes: n(o.maxManifestBytes, 'maxManifestBytes', 4 * 1024 * 1024),
    upstreamTimeoutMs: n(o.upstreamTimeoutMs, 'upstreamTimeoutMs', 120_000),
    maxSockets: n(o.maxSockets, 'maxSockets', 128),
    routeConfig: o.routeConfig ?? {},
    onDecision: o.onDecision,
    onReferrerPushed: o.onReferrerPushed,
    upstreamCa: o.upstreamCa,
  };
}
