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
  readonly #url: URL;
  readonly #agent: http.Agent;
  readonly #timeout: number;
  readonly #https: boolean;

  constructor(o: UpstreamOptions) {
    this.#url = o.url;
    this.origin = o.url.origin;
    this.#https = o.url.protocol === 'https:';
    this.#timeout = o.timeoutMs;
    const agentOpts = { keepAlive: true, maxSockets: o.maxSockets, maxFreeSockets: 16 };
    this.#agent = this.#https ? new https.Agent({ ...agentOpts, ...(o.ca ? { ca: o.ca } : {}) }) : new http.Agent(agentOpts);
  }

  /**
   * Sends `method path` upstream, piping `body` when given; resolves with the response (its body
   * unread). A network failure before the response is PROXY_UPSTREAM_UNREACHABLE.
   * @throws OcitrustError PROXY_UPSTREAM_UNREACHABLE
   */
  send(method: string, path: string, headers: OutgoingHttpHeaders, body?: Readable): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (e: unknown): void => {
        if (settled) return;
        settled = true;
        const why = (e as NodeJS.ErrnoException | null)?.code ?? (e instanceof Error ? e.message : String(e));
        reject(new OcitrustError('PROXY_UPSTREAM_UNREACHABLE', `upstream ${this.origin}: ${method} failed: ${why}`, { cause: e }));
      };
      const mod = this.#https ? https : http;
      const req = mod.request(
        {
          protocol: this.#url.protocol,
          hostname: this.#url.hostname.replace(/^\[|\]$/g, ''),
          port: this.#url.port || (this.#https ? 443 : 80),
          method,
          path,
          headers,
          agent: this.#agent,
          timeout: this.#timeout,
        },
        (res) => {
          settled = true;
          resolve(res);
        },
      );
      req.on('timeout', () => req.destroy(new OcitrustError('PROXY_UPSTREAM_UNREACHABLE', `upstream ${this.origin}: no data for ${this.#timeout} ms`)));
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
 * @throws OcitrustError PROXY_UPSTREAM_BAD_RESPONSE (or `tooLarge`), PROXY_UPSTREAM_UNREACHABLE
 */
export async function readBounded(res: IncomingMessage, max: number, what: string, tooLarge: 'PROXY_UPSTREAM_BAD_RESPONSE' | 'DIST_TOO_LARGE' = 'PROXY_UPSTREAM_BAD_RESPONSE'): Promise<Buffer> {
  const declared = Number(res.headers['content-length']);
  if (Number.isSafeInteger(declared) && declared > max) {
    res.destroy();
    throw new OcitrustError(tooLarge, `${what}: ${declared} bytes, more than the limit of ${max}`);
  }
  const parts: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > max) {
        res.destroy();
        throw new OcitrustError(tooLarge, `${what}: more than the limit of ${max} bytes`);
      }
      parts.push(chunk);
    }
  } catch (e) {
    if (e instanceof OcitrustError) throw e;
    throw new OcitrustError('PROXY_UPSTREAM_UNREACHABLE', `${what}: the upstream broke off the answer`, { cause: e });
  }
  return Buffer.concat(parts, total);
}
