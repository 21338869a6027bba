import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { CATALOGUE, OcitrustError, assertArg, isOcitrustError } from '../errors/index.js';
import { DEFAULT_LIMITS, type Limits } from '../config.js';
import { defaultFetch, type FetchFunction } from '../http/fetch.js';
import { readBodyHead, readBoundedBody } from '../http/read.js';
import { cancelBody } from '../http/body.js';
import { IDENTIFY_BODY_BYTES, hasTrustServerHeader, isTrustServerAnswer, notTrustServer, printable } from '../trust-server-id.js';

/** One metadata file of the consistent-snapshot layout: `N.root.json`, `timestamp.json`, `N.snapshot.json`, `N.targets.json`. */
export type MetadataFile =
  | { readonly role: 'root'; readonly version: number }
  | { readonly role: 'timestamp' }
  | { readonly role: 'snapshot'; readonly version: number }
  | { readonly role: 'targets'; readonly version: number };

/**
 * The file name of a metadata file (TUF consistent snapshots, the names tuf-js requests).
 * @example metadataFileName({ role: 'root', version: 2 }) // '2.root.json'
 * @throws INVALID_ARGUMENT
 */
export function metadataFileName(f: MetadataFile): string {
  if (f.role === 'timestamp') return 'timestamp.json';
  assertArg(['root', 'snapshot', 'targets'].includes(f.role), 'role', 'root, timestamp, snapshot or targets', f.role);
  assertArg(Number.isSafeInteger(f.version) && f.version >= 1, 'version', 'integer ≥ 1', f.version);
  return `${f.version}.${f.role}.json`;
}

/**
 * Parses a file name of the layout back into a {@link MetadataFile} (for servers routing
 * `GET …/<file>`); null for any other name.
 */
export function parseMetadataFileName(name: string): MetadataFile | null {
  if (name === 'timestamp.json') return { role: 'timestamp' };
  const m = /^([1-9][0-9]{0,14})\.(root|snapshot|targets)\.json$/.exec(name);
  if (!m) return null;
  const version = Number(m[1]);
  if (!Number.isSafeInteger(version)) return null;
  return { role: m[2] as 'root' | 'snapshot' | 'targets', version };
}

/**
 * Where the TUF client reads metadata from. Implementations return the raw bytes, or null when
 * the file does not exist (which ends the root walk, TUF 5.3.3); they never return more than
 * `maxBytes` and report failures to read as environment errors (exit 3), so that "could not
 * decide" is never mistaken for "verification failed".
 */
export interface MetadataSource {
  /** For messages, e.g. the URL of the collection. */
  readonly description: string;
  /**
   * @throws TUF_SOURCE_BAD_RESPONSE (more than `maxBytes`), TUF_SOURCE_UNREACHABLE, TUF_SOURCE_TIMEOUT,
   *   TUF_SOURCE_HTTP_ERROR, TRUST_SERVER_NOT_OCITRUST;
   *   AUTH_REQUIRED, AUTH_TOKEN_INVALID, PERMISSION_DENIED, IP_NOT_ALLOWED (exit 2: never "unreachable")
   */
  fetch(file: MetadataFile, maxBytes: number): Promise<Uint8Array | null>;
}

/**
 * Loads metadata bytes that came from a source with `load` (a parse or a TrustedSet update).
 * The bytes are the source's answer, not the user's input: what the parser reports as an input
 * error (exit 2: not JSON, wrong shape, too large, unsupported) becomes TUF_SOURCE_BAD_RESPONSE
 * (exit 3, could not decide), with the original code and message kept. Security failures
 * (signatures, hashes, rollback, expiry: exit 1) pass through unchanged.
 *
 * @throws TUF_SOURCE_BAD_RESPONSE, and what `load` throws otherwise
 */
export function loadFromSource<T>(source: MetadataSource, file: MetadataFile, bytes: Uint8Array, load: (bytes: Uint8Array) => T): T {
  try {
    return load(bytes);
  } catch (e) {
    if (!isOcitrustError(e) || CATALOGUE[e.code].exit !== 2) throw e;
    const got = bytes.length === 0 ? 'an empty body' : `${bytes.length} bytes starting ${JSON.stringify(printable(bytes, 40))}`;
    throw new OcitrustError('TUF_SOURCE_BAD_RESPONSE', `${source.description}${metadataFileName(file)}: expected ${file.role} metadata, got ${got}: ${e.message} (${e.code})`, {
      cause: e,
      details: { cause: e.code },
    });
  }
}

function tooLarge(what: string, maxBytes: number, declared?: number): OcitrustError {
  return new OcitrustError('TUF_SOURCE_BAD_RESPONSE', declared !== undefined ? `${what}: expected at most ${maxBytes} bytes, got ${declared}` : `${what}: expected at most ${maxBytes} bytes, got more (cut off there)`);
}

/** Options of {@link HttpMetadataSource}. */
export interface HttpMetadataSourceOptions {
  /** `requestTimeoutMs` bounds each request, body included. */
  readonly limits?: Limits;
  /** Extra request headers, e.g. `authorization`. */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * Where the bearer token in `headers` came from (e.g. `OCITRUST_TOKEN`, `--token-file t.txt`),
   * named when the server refuses it.
   */
  readonly tokenSource?: string;
  /** Injected fetch (default: {@link defaultFetch}, node:http with keep-alive). */
  readonly fetch?: typeof fetch;
}

/**
 * Reads a collection from an ocitrust trust server:
 * `GET {base}/v1/collections/<collection>/{N.root,timestamp,N.snapshot,N.targets}.json`, each
 * segment of the collection name percent-encoded. 404 from a trust server means "absent"
 * (lib/trust-server-id.ts tells one from a registry or a web page, which is
 * TRUST_SERVER_NOT_OCITRUST); other failures are coded environment errors. Bodies are read as a
 * stream and cut off at `maxBytes`.
 *
 * @example new HttpMetadataSource('https://trust.example.com', 'registry.example.com/team/app')
 */
export class HttpMetadataSource implements MetadataSource {
  readonly description: string;
  readonly #base: URL;
  readonly #limits: Limits;
  readonly #headers: Readonly<Record<string, string>>;
  readonly #fetch: FetchFunction;
  readonly #tokenSource: string | undefined;

  /** @throws INVALID_ARGUMENT */
  constructor(baseUrl: string | URL, collection: string, opts: HttpMetadataSourceOptions = {}) {
    assertArg(typeof collection === 'string' && collection.length > 0 && !collection.split('/').some((s) => s === '' || s === '.' || s === '..'), 'collection', 'non-empty name without empty, "." or ".." segments', collection);
    let base: URL;
    try {
      base = new URL(String(baseUrl));
    } catch {
      assertArg(false, 'baseUrl', 'absolute http(s) URL', baseUrl);
    }
    assertArg(base.protocol === 'http:' || base.protocol === 'https:', 'baseUrl', 'http: or https: URL', base.protocol);
    const path = base.pathname.endsWith('/') ? base.pathname : `${base.pathname}/`;
    const encoded = collection.split('/').map(encodeURIComponent).join('/');
    this.#base = new URL(`${path}v1/collections/${encoded}/`, base.origin);
    this.description = this.#base.toString();
    this.#limits = opts.limits ?? DEFAULT_LIMITS;
    this.#headers = { ...(opts.headers ?? {}) };
    this.#fetch = opts.fetch ?? defaultFetch;
    this.#tokenSource = opts.tokenSource;
  }

  async fetch(file: MetadataFile, maxBytes: number): Promise<Uint8Array | null> {
    const url = new URL(metadataFileName(file), this.#base);
    const timeoutMs = this.#limits.requestTimeoutMs;
    let res: Response;
    try {
      res = await this.#fetch(url, {
        headers: { accept: 'application/json', ...this.#headers },
        signal: AbortSignal.timeout(timeoutMs),
        // Not followed: a redirect could carry the authorization header to another host, and
        // the trust server's layout has none.
        redirect: 'manual',
      });
    } catch (e) {
      throw networkError(e, url, timeoutMs);
    }
    if (res.status === 404) {
      // "Absent" only when a trust server says so: from a registry or a web server, a 404
      // means the address is wrong, not that the collection has no such file.
      if (hasTrustServerHeader(res.headers)) {
        await cancelBody(res).catch(() => undefined);
        return null;
      }
      let body: Uint8Array;
      try {
        body = await readBodyHead(res, IDENTIFY_BODY_BYTES);
      } catch (e) {
        throw networkError(e, url, timeoutMs);
      }
      if (isTrustServerAnswer(res.headers, body)) return null;
      throw notTrustServer(this.#base.origin, `GET ${url.pathname}`, res.status, res.headers, body);
    }
    if (res.status === 200 && !hasTrustServerHeader(res.headers) && !/json/i.test(res.headers.get('content-type') ?? 'json')) {
      // A web page (200 text/html for every path) is not metadata a trust server would serve.
      const body = await readBodyHead(res, 256).catch(() => undefined);
      throw notTrustServer(this.#base.origin, `GET ${url.pathname}`, res.status, res.headers, body);
    }
    if (res.status === 401 || res.status === 403) {
      throw await authError(res, url, Object.keys(this.#headers).some((h) => h.toLowerCase() === 'authorization'), this.#tokenSource);
    }
    if (res.status !== 200) {
      await cancelBody(res).catch(() => undefined);
      const why = res.status >= 300 && res.status < 400 ? ' (redirects are not followed; use the final URL)' : '';
      throw new OcitrustError('TUF_SOURCE_HTTP_ERROR', `GET ${url}: HTTP ${res.status}${why}`, { details: { status: res.status } });
    }
    try {
      return await readBoundedBody(res, maxBytes, (declared) => tooLarge(`GET ${url}`, maxBytes, declared));
    } catch (e) {
      if (e instanceof OcitrustError) throw e;
      throw networkError(e, url, timeoutMs);
    }
  }
}

/** Codes the trust server answers 401/403 with (server/auth.ts, server/ip-allowlist.ts). */
const AUTH_CODES = ['AUTH_REQUIRED', 'AUTH_TOKEN_INVALID', 'PERMISSION_DENIED', 'IP_NOT_ALLOWED'] as const;

/**
 * A refusal by the trust server is an input error (exit 2): the credentials are wrong, not the
 * network. Never TUF_SOURCE_* (which may fall back to cached trust data), never "unreachable".
 * Exported for the other trust server clients.
 */
export async function authError(res: Response, url: URL | string, tokenSent: boolean, tokenSource: string | undefined): Promise<OcitrustError> {
  let code: (typeof AUTH_CODES)[number] | undefined;
  try {
    const body = await readBoundedBody(res, 4096, () => new OcitrustError('INPUT_TOO_LARGE', 'error body too large'));
    const v = JSON.parse(Buffer.from(body).toString('utf8')) as { code?: unknown };
    if (typeof v?.code === 'string' && (AUTH_CODES as readonly string[]).includes(v.code)) code = v.code as (typeof AUTH_CODES)[number];
  } catch {
    // Not the server's JSON error body: the status decides.
  }
  code ??= res.status === 403 ? 'PERMISSION_DENIED' : tokenSent ? 'AUTH_TOKEN_INVALID' : 'AUTH_REQUIRED';
  const token = tokenSent ? `the token from ${tokenSource ?? 'the configuration'}` : 'no token (set OCITRUST_TOKEN or --token-file)';
  const what =
    code === 'AUTH_REQUIRED' ? 'authentication required' : code === 'AUTH_TOKEN_INVALID' ? 'token refused (unknown, revoked or expired)' : code === 'IP_NOT_ALLOWED' ? 'client address not allowed' : 'permission denied';
  return new OcitrustError(code, `GET ${url}: HTTP ${res.status}, ${what}; sent ${token}`, { details: { status: res.status, ...(tokenSource ? { tokenSource } : {}) } });
}

function networkError(e: unknown, url: URL, timeoutMs: number): OcitrustError {
  const name = (e as { name?: unknown } | null)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new OcitrustError('TUF_SOURCE_TIMEOUT', `GET ${url}: no complete answer within ${timeoutMs} ms`, { cause: e });
  }
  const cause = (e as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  const why = typeof cause?.code === 'string' ? unreachableText(cause.code) : e instanceof Error ? e.message : String(e);
  return new OcitrustError('TUF_SOURCE_UNREACHABLE', `GET ${url}: ${why}`, { cause: e });
}

/**
 * Reads metadata files from a local directory laid out like the server
 * (`<dir>/1.root.json`, `<dir>/timestamp.json`, …): for air-gapped use and tests. A missing
 * file is absent (null); any other I/O error is TUF_SOURCE_UNREACHABLE.
 */
export class DirectoryMetadataSource implements MetadataSource {
  readonly description: string;
  readonly #dir: string;

  /** @throws INVALID_ARGUMENT */
  constructor(dir: string) {
    assertArg(typeof dir === 'string' && dir.length > 0, 'dir', 'directory path', dir);
    this.#dir = dir;
    this.description = dir;
  }

  async fetch(file: MetadataFile, maxBytes: number): Promise<Uint8Array | null> {
    const p = join(this.#dir, metadataFileName(file));
    let fh;
    try {
      fh = await open(p, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new OcitrustError('TUF_SOURCE_UNREACHABLE', `cannot read ${p}: ${(e as Error).message}`, { cause: e });
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new OcitrustError('TUF_SOURCE_UNREACHABLE', `${p} is not a regular file`);
      if (st.size > maxBytes) throw tooLarge(p, maxBytes, st.size);
      // Read at most maxBytes + 1 so a file growing after stat() is still caught.
      const buf = new Uint8Array(maxBytes + 1);
      let n = 0;
      for (;;) {
        const { bytesRead } = await fh.read(buf, n, buf.length - n, null);
        if (bytesRead === 0) break;
        n += bytesRead;
        if (n > maxBytes) throw tooLarge(p, maxBytes);
      }
      return buf.slice(0, n);
    } catch (e) {
      if (e instanceof OcitrustError) throw e;
      throw new OcitrustError('TUF_SOURCE_UNREACHABLE', `cannot read ${p}: ${(e as Error).message}`, { cause: e });
    } finally {
      await fh.close().catch(() => undefined);
    }
  }
}

/**
 * Metadata held in memory, keyed by file name (`1.root.json`, `timestamp.json`, …): for
 * metadata already at hand (a server checking what it stores, tests).
 */
export class MemoryMetadataSource implements MetadataSource {
  readonly description: string;
  readonly #files: ReadonlyMap<string, Uint8Array> | (() => ReadonlyMap<string, Uint8Array>);

  /** `files` may be a live getter so the source follows later publications. */
  constructor(files: ReadonlyMap<string, Uint8Array> | (() => ReadonlyMap<string, Uint8Array>), description = 'memory') {
    this.#files = files;
    this.description = description;
  }

  async fetch(file: MetadataFile, maxBytes: number): Promise<Uint8Array | null> {
    const files = typeof this.#files === 'function' ? this.#files() : this.#files;
    const b = files.get(metadataFileName(file));
    if (b === undefined) return null;
    if (b.length > maxBytes) throw tooLarge(metadataFileName(file), maxBytes, b.length);
    return new Uint8Array(b);
  }
}

/** A refused connection mostly means no server runs there: say what to check. */
function unreachableText(code: string): string {
  return code === 'ECONNREFUSED' ? 'connection refused (ECONNREFUSED): is `trust server` running? set OCITRUST_SERVER or --server to its URL' : code;
}
