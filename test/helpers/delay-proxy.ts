/**
 * An HTTP reverse proxy on 127.0.0.1:0 in front of one upstream, for tests that need a slow or
 * observed registry: it counts every request (method and path) and can hold each request for
 * `delayMs` before forwarding it. The Host header passes through (registries build upload
 * locations from it) and absolute `Location` headers naming the upstream are rewritten.
 */
import { createServer, request, Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request seen by the proxy. */
export interface SeenRequest {
  readonly method: string;
  readonly path: string;
}

/** A running proxy. */
export interface DelayProxy {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** `127.0.0.1:PORT`, for image references. */
  readonly host: string;
  /** Milliseconds each request is held before it is forwarded (change at any time). */
  delayMs: number;
  /** Requests since the start or the last {@link reset}. */
  requests(): readonly SeenRequest[];
  reset(): void;
  close(): Promise<void>;
}

/** Starts a proxy to `upstream` (`http://host:port`). */
export async function startDelayProxy(upstream: string): Promise<DelayProxy> {
  const up = new URL(upstream);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  let seen: SeenRequest[] = [];
  let self = '';
  const timers = new Set<NodeJS.Timeout>();
  const proxy: DelayProxy = {
    url: '',
    host: '',
    delayMs: 0,
    requests: () => seen,
    reset: () => {
      seen = [];
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const forward = (req: IncomingMessage, res: ServerResponse, body: Buffer): void => {
    const out = request({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers, agent }, (ures) => {
      const headers = { ...ures.headers };
      const loc = headers.location;
      if (typeof loc === 'string' && loc.startsWith(up.origin)) headers.location = self + loc.slice(up.origin.length);
      res.writeHead(ures.statusCode ?? 502, headers);
      ures.pipe(res);
    });
    out.on('error', (e) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy: ${e.message}`);
    });
    out.end(body);
  };
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? '?', path: req.url ?? '' });
    const chunks: Buffer[] = [];
    req.on('data', (b: Buffer) => chunks.push(b));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (proxy.delayMs <= 0) return forward(req, res, body);
      const t = setTimeout(() => {
        timers.delete(t);
        forward(req, res, body);
      }, proxy.delayMs);
      timers.add(t);
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  self = `http://127.0.0.1:${port}`;
  return Object.assign(proxy, { url: self, host: `127.0.0.1:${port}` });
}
