/**
 * Header handling of the proxy: what goes upstream (RFC 9110 §7.6.1: hop-by-hop fields are
 * the connection's, not the message's, so they are dropped; our own credential never leaves
 * the proxy) and what comes back (upload `Location` and pagination `Link` made proxy-relative,
 * token `realm` rewritten only where configured).
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** The header carrying an ocitrust token next to the client's upstream credentials. */
export const OCITRUST_TOKEN_HEADER = 'x-ocitrust-token';

/** Hop-by-hop fields (RFC 9110 §7.6.1, plus the legacy ones proxies have always dropped). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Request fields the proxy sets itself or must not pass on. */
const REQUEST_DROP = new Set(['host', 'expect', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'forwarded', 'x-real-ip', OCITRUST_TOKEN_HEADER]);

/** Fields named in `Connection` are hop-by-hop too. */
function connectionListed(h: IncomingHttpHeaders): Set<string> {
  const c = h.connection;
  const out = new Set<string>();
  if (typeof c === 'string') for (const t of c.split(',')) if (t.trim()) out.add(t.trim().toLowerCase());
  return out;
}

/** Options of {@link upstreamRequestHeaders}. */
export interface UpstreamHeaderOptions {
  /** `host[:port]` of the upstream. */
  readonly upstreamHost: string;
  /** Client address, sent as `X-Forwarded-For`. */
  readonly clientIp: string;
  /** Drop the client's Authorization (it carried an ocitrust token). */
  readonly dropAuthorization: boolean;
  /** Authorization to send instead (configured upstream credentials). */
  readonly authorization?: string;
  /** Headers to leave out as well (lowercase), e.g. conditional ones on a manifest fetch. */
  readonly omit?: readonly string[];
}

/** The headers of a request as it goes upstream. */
export function upstreamRequestHeaders(h: IncomingHttpHeaders, o: UpstreamHeaderOptions): OutgoingHttpHeaders {
  const listed = connectionListed(h);
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined || HOP_BY_HOP.has(k) || listed.has(k) || REQUEST_DROP.has(k)) continue;
    if (o.omit?.includes(k)) continue;
    if (k === 'authorization' && o.dropAuthorization) continue;
    out[k] = v;
  }
  if (o.dropAuthorization && o.authorization) out.authorization = o.authorization;
  // The upstream builds absolute upload URLs from Host; with its own host we can recognise them.
  out.host = o.upstreamHost;
  out['x-forwarded-for'] = o.clientIp;
  return out;
}

/**
 * An upstream URL made proxy-relative when it points at the upstream itself (same origin):
 * `http://upstream:5000/v2/x/blobs/uploads/u?_state=…` → `/v2/x/blobs/uploads/u?_state=…`.
 * Relative URLs stay; URLs of other origins (a storage redirect) stay absolute.
 */
export function relativize(value: string, upstreamOrigin: string): string {
  let u: URL;
  try {
    u = new URL(value, upstreamOrigin);
  } catch {
    return value;
  }
  if (!/^[a-z][a-z0-9+.-]*:/i.test(value)) return value;
  return u.origin === upstreamOrigin ? `${u.pathname}${u.search}` : value;
}

/** A `Link` header (RFC 8288) with every upstream-absolute target made proxy-relative. */
export function relativizeLinks(value: string, upstreamOrigin: string): string {
  return value.replace(/<([^>]*)>/g, (_m, target: string) => `<${relativize(target, upstreamOrigin)}>`);
}

/** A `WWW-Authenticate` value with `realm` rewritten by the first matching prefix rule. */
export function rewriteRealm(value: string, rules: readonly (readonly [string, string])[]): string {
  if (rules.length === 0) return value;
  return value.replace(/(realm\s*=\s*)"([^"]*)"/gi, (m, lead: string, realm: string) => {
    for (const [from, to] of rules) if (realm.startsWith(from)) return `${lead}"${to}${realm.slice(from.length)}"`;
    return m;
  });
}

/** Options of {@link clientResponseHeaders}. */
export interface ClientHeaderOptions {
  /** Origin of the upstream (`http://127.0.0.1:5000`). */
  readonly upstreamOrigin: string;
  readonly realmRewrite: readonly (readonly [string, string])[];
}

/** The headers of an upstream response as they go to the client. */
export function clientResponseHeaders(h: IncomingHttpHeaders, o: ClientHeaderOptions): Record<string, string | string[]> {
  const listed = connectionListed(h);
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined || HOP_BY_HOP.has(k) || listed.has(k)) continue;
    if (k === 'location' && typeof v === 'string') out[k] = relativize(v, o.upstreamOrigin);
    else if (k === 'link' && typeof v === 'string') out[k] = relativizeLinks(v, o.upstreamOrigin);
    else if (k === 'www-authenticate' && typeof v === 'string') out[k] = rewriteRealm(v, o.realmRewrite);
    else out[k] = v;
  }
  return out;
}
