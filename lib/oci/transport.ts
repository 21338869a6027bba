/**
 * HTTP transport for registry traffic: {@link defaultFetch} (node:http, keep-alive agents),
 * a per-request timeout that covers headers *and* body, bounded body reads (Content-Length
 * checked before reading, bytes counted while reading, never more than the limit buffered),
 * and retries with exponential backoff and full jitter on 429/502/503/504 that honour
 * `Retry-After` within a bounded number of attempts and total time.
 *
 * Status codes are returned to the caller (the client maps them to coded errors); only
 * network failures (REGISTRY_UNREACHABLE), timeouts (REGISTRY_TIMEOUT) and oversized bodies
 * (REGISTRY_RESPONSE_TOO_LARGE) are thrown here.
 */
import { OcitrustError } from '../errors/index.js';
import { DEFAULT_LIMITS } from '../config.js';
import { concatBytes } from '../crypto/hash.js';
import { defaultFetch } from '../http/fetch.js';
import { bodyReader } from '../http/body.js';

/** The subset of `fetch` the transport uses; inject a wrapper to count or observe requests. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** HTTP methods the registry client uses. */
export type HttpMethod = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';

/** Retry policy. */
export interface RetryPolicy {
  /** Attempts in total, first one included (default 5). */
  readonly maxAttempts: number;
  /** First backoff step (ms, default 250); doubles per attempt. */
  readonly baseDelayMs: number;
  /** Largest single wait (ms, default 8000); a longer `Retry-After` ends the retries. */
  readonly maxDelayMs: number;
  /** Total time budget across attempts and waits (ms, default 30 000). */
  readonly maxTotalMs: number;
}

/** Default retry policy. */
export const DEFAULT_RETRY: RetryPolicy = Object.freeze({
  maxAttempts: 5,
  baseDelayMs: 250,
  maxDelayMs: 8000,
  maxTotalMs: 30_000,
});

/** Options of {@link Transport}. */
export interface TransportOptions {
  readonly fetch?: FetchLike;
  /** Per-request timeout covering headers and body (ms). */
  readonly timeoutMs?: number;
  readonly retry?: Partial<RetryPolicy>;
  readonly userAgent?: string;
  /** Source of randomness for jitter, [0, 1) (tests). */
  readonly random?: () => number;
}

/** One request. */
export interface HttpRequest {
  readonly method: HttpMethod;
  readonly url: string;
  readonly headers?: Record<string, string>;
  readonly body?: Uint8Array;
  /** Overrides the transport timeout for this request. */
  readonly timeoutMs?: number;
  /** Set false to disable retries (default true). */
  readonly retry?: boolean;
}

const RETRY_STATUSES = new Set([429, 502, 503, 504]);
const IDEMPOTENT = new Set<HttpMethod>(['GET', 'HEAD', 'PUT', 'DELETE']);
const DISCARD_LIMIT = 64 * 1024;
const TIMEOUT = Symbol('ocitrust.timeout');

/**
 * A response whose body has not been read yet. Read it exactly once with {@link bytes},
 * {@link chunks}, {@link text} or {@link discard}; the request timeout keeps running until then.
 */
export class HttpResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly url: string;
  readonly #res: Response;
  readonly #ctl: AbortController;
  readonly #done: () => void;
  readonly #what: string;
  #consumed = false;

  /** @internal */
  constructor(res: Response, ctl: AbortController, done: () => void, what: string) {
    this.status = res.status;
    this.headers = res.headers;
    this.url = res.url;
    this.#res = res;
    this.#ctl = ctl;
    this.#done = done;
    this.#what = what;
  }

  /** Declared Content-Length, or undefined when absent or malformed. */
  get contentLength(): number | undefined {
    const v = this.headers.get('content-length');
    if (v === null || !/^[0-9]{1,15}$/.test(v.trim())) return undefined;
    return Number(v.trim());
  }

  /** Base media type of Content-Type, lowercase, without parameters. */
  get contentType(): string | undefined {
    const v = this.headers.get('content-type');
    if (!v) return undefined;
    return v.split(';')[0]!.trim().toLowerCase() || undefined;
  }

  /**
   * Streams the body in chunks, throwing REGISTRY_RESPONSE_TOO_LARGE as soon as more than
   * `maxBytes` arrive (or when Content-Length already says so) and REGISTRY_TIMEOUT when the
   * request timeout fires mid-body.
   */
  async *chunks(maxBytes: number): AsyncGenerator<Uint8Array, void, undefined> {
    if (this.#consumed) throw new OcitrustError('INTERNAL', 'response body read twice');
    this.#consumed = true;
    try {
      const declared = this.contentLength;
      if (declared !== undefined && declared > maxBytes) {
        throw new OcitrustError('REGISTRY_RESPONSE_TOO_LARGE', `${this.#what}: Content-Length ${declared} exceeds the limit of ${maxBytes} bytes`);
      }
      const reader = bodyReader(this.#res);
      if (!reader) return;
      let total = 0;
      try {
        for (;;) {
          let r: { done: boolean; value?: Uint8Array };
          try {
            r = await reader.read();
          } catch (e) {
            throw mapFetchError(e, this.#ctl, this.#what);
          }
          if (r.done || !r.value) break;
          total += r.value.byteLength;
          if (total > maxBytes) {
            throw new OcitrustError('REGISTRY_RESPONSE_TOO_LARGE', `${this.#what}: body exceeds the limit of ${maxBytes} bytes`);
          }
          yield r.value;
        }
      } finally {
        // Stops an endless or oversized body; a no-op when fully read.
        reader.cancel().catch(() => undefined);
      }
    } finally {
      this.#done();
    }
  }

  /** Reads the whole body, bounded by `maxBytes`. */
  async bytes(maxBytes: number): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    for await (const c of this.chunks(maxBytes)) parts.push(c);
    return concatBytes(parts);
  }

  /** Reads the body as UTF-8 text (lossy), bounded by `maxBytes`. */
  async text(maxBytes: number): Promise<string> {
    return new TextDecoder().decode(await this.bytes(maxBytes));
  }

  /**
   * Drops the body. A small body is read to the end so the connection can be reused;
   * a large or endless one is cut off.
   */
  async discard(): Promise<void> {
    if (this.#consumed) return;
    try {
      await this.bytes(DISCARD_LIMIT);
    } catch {
      // Oversized, timed out or reset: the connection is closed, nothing to keep.
    }
  }
}

function isAbortLike(e: unknown): boolean {
  return e instanceof Error && (e.name === 'AbortError' || e.name === 'TimeoutError');
}

function mapFetchError(e: unknown, ctl: AbortController, what: string): OcitrustError {
  if (e instanceof OcitrustError) return e;
  if (ctl.signal.aborted && ctl.signal.reason === TIMEOUT) {
    return new OcitrustError('REGISTRY_TIMEOUT', `${what}: no complete answer within the request timeout`, { cause: e });
  }
  if (isAbortLike(e)) return new OcitrustError('REGISTRY_TIMEOUT', `${what}: request aborted`, { cause: e });
  const cause = (e as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  const detail = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : String((e as Error)?.message ?? e);
  return new OcitrustError('REGISTRY_UNREACHABLE', `${what}: ${detail}`, { cause: e });
}

/** Parses `Retry-After` (delta-seconds or HTTP-date) into milliseconds from now. */
export function parseRetryAfter(v: string | null, now: number = Date.now()): number | undefined {
  if (v === null) return undefined;
  const s = v.trim();
  if (/^[0-9]{1,10}$/.test(s)) return Number(s) * 1000;
  const t = Date.parse(s);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, t - now);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The HTTP transport. One instance per client; connection reuse comes from the process-wide
 * keep-alive agents of lib/http/fetch.ts.
 */
export class Transport {
  readonly #fetch: FetchLike;
  readonly #timeoutMs: number;
  readonly #retry: RetryPolicy;
  readonly #userAgent: string;
  readonly #random: () => number;

  constructor(opts: TransportOptions = {}) {
    this.#fetch = opts.fetch ?? defaultFetch;
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_LIMITS.requestTimeoutMs;
    this.#retry = { ...DEFAULT_RETRY, ...(opts.retry ?? {}) };
    this.#userAgent = opts.userAgent ?? 'ocitrust';
    this.#random = opts.random ?? Math.random;
  }

  /** The per-request timeout (ms). */
  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  /**
   * Sends a request, retrying 429/502/503/504 (and, for idempotent methods, connection
   * failures) with backoff. The last response is returned when retries run out.
   *
   * @throws OcitrustError REGISTRY_UNREACHABLE, REGISTRY_TIMEOUT
   */
  async send(req: HttpRequest): Promise<HttpResponse> {
    const started = Date.now();
    const policy = this.#retry;
    const maxAttempts = req.retry === false ? 1 : Math.max(1, policy.maxAttempts);
    const what = `${req.method} ${redactUrl(req.url)}`;
    for (let attempt = 1; ; attempt++) {
      let res: HttpResponse;
      try {
        res = await this.#once(req, what);
      } catch (e) {
        const retryable = e instanceof OcitrustError && e.code === 'REGISTRY_UNREACHABLE' && IDEMPOTENT.has(req.method);
        const wait = this.#backoff(attempt);
        if (!retryable || attempt >= maxAttempts || Date.now() - started + wait > policy.maxTotalMs) throw e;
        await sleep(wait);
        continue;
      }
      if (!RETRY_STATUSES.has(res.status) || attempt >= maxAttempts) return res;
      const retryAfter = parseRetryAfter(res.headers.get('retry-after'));
      if (retryAfter !== undefined && retryAfter > policy.maxDelayMs) return res;
      const wait = retryAfter ?? this.#backoff(attempt);
      if (Date.now() - started + wait > policy.maxTotalMs) return res;
      await res.discard();
      await sleep(wait);
    }
  }

  #backoff(attempt: number): number {
    const cap = Math.min(this.#retry.maxDelayMs, this.#retry.baseDelayMs * 2 ** (attempt - 1));
    // Full jitter (AWS architecture blog): spreads retries of concurrent clients.
    return Math.floor(this.#random() * cap);
  }

  async #once(req: HttpRequest, what: string): Promise<HttpResponse> {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(TIMEOUT), req.timeoutMs ?? this.#timeoutMs);
    timer.unref?.();
    const done = (): void => clearTimeout(timer);
    const headers: Record<string, string> = { 'user-agent': this.#userAgent, ...(req.headers ?? {}) };
    let res: Response;
    try {
      res = await this.#fetch(req.url, {
        method: req.method,
        headers,
        body: req.body,
        signal: ctl.signal,
        redirect: 'follow',
      });
    } catch (e) {
      done();
      throw mapFetchError(e, ctl, what);
    }
    return new HttpResponse(res, ctl, done, what);
  }
}

/** The URL without query string (upload locations carry state tokens; never echo them). */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : `${url.slice(0, q)}?…`;
}
