/**
 * The `--offline` guarantee (issue 17), enforced at the socket level rather than trusted to
 * every code path. While installed, every TCP/IPC connect (`net.Socket#connect`, which http,
 * https, tls and fetch all end in) and every DNS query is checked against an allowlist
 * (cli/offline-allowlist.ts), every UDP send or bind is refused; a refused attempt fails with
 * OFFLINE_NETWORK_ATTEMPT naming the host and what was allowed, and is recorded; the CLI then
 * exits 3 naming the first one, whatever the command made of the failure (a fetch error
 * wrapped as "unreachable" must not pass as a normal offline answer).
 *
 * What is allowed (docs/airgap.md "What --offline guarantees"):
 * - a layout input (`oci-layout:`, `--layout`): nothing at all;
 * - registry references: the registries of the images the command verifies, as the registry
 *   client dials them ({@link allowOfflineRegistry}), and what those registries send the
 *   client to ({@link offlineRegistryFetch}): the token realm of a bearer challenge and the
 *   first hop of a redirect (blob storage). Nothing else: no trust server, Notary server, CRL,
 *   Rekor or other token service.
 */
import dgram from 'node:dgram';
import dns from 'node:dns';
import net from 'node:net';
import { syncBuiltinESMExports } from 'node:module';
import { OcitrustError } from '../lib/errors/index.js';
import { cancelBody } from '../lib/http/body.js';
import { parseWwwAuthenticate } from '../lib/oci/auth.js';
import type { FetchLike } from '../lib/oci/transport.js';
import { formatEndpoint, type OfflineAllowlist } from './offline-allowlist.js';
import { activeGuard, setActiveGuard } from './offline-state.js';

// The cheap questions every command asks (is --offline on, which registry to allow) live in
// cli/offline-state.ts, so that this module and its built-ins load only under --offline.
export { allowOfflineRegistry, offlineAllowlistActive, offlineGuardMode } from './offline-state.js';

/** An installed guard. */
export interface OfflineGuard {
  /** What was refused (`connect 127.0.0.1:5000`, `lookup example.com`), in order. */
  readonly attempts: readonly string[];
  /** What may be reached; undefined for a layout input (nothing, and nothing can be added). */
  readonly allowlist: OfflineAllowlist | undefined;
  /** Restores the original functions. */
  uninstall(): void;
}

function allowedText(g: { allowlist: OfflineAllowlist | undefined }): string {
  return g.allowlist ? `allowed: ${g.allowlist.describe()}` : 'allowed: nothing (a layout input makes no network access at all)';
}

function refused(what: string, g: { allowlist: OfflineAllowlist | undefined }): OcitrustError {
  return new OcitrustError('OFFLINE_NETWORK_ATTEMPT', `--offline: refused ${what}; ${allowedText(g)}`);
}

type ConnectTarget = { path: string } | { host: string; port: string };

function connectTarget(args: unknown[]): ConnectTarget {
  const a = args[0];
  if (Array.isArray(a)) return connectTarget(a);
  if (typeof a === 'object' && a !== null) {
    const o = a as { host?: unknown; port?: unknown; path?: unknown };
    if (typeof o.path === 'string') return { path: o.path };
    return { host: String(o.host ?? 'localhost'), port: String(o.port ?? '') };
  }
  if (typeof a === 'string' && !/^\d+$/.test(a)) return { path: a };
  return { host: typeof args[1] === 'string' ? args[1] : 'localhost', port: String(a) };
}

function describeTarget(t: ConnectTarget): string {
  if ('path' in t) return `connect ${t.path}`;
  const port = /^[0-9]{1,5}$/.test(t.port) ? Number(t.port) : undefined;
  return port === undefined ? `connect ${t.host}:${t.port}` : `connect ${formatEndpoint(t.host.replace(/^\[|\]$/g, ''), port)}`;
}

/**
 * Installs the guard for this process. Without `allowlist`, nothing is allowed and nothing can
 * be added (a layout input); with one, its endpoints are, and more may be added while the
 * command runs ({@link allowOfflineRegistry}, {@link offlineRegistryFetch}).
 * @example const g = installOfflineGuard(); try { await run(); } finally { g.uninstall(); }
 */
export function installOfflineGuard(opts: { allowlist?: OfflineAllowlist } = {}): OfflineGuard {
  const attempts: string[] = [];
  const allowlist = opts.allowlist;
  const g = { attempts, allowlist };
  const restore: (() => void)[] = [];
  const patch = <T extends object>(obj: T, key: string, make: (orig: (...a: unknown[]) => unknown) => unknown): void => {
    const rec = obj as Record<string, unknown>;
    const orig = rec[key];
    if (typeof orig !== 'function') return;
    rec[key] = make(orig as (...a: unknown[]) => unknown);
    restore.push(() => {
      rec[key] = orig;
    });
  };

  patch(net.Socket.prototype, 'connect', (orig) =>
    function (this: net.Socket, ...args: unknown[]) {
      const t = connectTarget(args);
      if (!('path' in t) && allowlist?.allowsConnect(t.host, t.port)) return orig.apply(this, args);
      const what = describeTarget(t);
      attempts.push(what);
      // Failed the way a refused connection fails: asynchronously, with an 'error' event.
      process.nextTick(() => this.destroy(refused(what, g)));
      return this;
    },
  );
  for (const key of ['send', 'bind', 'connect']) {
    patch(dgram.Socket.prototype, key, () =>
      function (this: dgram.Socket) {
        const what = `udp ${key}`;
        attempts.push(what);
        throw refused(what, g);
      },
    );
  }
  const dnsKeys = ['lookup', 'lookupService', 'resolve', 'resolve4', 'resolve6', 'resolveAny', 'resolveCname', 'resolveMx', 'resolveNs', 'resolveTxt', 'resolveSrv', 'resolvePtr', 'resolveNaptr', 'resolveSoa', 'resolveCaa', 'reverse'];
  /** A DNS query for an allowed host passes; anything else is recorded and refused. */
  const dnsRefusal = (key: string, args: unknown[]): OcitrustError | undefined => {
    if (typeof args[0] === 'string' && allowlist?.allowsLookup(args[0])) return undefined;
    const what = `${key} ${String(args[0])}`;
    attempts.push(what);
    return refused(what, g);
  };
  for (const key of dnsKeys) {
    patch(dns, key, (orig) =>
      function (this: unknown, ...args: unknown[]) {
        const e = dnsRefusal(key, args);
        if (!e) return orig.apply(this, args);
        const cb = args[args.length - 1];
        if (typeof cb === 'function') {
          process.nextTick(() => (cb as (e: Error) => void)(e));
          return undefined;
        }
        throw e;
      },
    );
    patch(dns.promises, key, (orig) =>
      async function (this: unknown, ...args: unknown[]) {
        const e = dnsRefusal(key, args);
        if (e) throw e;
        return orig.apply(this, args);
      },
    );
    for (const proto of [dns.Resolver.prototype, dns.promises.Resolver.prototype]) {
      patch(proto, key, (orig) =>
        function (this: unknown, ...args: unknown[]) {
          const e = dnsRefusal(key, args);
          if (e) throw e;
          return orig.apply(this, args);
        },
      );
    }
  }
  // Named ESM imports of the built-ins (`import { lookup } from 'node:dns'`) see the patches too.
  syncBuiltinESMExports();
  const guard: OfflineGuard = {
    attempts,
    allowlist,
    uninstall() {
      for (const r of restore.reverse()) r();
      restore.length = 0;
      syncBuiltinESMExports();
      if (activeGuard() === guard) setActiveGuard(undefined);
    },
  };
  setActiveGuard(guard);
  return guard;
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

/**
 * A fetch for the registry client under an `--offline` guard with an allowlist: a response of an
 * allowed registry that sends the client elsewhere allows that place, since pulling needs it —
 * the realm of a bearer challenge (`WWW-Authenticate: Bearer realm="https://auth.example/token"`,
 * the registry's own token service) and the first hop of a redirect (blob storage such as
 * Docker Hub's CDN or an S3 bucket). What the realm or the storage answers allows nothing more.
 * Without such a guard, `inner` itself.
 */
export function offlineRegistryFetch(inner: FetchLike): FetchLike {
  return async (url, init) => {
    const list = activeGuard()?.allowlist;
    const from = list ? registryEntry(list, url) : undefined;
    if (!list || !from) return inner(url, init);
    const wantsFollow = init.redirect === undefined || init.redirect === 'follow';
    const res = await inner(url, wantsFollow ? { ...init, redirect: 'manual' } : init);
    if (res.status === 401) {
      for (const c of parseWwwAuthenticate(res.headers.get('www-authenticate') ?? '')) {
        if (c.scheme !== 'bearer' || !c.params.realm) continue;
        try {
          list.addUrl(c.params.realm, `token realm of ${from}`);
        } catch {
          // Not an http(s) URL: the authenticator refuses it with a coded error.
        }
      }
      return res;
    }
    const location = res.headers.get('location');
    if (!wantsFollow || !isRedirect(res.status) || location === null) return res;
    try {
      list.addUrl(new URL(location, url).toString(), `redirect of ${from}`);
    } catch {
      return res;
    }
    // Again, following now: the fetch's own redirect rules (credentials dropped across origins).
    await cancelBody(res);
    return inner(url, init);
  };
}

/** The registry an allowed registry endpoint belongs to (`registry of X` → X). */
function registryEntry(list: OfflineAllowlist, url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  const e = list.allowsConnect(u.hostname, u.port !== '' ? u.port : u.protocol === 'https:' ? 443 : 80);
  return e && e.why.startsWith('registry of ') ? e.why.slice('registry of '.length) : undefined;
}

/** The error to report when the guard refused something. */
export function offlineViolation(g: OfflineGuard): OcitrustError | undefined {
  if (g.attempts.length === 0) return undefined;
  return new OcitrustError('OFFLINE_NETWORK_ATTEMPT', `--offline: refused ${g.attempts.length} network access(es), first: ${g.attempts[0]}; ${allowedText(g)}; the result is not an offline answer`);
}
