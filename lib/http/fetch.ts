/**
 * The subset of WHATWG `fetch` that ocitrust's HTTP clients use, over `node:http` / `node:https`
 * with keep-alive agents.
 *
 * Why not the global fetch: in Node 20 the first `fetch` call loads and compiles undici
 * (~30 ms here) and a short-lived process that used it lingers ~60 ms before it exits; a
 * `trust verify` spent more time on that than on verifying. `node:http` is part of Node's
 * start-up snapshot, and an idle keep-alive socket does not hold the process open.
 *
 * Semantics follow fetch where the callers can see them: a network failure rejects with
 * `TypeError('fetch failed', { cause })` (the cause carries the errno code), an aborted signal
 * rejects with `signal.reason` (also mid-body, through the body stream), repeated response
 * headers are joined with ", ", `redirect: 'follow'` follows at most 20 hops, turns 303 (and
 * 301/302 after POST) into GET, and drops credentials when the origin changes; `'manual'`
 * returns the 3xx itself; `'error'` rejects. No `accept-encoding` is sent, so bodies arrive as
 * the server stored them (digests are computed over exactly those bytes).
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import { concatBytes } from '../crypto/hash.js';
import { BODY_READER, type BodyReader } from './body.js';

/** A fetch-compatible function (the shape ocitrust's clients accept for injection). */
export type FetchFunction = (input: string | URL, init?: RequestInit) => Promise<Response>;

const MAX_REDIRECTS = 20;
/** A body at most this long is drained on cancel so its connection can be reused. */
const DRAIN_LIMIT = 16 * 1024;
/** Headers that must not follow a redirect to another origin (fetch spec, 4.4 HTTP-redirect fetch). */
const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'cookie'];

// One pool per process, like undici's global dispatcher. LIFO keeps the warmest socket busy;
// free sockets are unref'd by the agent, so they never keep a CLI process alive.
const agentOptions = { keepAlive: true, keepAliveMsecs: 1000, maxSockets: 64, maxFreeSockets: 16, scheduling: 'lifo' as const };
let httpAgent: HttpAgent | undefined;
let httpsAgent: HttpsAgent | undefined;
/**
 * node:https, loaded by the first https:// request: it brings TLS (≈2 ms of start-up), which a
 * command that only talks plain HTTP (loopback registry and trust server) never needs.
 */
let httpsModule: typeof import('node:https') | undefined;
const https = (): typeof import('node:https') => (httpsModule ??= process.getBuiltinModule('node:https'));

/** Response headers with the `Headers` read API (case-insensitive, repeated values joined). */
class ResponseHeaders {
  readonly #map = new Map<string, string>();
  readonly #cookies: string[] = [];

  constructor(raw: readonly string[]) {
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const k = raw[i]!.toLowerCase();
      const v = raw[i + 1]!;
      if (k === 'set-cookie') this.#cookies.push(v);
      const prev = this.#map.get(k);
      this.#map.set(k, prev === undefined ? v : `${prev}, ${v}`);
    }
  }

  get(name: string): string | null {
    return this.#map.get(name.toLowerCase()) ?? null;
  }

  has(name: string): boolean {
    return this.#map.has(name.toLowerCase());
  }

  getSetCookie(): string[] {
    return [...this.#cookies];
  }

  forEach(fn: (value: string, key: string, parent: ResponseHeaders) => void): void {
    for (const [k, v] of this.entries()) fn(v, k, this);
  }

  *entries(): IterableIterator<[string, string]> {
    yield* [...this.#map.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  *keys(): IterableIterator<string> {
    for (const [k] of this.entries()) yield k;
  }

  *values(): IterableIterator<string> {
    for (const [, v] of this.entries()) yield v;
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
}

type ReadResult = { done: true; value?: undefined } | { done: false; value: Uint8Array };

/** Chunks queued before the message is paused (the stream's former highWaterMark: 4 chunks). */
const HIGH_WATER_MARK = 4;

/**
 * The body of a response as a pull reader over the IncomingMessage: back-pressure through
 * pause/resume, cancel closes. It listens from the start (as the stream it replaces did): a
 * small body nobody reads still arrives, ends and frees its socket. `.body` wraps it in a web
 * stream only when someone asks for one (lib/http/body.ts says why).
 */
class BodySource implements BodyReader {
  readonly #msg: IncomingMessage;
  readonly #signal: AbortSignal | undefined;
  readonly #declared: number | undefined;
  readonly #queue: Uint8Array[] = [];
  readonly #waiting: { resolve: (r: ReadResult) => void; reject: (e: unknown) => void }[] = [];
  #stalled = false;
  /** Set once the body ended, errored or was cancelled: later events only drain the socket. */
  #finished = false;
  #ended = false;
  #error: { reason: unknown } | undefined;

  constructor(msg: IncomingMessage, signal: AbortSignal | undefined, declared: number | undefined) {
    this.#msg = msg;
    this.#signal = signal;
    this.#declared = declared;
    const fail = (cause: unknown): void => {
      if (this.#finished) return;
      this.#finished = true;
      // Like ReadableStreamDefaultController.error(): queued chunks are dropped, reads reject.
      this.#error = { reason: signal?.aborted ? signal.reason : new TypeError('terminated', { cause }) };
      this.#queue.length = 0;
      for (const w of this.#waiting.splice(0)) w.reject(this.#error.reason);
    };
    msg.on('data', (chunk: Buffer) => {
      if (this.#finished) return;
      const value = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      const w = this.#waiting.shift();
      if (w) return w.resolve({ done: false, value });
      this.#queue.push(value);
      if (this.#queue.length >= HIGH_WATER_MARK) {
        this.#stalled = true;
        msg.pause();
      }
    });
    msg.on('end', () => {
      if (this.#finished) return;
      this.#finished = true;
      this.#ended = true;
      for (const w of this.#waiting.splice(0)) w.resolve({ done: true });
    });
    msg.on('error', fail);
    // Node reports a connection lost mid-body as a close without 'end'.
    msg.on('close', () => {
      if (!msg.complete) fail(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }));
    });
  }

  read(): Promise<ReadResult> {
    const value = this.#queue.shift();
    if (value !== undefined) {
      if (this.#stalled && this.#queue.length < HIGH_WATER_MARK) {
        this.#stalled = false;
        this.#msg.resume();
      }
      return Promise.resolve({ done: false, value });
    }
    if (this.#error) return Promise.reject(this.#error.reason);
    if (this.#ended || this.#finished) return Promise.resolve({ done: true });
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  cancel(): Promise<void> {
    // A stream cancelled after it errored rejects with its error; after it closed, nothing to do.
    if (this.#error) return Promise.reject(this.#error.reason);
    this.#queue.length = 0;
    for (const w of this.#waiting.splice(0)) w.resolve({ done: true });
    if (this.#finished) return Promise.resolve();
    this.#finished = true;
    const msg = this.#msg;
    // A complete message may still hold unread data (paused): resuming it lets 'end' fire,
    // which is what returns the socket to the pool.
    if (msg.complete || (this.#declared !== undefined && this.#declared <= DRAIN_LIMIT && !this.#signal?.aborted)) msg.resume();
    else msg.destroy();
    return Promise.resolve();
  }
}

/** `source` as a web stream (built on first use of `.body`; the source keeps the back-pressure). */
function webStream(source: BodySource): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      async pull(c) {
        const r = await source.read();
        // A cancel while this read was pending already closed the stream: nothing to hand on.
        try {
          if (r.done) c.close();
          else c.enqueue(r.value);
        } catch {
          /* closed by cancel */
        }
      },
      cancel: () => source.cancel(),
    },
    { highWaterMark: 0 },
  );
}

/**
 * The first value of header `name` (lowercase) in `raw` (IncomingMessage#rawHeaders): what
 * `msg.headers[name]` holds for `location` and `content-length`, whose repeats Node drops,
 * without building the parsed `msg.headers` object (lazily made on first access, never needed here).
 */
function firstRaw(raw: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]!.length === name.length && raw[i]!.toLowerCase() === name) return raw[i + 1];
  return undefined;
}

/** A response that has no body whatever the headers say (fetch spec: "null body status", HEAD). */
function hasNullBody(method: string, status: number): boolean {
  return method === 'HEAD' || status === 204 || status === 304;
}

/** A Content-Length value as a number, or undefined when absent or malformed. */
function declaredLength(v: string | null | undefined): number | undefined {
  return v !== null && v !== undefined && /^[0-9]{1,15}$/.test(v) ? Number(v) : undefined;
}

/** What the callers read from a response; typed as `Response` for drop-in use. */
function makeResponse(msg: IncomingMessage, url: string, redirected: boolean, method: string, signal: AbortSignal | undefined): Response {
  const status = msg.statusCode ?? 0;
  const headers = new ResponseHeaders(msg.rawHeaders);
  const declared = declaredLength(headers.get('content-length'));
  const nullBody = hasNullBody(method, status);
  if (nullBody) msg.resume();
  const source = nullBody ? undefined : new BodySource(msg, signal, declared);
  let stream: ReadableStream<Uint8Array> | undefined;
  /** Set when the source's reader was handed out directly: `.body` is then a locked stream, as after getReader(). */
  let claimed = false;
  const body = (): ReadableStream<Uint8Array> | null => {
    if (!source) return null;
    if (!stream) {
      stream = webStream(source);
      if (claimed) stream.getReader();
    }
    return stream;
  };
  let used = false;
  const consume = async (): Promise<Uint8Array> => {
    if (used) throw new TypeError('Body is unusable: Body has already been read');
    used = true;
    if (!source) return new Uint8Array(0);
    const reader: BodyReader = stream || claimed ? (body()!.getReader() as BodyReader) : ((claimed = true), source);
    const parts: Uint8Array[] = [];
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      parts.push(r.value);
    }
    return parts.length === 0 ? new Uint8Array(0) : concatBytes(parts);
  };
  const res = {
    status,
    statusText: msg.statusMessage ?? '',
    ok: status >= 200 && status < 300,
    url,
    redirected,
    type: 'basic',
    headers,
    get body() {
      return body();
    },
    get bodyUsed() {
      return used;
    },
    [BODY_READER]: (): BodyReader | undefined => {
      if (!source || stream || claimed) return undefined;
      claimed = true;
      return source;
    },
    arrayBuffer: async () => {
      const b = await consume();
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
    },
    bytes: consume,
    text: async () => new TextDecoder().decode(await consume()),
    json: async () => JSON.parse(new TextDecoder().decode(await consume())) as unknown,
  };
  return res as unknown as Response;
}

/**
 * Settles a response nobody reads (a redirect hop, a null body): reads it to its end when it is
 * complete or small, so its socket is back in the pool before the next request (which would
 * otherwise open another connection), and destroys it otherwise.
 */
function discard(msg: IncomingMessage): Promise<void> {
  const declared = declaredLength(firstRaw(msg.rawHeaders, 'content-length'));
  const small = declared !== undefined && declared <= DRAIN_LIMIT;
  if (msg.readableEnded || msg.destroyed) return Promise.resolve();
  if (!msg.complete && !small) {
    msg.destroy();
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    msg.once('end', resolve).once('close', resolve).resume();
  });
}

function headerRecord(h: RequestInit['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  const put = (k: string, v: string): void => {
    const key = k.toLowerCase();
    out[key] = out[key] === undefined ? v : `${out[key]}, ${v}`;
  };
  if (Array.isArray(h)) for (const [k, v] of h) put(k!, v!);
  // Duck-typed: touching the global Headers class would load undici, which this module avoids.
  else if (typeof (h as Headers).forEach === 'function' && typeof (h as Headers).get === 'function') (h as Headers).forEach((v, k) => put(k, v));
  else for (const [k, v] of Object.entries(h as Record<string, string>)) if (v !== undefined) put(k, String(v));
  return out;
}

function bodyBytes(b: RequestInit['body']): Uint8Array | undefined {
  if (b === undefined || b === null) return undefined;
  if (typeof b === 'string') return Buffer.from(b, 'utf8');
  if (b instanceof Uint8Array) return b;
  if (b instanceof ArrayBuffer) return new Uint8Array(b);
  if (ArrayBuffer.isView(b)) return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  // Streams, forms and blobs are not used by ocitrust's clients; refuse rather than guess.
  throw new TypeError(`nodeFetch: unsupported body type ${Object.prototype.toString.call(b)}`);
}

function once(url: URL, method: string, headers: Record<string, string>, body: Uint8Array | undefined, signal: AbortSignal | undefined): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    // Before the request exists: destroying one that has no 'error' listener yet would throw
    // an uncaught 'socket hang up'.
    if (signal?.aborted) return reject(signal.reason);
    const tls = url.protocol === 'https:';
    const out: OutgoingHttpHeaders = { ...headers };
    if (body !== undefined) out['content-length'] = String(body.byteLength);
    else if (method === 'POST' || method === 'PUT' || method === 'PATCH') out['content-length'] = '0';
    const opts = { method, headers: out, agent: tls ? (httpsAgent ??= new (https().Agent)(agentOptions)) : (httpAgent ??= new HttpAgent(agentOptions)) };
    const req = (tls ? https().request : httpRequest)(url, opts);
    let settled = false;
    const onAbort = (): void => {
      req.destroy();
      if (!settled) {
        settled = true;
        reject(signal!.reason);
      }
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    req.setNoDelay(true);
    req.on('response', (msg) => {
      settled = true;
      if (signal) {
        // The signal keeps covering the body: abort destroys the message, the stream errors.
        const onBodyAbort = (): void => void msg.destroy();
        signal.removeEventListener('abort', onAbort);
        signal.addEventListener('abort', onBodyAbort, { once: true });
        msg.once('close', () => signal.removeEventListener('abort', onBodyAbort));
      }
      resolve(msg);
    });
    req.on('error', (e) => {
      signal?.removeEventListener('abort', onAbort);
      if (settled) return;
      settled = true;
      reject(signal?.aborted ? signal.reason : new TypeError('fetch failed', { cause: e }));
    });
    req.end(body);
  });
}

/**
 * fetch over `node:http`/`node:https` (see the module comment for what is supported).
 *
 * @throws TypeError('fetch failed') with the socket error as cause; the signal's reason when aborted
 */
export async function nodeFetch(input: string | URL, init: RequestInit = {}): Promise<Response> {
  let url = new URL(String(input));
  let method = (init.method ?? 'GET').toUpperCase();
  const headers = headerRecord(init.headers);
  let body = bodyBytes(init.body);
  const signal = init.signal ?? undefined;
  const mode = init.redirect ?? 'follow';
  for (let hop = 0; ; hop++) {
    url.hash = ''; // never sent, and not part of response.url
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError('fetch failed', { cause: new Error(`unsupported protocol ${url.protocol}`) });
    const msg = await once(url, method, headers, body, signal);
    const status = msg.statusCode ?? 0;
    const location = firstRaw(msg.rawHeaders, 'location');
    if (mode === 'manual' || ![301, 302, 303, 307, 308].includes(status) || location === undefined) {
      const res = makeResponse(msg, url.toString(), hop > 0, method, signal);
      if (hasNullBody(method, status)) await discard(msg);
      return res;
    }
    await discard(msg);
    if (mode === 'error') throw new TypeError('fetch failed', { cause: new Error(`unexpected redirect to ${location}`) });
    if (hop >= MAX_REDIRECTS) throw new TypeError('fetch failed', { cause: new Error('redirect count exceeded') });
    let next: URL;
    try {
      next = new URL(location, url);
    } catch (e) {
      throw new TypeError('fetch failed', { cause: e });
    }
    if (status === 303 ? method !== 'HEAD' : (status === 301 || status === 302) && method === 'POST') {
      method = status === 303 && method === 'HEAD' ? 'HEAD' : 'GET';
      body = undefined;
      for (const h of ['content-type', 'content-length', 'content-encoding', 'content-language', 'content-location']) delete headers[h];
    }
    if (next.origin !== url.origin) for (const h of CREDENTIAL_HEADERS) delete headers[h];
    url = next;
  }
}

/**
 * The fetch ocitrust's clients use when none is injected: {@link nodeFetch}, unless a
 * process-wide override is installed under `Symbol.for('ocitrust.fetch')` on globalThis (the
 * benchmarks' request recorder preloads one; it is read on every call, so bundled copies of
 * this module see it too).
 */
export const defaultFetch: FetchFunction = (input, init) => {
  const override = (globalThis as Record<symbol, unknown>)[Symbol.for('ocitrust.fetch')];
  return typeof override === 'function' ? (override as FetchFunction)(input, init) : nodeFetch(input, init);
};
