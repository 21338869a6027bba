/**
 * One webhook POST: node:http(s) with the guarded DNS lookup, a hard deadline for the whole
 * exchange, no redirects followed (a 3xx is a failure, retried like any other), and the answer
 * read only up to a few kilobytes.
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { isOcitrustError } from '../../lib/errors/index.js';
import { checkAddress, guardedLookup, type AddressPolicy } from './address.js';

/** What one attempt came to. */
export interface SendResult {
  readonly ok: boolean;
  /** HTTP status, or null when no answer came. */
  readonly status: number | null;
  /** Error code and message of a failed attempt (short, no secrets). */
  readonly error: string | null;
  /** The address refused by the SSRF policy: retrying cannot help. */
  readonly refused: boolean;
}

const MAX_ANSWER = 16 * 1024;

/** Keep-alive connection pools of one deliverer (a socket is checked by the lookup when it is made). */
export interface Agents {
  readonly http: HttpAgent;
  readonly https: HttpsAgent;
}

/** Pools for at most `sockets` connections per receiver. */
export function agents(sockets: number): Agents {
  return { http: new HttpAgent({ keepAlive: true, maxSockets: sockets, timeout: 30_000 }), https: new HttpsAgent({ keepAlive: true, maxSockets: sockets, timeout: 30_000 }) };
}

/** POSTs `body` to `url` with `headers`, within `timeoutMs`. Never throws. */
export function send(url: URL, headers: Record<string, string>, body: string, timeoutMs: number, policy: AddressPolicy, pool?: Agents): Promise<SendResult> {
  return new Promise<SendResult>((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const done = (r: SendResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const fail = (e: unknown): void => {
      const refused = isOcitrustError(e, 'WEBHOOK_ADDRESS_REFUSED');
      done({ ok: false, status: null, error: `${refused ? 'WEBHOOK_ADDRESS_REFUSED' : 'WEBHOOK_DELIVERY_FAILED'}: ${(e as Error).message}`.slice(0, 500), refused });
    };
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host)) {
      try {
        checkAddress(host, policy, `url ${url.host}`);
      } catch (e) {
        fail(e);
        return;
      }
    }
    const payload = Buffer.from(body, 'utf8');
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
      method: 'POST',
      headers: { ...headers, 'content-length': String(payload.length), 'user-agent': 'ocitrust-webhooks/1' },
      lookup: guardedLookup(policy),
      agent: pool ? (url.protocol === 'https:' ? pool.https : pool.http) : false,
    });
    let timedOut = false;
    timer = setTimeout(() => {
      timedOut = true;
      req.destroy();
    }, timeoutMs);
    // After a timeout the slot is given back once the connection is gone, so `concurrency`
    // bounds open sockets (the destroy's own error is not the story).
    req.on('close', () => timedOut && done({ ok: false, status: null, error: `WEBHOOK_DELIVERY_FAILED: no answer within ${timeoutMs} ms`, refused: false }));
    req.on('error', (e) => !timedOut && fail(e));
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      let seen = 0;
      res.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen > MAX_ANSWER) res.destroy();
      });
      const finish = (): void => {
        if (status >= 200 && status < 300) done({ ok: true, status, error: null, refused: false });
        else if (status >= 300 && status < 400) done({ ok: false, status, error: `WEBHOOK_DELIVERY_FAILED: answered ${status} (redirect to ${String(res.headers.location ?? '').slice(0, 200)} not followed)`, refused: false });
        else done({ ok: false, status, error: `WEBHOOK_DELIVERY_FAILED: answered ${status}`, refused: false });
        // A fully read answer gives the socket back to the keep-alive pool; a cut one is dropped.
        if (seen > MAX_ANSWER) req.destroy();
      };
      res.on('end', finish);
      res.on('close', finish);
      res.on('error', finish);
    });
    req.end(payload);
  });
}
