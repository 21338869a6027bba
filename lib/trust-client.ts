/**
 * Client of the trust server's write API (DESIGN §7): create a collection, read its server-held
 * snapshot/timestamp keys, publish root and/or targets metadata. Reads of TUF metadata go
 * through lib/tuf (`HttpMetadataSource`), which checks everything; this client only moves
 * documents the caller built and signed.
 *
 * Failures are coded: a server that cannot be reached, times out or answers nonsense is an
 * environment error (exit 3); an error the server reports with a catalogued code (409
 * PUBLISH_VERSION_CONFLICT, 403 PERMISSION_DENIED, …) keeps that code.
 */
import { CATALOGUE, OcitrustError, assertArg, type ErrorCode } from './errors/index.js';
import { isJsonObject, parseJson } from './json.js';
import { DEFAULT_LIMITS, type Limits } from './config.js';
import { defaultFetch, type FetchFunction } from './http/fetch.js';
import { readBoundedBody } from './http/read.js';
import { PublicKey } from './keys/key.js';
import { isTrustServerAnswer, notTrustServer, printable } from './trust-server-id.js';

/** What the server tells about a collection (`GET …/keys`, `POST /v1/collections`). */
export interface CollectionInfo {
  readonly name: string;
  /** The server-held snapshot and timestamp keys to name in root metadata. */
  readonly keys: { readonly snapshot: PublicKey; readonly timestamp: PublicKey };
  /** Current versions (0 when nothing is published yet). */
  readonly versions: { readonly root: number; readonly targets: number; readonly snapshot: number; readonly timestamp: number };
}

/** Result of a publish. */
export interface PublishResult {
  readonly collection: string;
  readonly versions: { readonly root: number; readonly targets: number; readonly snapshot: number; readonly timestamp: number };
}

/** A token as the server describes it to its holder ({@link TrustServerClient.whoami}). */
export interface TokenInfo {
  readonly id: string;
  readonly name: string;
  /** reader, publisher or admin. */
  readonly role: string;
  /** Collection patterns the role applies to. */
  readonly patterns: readonly string[];
  /** `YYYY-MM-DDTHH:MM:SSZ`, or null: never expires. */
  readonly expiresAt: string | null;
}

/** Options of {@link TrustServerClient}. */
export interface TrustServerClientOptions {
  /** Bearer token (never logged). */
  readonly token?: string;
  /** Where the token came from (`OCITRUST_TOKEN`, `--token-file F`), named when the server refuses it. */
  readonly tokenSource?: string;
  /** `requestTimeoutMs` bounds each request, body included. */
  readonly limits?: Limits;
  /** Injected fetch (default: {@link defaultFetch}, node:http with keep-alive). */
  readonly fetch?: typeof fetch;
}

/** Largest JSON answer of the write API accepted (the keys document and publish results are small). */
const MAX_ANSWER_BYTES = 1024 * 1024;

/**
 * The trust server's write API over HTTP.
 *
 * @example
 * const ts = new TrustServerClient('http://127.0.0.1:7443', { token });
 * const info = await ts.createCollection('registry.example.com/app');
 */
export class TrustServerClient {
  readonly baseUrl: string;
  readonly #token: string | undefined;
  readonly #limits: Limits;
  readonly #fetch: FetchFunction;
  readonly #tokenSource: string | undefined;

  /** @throws INVALID_ARGUMENT for a URL that is not absolute http(s) */
  constructor(baseUrl: string, opts: TrustServerClientOptions = {}) {
    let u: URL;
    try {
      u = new URL(baseUrl);
    } catch {
      assertArg(false, 'server', 'absolute http(s) URL', baseUrl);
    }
    assertArg(u.protocol === 'http:' || u.protocol === 'https:', 'server', 'http: or https: URL', u.protocol);
    this.baseUrl = u.toString().replace(/\/+$/, '');
    this.#token = opts.token;
    this.#limits = opts.limits ?? DEFAULT_LIMITS;
    this.#fetch = opts.fetch ?? defaultFetch;
    this.#tokenSource = opts.tokenSource;
  }

  /**
   * Creates an empty collection with fresh server keys (admin token).
   * @throws COLLECTION_EXISTS, COLLECTION_NAME_INVALID, AUTH_REQUIRED, PERMISSION_DENIED, TRUST_SERVER_*
   */
  async createCollection(name: string): Promise<CollectionInfo> {
    return parseInfo(await this.#call('POST', '/v1/collections', { name }), name);
  }

  /**
   * The token this client carries, as the server knows it (role, patterns, expiry; never the
   * secret): `trust whoami`, and the check `trust login` makes before storing a token.
   * @throws AUTH_REQUIRED (no token), AUTH_TOKEN_INVALID (unknown, revoked or expired), TRUST_SERVER_*
   */
  async whoami(): Promise<TokenInfo> {
    const v = await this.#call('GET', '/v1/tokens/self');
    const str = (x: unknown): x is string => typeof x === 'string';
    if (!isJsonObject(v) || !str(v.id) || !str(v.name) || !str(v.role) || !Array.isArray(v.patterns) || !v.patterns.every(str) || !(v.expiresAt === null || str(v.expiresAt))) {
      throw bad('token answer without id, name, role, patterns and expiresAt');
    }
    return { id: v.id, name: v.name, role: v.role, patterns: v.patterns as string[], expiresAt: v.expiresAt };
  }

  /**
   * The server keys and versions of a collection.
   * @throws COLLECTION_NOT_FOUND, TRUST_SERVER_*
   */
  async collectionInfo(name: string): Promise<CollectionInfo> {
    return parseInfo(await this.#call('GET', `${collectionPath(name)}/keys`), name);
  }

  /**
   * Publishes new root and/or targets metadata (signed documents as JSON). The server checks
   * them, signs snapshot and timestamp and commits; a stale version is PUBLISH_VERSION_CONFLICT.
   * @throws PUBLISH_*, AUTH_REQUIRED, PERMISSION_DENIED, TRUST_SERVER_*
   */
  async publish(name: string, docs: { root?: unknown; targets?: unknown }): Promise<PublishResult> {
    assertArg(docs.root !== undefined || docs.targets !== undefined, 'docs', '{root?, targets?} with at least one', docs);
    const v = await this.#call('POST', `${collectionPath(name)}/metadata`, docs);
    if (!isJsonObject(v) || !isJsonObject(v.versions)) throw bad('publish answer without versions');
    return { collection: typeof v.collection === 'string' ? v.collection : name, versions: parseVersions(v.versions) };
  }

  /**
   * Any JSON route of the server's API (webhook administration and the like): the answer as
   * parsed JSON, errors mapped to their catalogue codes like every other call.
   * @throws the server's error codes, TRUST_SERVER_*
   */
  async api(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<unknown> {
    assertArg(typeof path === 'string' && path.startsWith('/v1/'), 'path', 'an API path under /v1/', path);
    return this.#call(method, path, body);
  }

  async #call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<unknown> {
    const url = `${this.baseUrl}${path}`;
    const timeoutMs = this.#limits.requestTimeoutMs;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    let res: Response;
    try {
      res = await this.#fetch(url, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(timeoutMs),
        // A redirect could carry the bearer token to another host.
        redirect: 'manual',
      });
    } catch (e) {
      throw networkError(e, method, url, timeoutMs);
    }
    let bytes: Uint8Array;
    try {
      bytes = await readBoundedBody(res, MAX_ANSWER_BYTES, (declared) =>
        new OcitrustError('TRUST_SERVER_BAD_RESPONSE', declared !== undefined ? `${method} ${url}: answer of ${declared} bytes exceeds ${MAX_ANSWER_BYTES}` : `${method} ${url}: answer longer than ${MAX_ANSWER_BYTES} bytes`),
      );
    } catch (e) {
      if (e instanceof OcitrustError) throw e;
      throw networkError(e, method, url, timeoutMs);
    }
    let doc: unknown;
    let parseError = '';
    try {
      doc = bytes.length === 0 ? null : parseJson(bytes, { maxBytes: MAX_ANSWER_BYTES, what: 'trust server answer' });
    } catch (e) {
      doc = undefined;
      parseError = `: ${(e as Error).message}`;
    }
    // A registry or a web page at the --server address is a wrong address, not a broken server.
    const ours = isTrustServerAnswer(res.headers, doc);
    if (res.status >= 200 && res.status < 300) {
      if (doc === undefined || doc === null) {
        if (!ours) throw notTrustServer(this.baseUrl, `${method} ${path}`, res.status, res.headers, bytes);
        const got = bytes.length === 0 ? 'an empty body' : `${bytes.length} bytes starting ${JSON.stringify(printable(bytes, 40))}`;
        throw bad(`${method} ${path}: expected a JSON answer, got ${got}${parseError}`);
      }
      return doc;
    }
    // The server answers errors as {code, message} with codes from the shared catalogue.
    if (isJsonObject(doc) && typeof doc.code === 'string' && Object.prototype.hasOwnProperty.call(CATALOGUE, doc.code)) {
      const msg = typeof doc.message === 'string' ? doc.message.replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, 500) : doc.code;
      // A refusal of the credentials says which token was sent (exit 2: fix the token, not the network).
      const sent = res.status === 401 || res.status === 403 ? (this.#token ? `; sent the token from ${this.#tokenSource ?? 'the configuration'}` : '; no token was sent (run `trust login SERVER`, or set OCITRUST_TOKEN or --token-file)') : '';
      throw new OcitrustError(doc.code as ErrorCode, `trust server: ${msg}${sent}`, { details: { status: res.status } });
    }
    if (res.status === 401 || res.status === 403) {
      // Even without the server's error body, a refusal is about the credentials, not the network.
      const code = res.status === 403 ? 'PERMISSION_DENIED' : this.#token ? 'AUTH_TOKEN_INVALID' : 'AUTH_REQUIRED';
      const sent = this.#token ? `sent the token from ${this.#tokenSource ?? 'the configuration'}` : 'no token was sent (run `trust login SERVER`, or set OCITRUST_TOKEN or --token-file)';
      throw new OcitrustError(code, `${method} ${url}: HTTP ${res.status}; ${sent}`, { details: { status: res.status } });
    }
    if (!ours && (res.status === 404 || res.status === 405)) throw notTrustServer(this.baseUrl, `${method} ${path}`, res.status, res.headers, bytes);
    const why = res.status >= 300 && res.status < 400 ? ' (redirects are not followed; use the final URL)' : '';
    throw new OcitrustError('TRUST_SERVER_ERROR', `${method} ${url}: HTTP ${res.status}${why}`, { details: { status: res.status } });
  }
}

/** `/v1/collections/<name>` with each segment percent-encoded. */
function collectionPath(name: string): string {
  assertArg(typeof name === 'string' && name.length > 0 && !name.split('/').some((s) => s === '' || s === '.' || s === '..'), 'collection', 'collection name', name);
  return `/v1/collections/${name.split('/').map(encodeURIComponent).join('/')}`;
}

function bad(why: string): OcitrustError {
  return new OcitrustError('TRUST_SERVER_BAD_RESPONSE', `trust server: ${why}`);
}

function parseVersions(v: Record<string, unknown>): CollectionInfo['versions'] {
  const n = (k: string): number => {
    const x = v[k];
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) throw bad(`versions.${k} is not a version number`);
    return x;
  };
  return { root: n('root'), targets: n('targets'), snapshot: n('snapshot'), timestamp: n('timestamp') };
}

function parseInfo(v: unknown, name: string): CollectionInfo {
  if (!isJsonObject(v) || !isJsonObject(v.keys) || !isJsonObject(v.versions)) throw bad('collection answer without keys and versions');
  let snapshot: PublicKey;
  let timestamp: PublicKey;
  try {
    snapshot = PublicKey.fromJSON(v.keys.snapshot);
    timestamp = PublicKey.fromJSON(v.keys.timestamp);
  } catch (e) {
    throw new OcitrustError('TRUST_SERVER_BAD_RESPONSE', `trust server: bad server key: ${(e as Error).message}`, { cause: e });
  }
  return { name: typeof v.name === 'string' ? v.name : name, keys: { snapshot, timestamp }, versions: parseVersions(v.versions) };
}

function networkError(e: unknown, method: string, url: string, timeoutMs: number): OcitrustError {
  const name = (e as { name?: unknown } | null)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new OcitrustError('TRUST_SERVER_TIMEOUT', `${method} ${url}: no complete answer within ${timeoutMs} ms`, { cause: e });
  }
  const cause = (e as { cause?: { code?: unknown } } | null)?.cause;
  const why = typeof cause?.code === 'string' ? unreachableText(cause.code) : e instanceof Error ? e.message : String(e);
  return new OcitrustError('TRUST_SERVER_UNREACHABLE', `${method} ${url}: ${why}`, { cause: e });
}

/** A refused connection mostly means no server runs there: say what to check. */
function unreachableText(code: string): string {
  return code === 'ECONNREFUSED' ? 'connection refused (ECONNREFUSED): is `trust server` running? set OCITRUST_SERVER or --server to its URL' : code;
}
