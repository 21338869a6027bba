/**
 * Requests to the upstream registry over node:http(s) with keep-alive connections. Bodies are
 * piped in both directions (stream.pipeline: backpressure, and a failure on either side tears
 * the other down), so a 50 MiB layer never sits in the proxy's memory.
 */
import http, { type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import { pipeline, type Readable } from 'node:stream';
import { OcitrustError } from '../../lib/errors/index.js';

/** Options of {@link Upstream}. */
export interface UpstreamOptions {
  readonly url: URL;
  /** Idle socket timeout (ms): a transfer that stalls this long is cut. */
  readonly timeoutMs: number;
  readonly maxSockets: number;
  /** Extra CA certificates for an https upstream. */
  readonly ca?: string | Buffer;
}

/** The upstream registry: one keep-alive agent, requests by path. */
export class Upstream {
  readonly origin: string;
  readonly #agent: http.Agent;
  readonly #timeout: number;
  readonly #request: typeof http.request;
  /** The per-request options that never change, built once (no URL work per request). */
  readonly #base: http.RequestOptions;

  constructor(o: UpstreamOptions) {
    this.origin = o.url.origin;
    const secure = o.url.protocol === 'https:';
    this.#timeout = o.timeoutMs;
    // Keep-alive with LIFO reuse: requests go to the most recently used connection and idle
    // extras time out at the upstream instead of all being kept half-alive in turn.
    // Nagle off: a request body's last small segment must not wait for an ACK.
    const agentOpts = { keepAlive: true, maxSockets: o.maxSockets, maxFreeSockets: Math.min(o.maxSockets, 64), scheduling: 'lifo' as const, noDelay: true };
    this.#agent = secure ? new https.Agent({ ...agentOpts, ...(o.ca ? { ca: o.ca } : {}) }) : new http.Agent(agentOpts);
    this.#request = secure ? https.request : http.request;
    this.#base = {
      protocol: o.url.protocol,
      hostname: o.url.hostname.replace(/^\[|\]$/g, ''),
      port: o.url.port || (secure ? 443 : 80),
      agent: this.#agent,
      timeout: o.timeoutMs,
    };
  }

  /**
   * Sends `method path` upstream, piping `body` when given; resolves with the response (its body
   * unread). A network failure before the response is REGISTRY_UNREACHABLE (REGISTRY_TIMEOUT when it stalls), as on every face.
   * @throws OcitrustError REGISTRY_UNREACHABLE, REGISTRY_TIMEOUT
   */
  send(method: string, path: string, headers: OutgoingHttpHeaders, body?: Readable): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (e: unknown): void => {
        if (settled) return;
        settled = true;
        const why = (e as NodeJS.ErrnoException | null)?.code ?? (e instanceof Error ? e.message : String(e));
        reject(new OcitrustError('REGISTRY_UNREACHABLE', `upstream ${this.origin}: ${method} failed: ${why}`, { cause: e }));
      };
      const req = this.#request({ ...this.#base, method, path, headers }, (res) => {
        settled = true;
        resolve(res);
      });
      req.on('timeout', () => req.destroy(new OcitrustError('REGISTRY_TIMEOUT', `upstream ${this.origin}: no data for ${this.#timeout} ms`)));
      req.on('error', fail);
      if (body) {
        pipeline(body, req, (err) => {
          if (err) {
            req.destroy(err);
            fail(err);
          }
        });
      } else {
        req.end();
      }
    });
  }

  /** Closes idle connections. */
  close(): void {
    this.#agent.destroy();
  }
}

/**
 * Reads a response body into memory, refusing more than `max` bytes (Content-Length first,
 * then while reading: the connection is cut at the limit, never buffered past it). Also used
 * for manifest pushes from clients, with `tooLarge` DIST_TOO_LARGE (413).
 *
 * Plain 'data'/'end' listeners rather than `for await`: an async iterator per manifest costs
 * more than the rest of reading a small body.
 * @throws OcitrustError PROXY_UPSTREAM_BAD_RESPONSE (or `tooLarge`), REGISTRY_UNREACHABLE
 */
export function readBounded(res: IncomingMessage, max: number, what: string, tooLarge: 'PROXY_UPSTREAM_BAD_RESPONSE' | 'DIST_TOO_LARGE' = 'PROXY_UPSTREAM_BAD_RESPONSE'): Promise<Buffer> {
  const declared = Number(res.headers['content-length']);
  if (Number.isSafeInteger(declared) && declared > max) {
    res.destroy();
    return Promise.reject(new OcitrustError(tooLarge, `${what}: ${declared} bytes, more than the limit of ${max}`));
  }
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let total = 0;
    let done = false;
    const finish = (e?: OcitrustError): void => {
      if (done) return;
      done = true;
      res.off('data', onData);
      // The 'error' listener stays: an error after the end must not become an uncaught one.
      if (e) reject(e);
      // A copy, never a view of the socket's read buffer (a cached verdict may keep the bytes).
      else resolve(Buffer.concat(parts, total));
    };
    const onData = (chunk: Buffer): void => {
      total += chunk.length;
      if (total > max) {
        finish(new OcitrustError(tooLarge, `${what}: more than the limit of ${max} bytes`));
        res.destroy();
        return;
      }
      parts.push(chunk);
    };
    const broke = (cause?: unknown): void => {
      // 'close' follows every 'end': build the error (a stack trace) only when it is one.
      if (!done) finish(new OcitrustError('REGISTRY_UNREACHABLE', `${what}: the upstream broke off the answer`, cause === undefined ? undefined : { cause }));
    };
    res.on('data', onData);
    res.once('end', () => finish());
    res.on('error', broke);
    // Closed without 'end' (and without an error): cut off as well.
    res.once('close', () => broke());
  });
}
