/**
 * Registry authentication: anonymous, HTTP basic, and the bearer token flow of the Docker
 * token authentication spec (distribution docs/spec/auth/token.md, oauth.md): a 401 with
 * `WWW-Authenticate: Bearer realm=…,service=…,scope=…` sends the client to the realm for a
 * token, which is cached per (registry, service, scopes) until shortly before it expires.
 */
import { OcitrustError } from '../errors/index.js';
import { parseJson, isJsonObject } from '../json.js';
import { isLoopbackHost } from '../reference.js';
import type { Credentials, CredentialProvider } from './credentials.js';
import type { HttpResponse, Transport } from './transport.js';

/** One parsed challenge of a `WWW-Authenticate` header. */
export interface Challenge {
  /** Lowercased scheme, e.g. `bearer`, `basic`. */
  readonly scheme: string;
  /** Lowercased parameter names → values. */
  readonly params: Readonly<Record<string, string>>;
}

/**
 * Parses a `WWW-Authenticate` header (RFC 7235 §4.1) into challenges. Tolerant of
 * whitespace and unquoted values; never throws.
 */
export function parseWwwAuthenticate(header: string): Challenge[] {
  const out: { scheme: string; params: Record<string, string> }[] = [];
  const s = header.slice(0, 8192);
  const n = s.length;
  let i = 0;
  const ws = (): void => {
    while (i < n && (s[i] === ' ' || s[i] === '\t')) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < n && /[!#$%&'*+.^_`|~0-9A-Za-z-]/.test(s[i]!)) i++;
    return s.slice(start, i);
  };
  /** True when a `name=` parameter (not a new scheme) starts at i. */
  const atParam = (): boolean => {
    const save = i;
    const name = token();
    ws();
    const yes = name !== '' && s[i] === '=';
    i = save;
    return yes;
  };
  while (i < n) {
    ws();
    if (s[i] === ',') {
      i++;
      continue;
    }
    const scheme = token();
    if (!scheme) {
      i++;
      continue;
    }
    const params = Object.create(null) as Record<string, string>;
    out.push({ scheme: scheme.toLowerCase(), params });
    ws();
    // token68 form (e.g. "Negotiate abc==") carries no parameters we use: skip it.
    if (i < n && s[i] !== ',' && !atParam()) {
      while (i < n && s[i] !== ',') i++;
      continue;
    }
    for (;;) {
      ws();
      while (s[i] === ',') {
        i++;
        ws();
      }
      if (i >= n || !atParam()) break;
      const name = token().toLowerCase();
      ws();
      i++; // '='
      ws();
      let value = '';
      if (s[i] === '"') {
        i++;
        while (i < n && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < n) i++;
          value += s[i];
          i++;
        }
        i++;
      } else {
        const start = i;
        while (i < n && s[i] !== ',' && s[i] !== ' ' && s[i] !== '\t') i++;
        value = s.slice(start, i);
      }
      if (!(name in params)) params[name] = value;
    }
  }
  return out;
}

/** Repository scope string (`repository:<path>:<actions>`). */
export function repositoryScope(path: string, actions: readonly ('pull' | 'push' | 'delete' | '*')[]): string {
  return `repository:${path}:${actions.join(',')}`;
}

interface CachedToken {
  readonly header: string;
  readonly expiresAt: number;
}

/** Options of {@link Authenticator}. */
export interface AuthenticatorOptions {
  readonly transport: Transport;
  readonly credentials: CredentialProvider;
  /** Allow sending credentials to non-loopback plain-HTTP realms (default false). */
  readonly insecure?: boolean;
  readonly now?: () => number;
  /** Largest token response accepted (bytes, default 1 MiB). */
  readonly maxTokenResponseBytes?: number;
}

const DEFAULT_TOKEN_SECONDS = 60;
const EXPIRY_MARGIN_MS = 10_000;

function basicHeader(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username ?? ''}:${c.password ?? ''}`, 'utf8').toString('base64')}`;
}

/**
 * Produces Authorization headers for registry requests and answers 401 challenges.
 * Holds the token cache; one instance per client.
 */
export class Authenticator {
  readonly #t: Transport;
  readonly #creds: CredentialProvider;
  readonly #insecure: boolean;
  readonly #now: () => number;
  readonly #maxToken: number;
  readonly #tokens = new Map<string, CachedToken>();
  /** Registries that answered with a Basic challenge: send Basic preemptively. */
  readonly #basic = new Set<string>();
  /** Last bearer challenge per registry, to fetch tokens for new scopes without a 401 round trip. */
  readonly #bearer = new Map<string, Challenge>();

  constructor(opts: AuthenticatorOptions) {
    this.#t = opts.transport;
    this.#creds = opts.credentials;
    this.#insecure = opts.insecure ?? false;
    this.#now = opts.now ?? Date.now;
    this.#maxToken = opts.maxTokenResponseBytes ?? 1024 * 1024;
  }

  /** Authorization header to send proactively for `registry` and `scopes`, when known. */
  async cached(registry: string, scopes: readonly string[]): Promise<string | undefined> {
    if (this.#basic.has(registry)) {
      const c = await this.#creds(registry);
      return c && c.username !== undefined ? basicHeader(c) : undefined;
    }
    const ch = this.#bearer.get(registry);
    if (!ch) return undefined;
    const hit = this.#tokens.get(this.#key(registry, ch, scopes));
    if (hit && hit.expiresAt > this.#now()) return hit.header;
    // A known bearer registry and a new scope: get the token now rather than after a 401.
    return this.#fetchToken(registry, ch, scopes);
  }

  /**
   * Answers a 401 response: returns the Authorization header to retry with.
   * A Basic challenge of realm "ocitrust" (the trust server's embedded registry) gets a hint
   * naming what to send, since a registry login there is a trust server token, not a password.
   * @throws OcitrustError REGISTRY_AUTH_FAILED, REGISTRY_BAD_RESPONSE, REGISTRY_UNREACHABLE, REGISTRY_TIMEOUT
   */
  async challenge(registry: string, res: HttpResponse, scopes: readonly string[]): Promise<string> {
    const header = res.headers.get('www-authenticate');
    await res.discard();
    if (!header) throw new OcitrustError('REGISTRY_AUTH_FAILED', `${registry}: 401 without a WWW-Authenticate challenge`);
    const challenges = parseWwwAuthenticate(header);
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer) {
      if (!bearer.params.realm) throw new OcitrustError('REGISTRY_BAD_RESPONSE', `${registry}: bearer challenge without a realm`);
      this.#bearer.set(registry, bearer);
      // The challenge's own scope names what this request needs; keep ours too.
      const need = new Set(scopes);
      for (const sc of (bearer.params.scope ?? '').split(' ')) if (sc) need.add(sc);
      const all = [...need].sort();
      this.#tokens.delete(this.#key(registry, bearer, all));
      // Also file the token under the caller's scopes so the next request sends it at once.
      return this.#fetchToken(registry, bearer, all, scopes);
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      const c = await this.#creds(registry);
      if (!c || c.username === undefined) {
        throw new OcitrustError('REGISTRY_AUTH_FAILED', `${registry} requires basic authentication and no credentials were found${embeddedRegistryHint(header)}`);
      }
      this.#basic.add(registry);
      return basicHeader(c);
    }
    throw new OcitrustError('REGISTRY_AUTH_FAILED', `${registry}: unsupported authentication scheme(s): ${challenges.map((c) => c.scheme).join(', ').slice(0, 100)}`);
  }

  /** Forgets cached tokens (e.g. after the registry rejected one). */
  invalidate(registry: string): void {
    for (const k of [...this.#tokens.keys()]) if (k.startsWith(`${registry}|`)) this.#tokens.delete(k);
  }

  #key(registry: string, ch: Challenge, scopes: readonly string[]): string {
    return `${registry}|${ch.params.realm ?? ''}|${ch.params.service ?? ''}|${[...scopes].sort().join(' ')}`;
  }

  async #fetchToken(registry: string, ch: Challenge, scopes: readonly string[], alias?: readonly string[]): Promise<string> {
    const realm = ch.params.realm!;
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new OcitrustError('REGISTRY_BAD_RESPONSE', `${registry}: token realm is not a URL`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new OcitrustError('REGISTRY_BAD_RESPONSE', `${registry}: token realm must be http(s)`);
    }
    const creds = await this.#creds(registry);
    if (creds?.registryToken) return `Bearer ${creds.registryToken}`;
    const sendsSecret = !!creds && (creds.username !== undefined || creds.identityToken !== undefined);
    if (sendsSecret && url.protocol === 'http:' && !isLoopbackHost(url.host) && !this.#insecure) {
      throw new OcitrustError('REGISTRY_AUTH_FAILED', `${registry}: refusing to send credentials to a plain-HTTP token realm ${url.host}`);
    }
    const service = ch.params.service;
    let res: HttpResponse;
    if (creds?.identityToken) {
      // OAuth2 refresh-token grant (distribution docs/spec/auth/oauth.md).
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'ocitrust' });
      if (service) form.set('service', service);
      if (scopes.length) form.set('scope', scopes.join(' '));
      res = await this.#t.send({
        method: 'POST',
        url: url.toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new TextEncoder().encode(form.toString()),
      });
    } else {
      if (service) url.searchParams.set('service', service);
      for (const sc of scopes) url.searchParams.append('scope', sc);
      const headers: Record<string, string> = {};
      if (creds && creds.username !== undefined) headers.authorization = basicHeader(creds);
      res = await this.#t.send({ method: 'GET', url: url.toString(), headers });
    }
    if (res.status === 401 || res.status === 403) {
      await res.discard();
      throw new OcitrustError('REGISTRY_AUTH_FAILED', `${registry}: token service ${url.host} refused ${creds ? 'the credentials' : 'anonymous access'} (${res.status})`);
    }
    if (res.status !== 200) {
      await res.discard();
      throw new OcitrustError('REGISTRY_AUTH_FAILED', `${registry}: token service ${url.host} answered ${res.status}`);
    }
    let doc: unknown;
    try {
      doc = parseJson(await res.bytes(this.#maxToken), { maxBytes: this.#maxToken, what: 'token response' });
    } catch (e) {
      if (e instanceof OcitrustError && e.code.startsWith('REGISTRY_')) throw e;
      throw new OcitrustError('REGISTRY_BAD_RESPONSE', `${registry}: token response is not JSON`, { cause: e });
    }
    if (!isJsonObject(doc)) throw new OcitrustError('REGISTRY_BAD_RESPONSE', `${registry}: token response is not an object`);
    const token = typeof doc.token === 'string' && doc.token ? doc.token : typeof doc.access_token === 'string' ? doc.access_token : '';
    if (!token || /[\r\n]/.test(token)) throw new OcitrustError('REGISTRY_BAD_RESPONSE', `${registry}: token response has no usable token`);
    let seconds = typeof doc.expires_in === 'number' && Number.isFinite(doc.expires_in) && doc.expires_in > 0 ? doc.expires_in : DEFAULT_TOKEN_SECONDS;
    seconds = Math.min(seconds, 24 * 3600);
    const issued = typeof doc.issued_at === 'string' ? Date.parse(doc.issued_at) : NaN;
    const base = Number.isNaN(issued) || issued > this.#now() ? this.#now() : issued;
    const header = `Bearer ${token}`;
    const entry = { header, expiresAt: base + seconds * 1000 - EXPIRY_MARGIN_MS };
    this.#tokens.set(this.#key(registry, ch, scopes), entry);
    if (alias) this.#tokens.set(this.#key(registry, ch, alias), entry);
    return header;
  }
}

/**
 * Advice for a 401 from an ocitrust embedded registry (its challenge is `Basic realm="ocitrust"`):
 * the password is a trust server token. Empty for any other registry.
 */
export function embeddedRegistryHint(wwwAuthenticate: string | null | undefined): string {
  if (!wwwAuthenticate || !/basic\s+realm="ocitrust"/i.test(wwwAuthenticate)) return '';
  return ' (an ocitrust embedded registry: the password is a trust server token with publisher rights to push, reader to pull; `trust login SERVER` makes the CLI send it, `docker login HOST -u token` or `skopeo --creds token:$TOKEN` for other tools)';
}
