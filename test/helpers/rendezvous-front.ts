/**
 * A front on 127.0.0.1:0 that proves two kinds of requests are in flight at once, without
 * timing anything: it forwards every request to one upstream (a trust server with its embedded
 * registry), records the order requests arrive in, and holds each request matching `hold`
 * until a request matching `until` has arrived. A client that makes them one after the other
 * then never sends the second: the held request is released after `boundMs` (a generous bound,
 * not a measurement) and {@link RendezvousFront.timedOut} says so, with the arrival order, for
 * the test's failure message.
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the front holds, and what releases it. */
export interface Rendezvous {
  /** Requests held (method and path with query). */
  readonly hold: (method: string, path: string) => boolean;
  /** The request whose arrival releases them. */
  readonly until: (method: string, path: string) => boolean;
  /** Released anyway after this long (default 15 s), and counted as a time-out. */
  readonly boundMs?: number;
}

/** A running front. */
export interface RendezvousFront {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** `127.0.0.1:PORT` */
  readonly host: string;
  /** Cut every connection (trust server and registry both unreachable). */
  blocked: boolean;
  /** Holds requests from now on (undefined: forward everything at once). */
  arm(r: Rendezvous | undefined): void;
  /** Requests in arrival order while armed (since the last {@link arm} with a rendezvous). */
  readonly arrived: readonly string[];
  /** Held requests that were released by the bound, not by the awaited request. */
  readonly timedOut: number;
  /** Held requests released by the awaited request. */
  readonly released: number;
  close(): Promise<void>;
}

/** Starts a front for `upstream` (`http://host:port`). */
export async function startRendezvousFront(upstream: string): Promise<RendezvousFront> {
  const up = new URL(upstream);
  let rule: Rendezvous | undefined;
  let arrived: string[] = [];
  let seen = false;
  let waiting: (() => void)[] = [];
  let timedOut = 0;
  let released = 0;
  const timers = new Set<NodeJS.Timeout>();
  let self = '';
  let blocked = false;
  const forward = (req: IncomingMessage, res: ServerResponse, body: Buffer): void => {
    // The Host header names the front: the embedded registry builds upload locations from it.
    const out = request({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers }, (ures) => {
      const headers = { ...ures.headers };
      const loc = headers.location;
      if (typeof loc === 'string' && loc.startsWith(up.origin)) headers.location = self + loc.slice(up.origin.length);
      res.writeHead(ures.statusCode ?? 502, headers);
      ures.pipe(res);
    });
    out.on('error', () => res.destroy());
    out.end(body);
  };
  const server = createServer((req, res) => {
    if (blocked) {
      req.socket.destroy();
      return;
    }
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const chunks: Buffer[] = [];
    req.on('data', (b: Buffer) => chunks.push(b));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const r = rule;
      if (r) {
        arrived.push(`${method} ${path}`);
        if (!seen && r.until(method, path)) {
          seen = true;
          for (const go of waiting) go();
          waiting = [];
        }
        if (!seen && r.hold(method, path)) {
          let done = false;
          const go = (): void => {
            if (done) return;
            done = true;
            clearTimeout(t);
            timers.delete(t);
            released++;
            forward(req, res, body);
          };
          const t = setTimeout(() => {
            if (done) return;
            done = true;
            timers.delete(t);
            timedOut++;
            forward(req, res, body);
          }, r.boundMs ?? 15_000);
          timers.add(t);
          waiting.push(go);
          return;
        }
      }
      forward(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  self = `http://127.0.0.1:${port}`;
  return {
    url: self,
    host: `127.0.0.1:${port}`,
    get blocked() {
      return blocked;
    },
    set blocked(v: boolean) {
      blocked = v;
      if (v) server.closeAllConnections();
    },
    arm(r) {
      rule = r;
      // Disarming keeps what was recorded (the test reads it after the run).
      if (!r) return;
      arrived = [];
      seen = false;
      waiting = [];
      timedOut = 0;
      released = 0;
    },
    get arrived() {
      return arrived;
    },
    get timedOut() {
      return timedOut;
    },
    get released() {
      return released;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
