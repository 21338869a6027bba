/**
 * A tiny HTTP server on 127.0.0.1:0 that plays a misbehaving registry. Each test gives the
 * handler (wrong digests, oversized or endless bodies, wrong content types, slow answers,
 * 429 storms…); the helper records requests, counts the bytes the server managed to write,
 * and tears every socket down on stop so nothing hangs.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One request the hostile registry saw. */
export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly at: number;
}

/** A running hostile registry. */
export interface HostileRegistry {
  /** `127.0.0.1:PORT` */
  readonly host: string;
  readonly url: string;
  readonly requests: SeenRequest[];
  /** Bytes written by {@link writeEndless}/{@link drip} so far (to show the client stopped reading). */
  bytesWritten(): number;
  /** TCP connections accepted so far (keep-alive reuse shows as fewer connections than requests). */
  connections(): number;
  stop(): Promise<void>;
}

/** Request handler; may be async. */
export type HostileHandler = (req: IncomingMessage, res: ServerResponse, ctx: { count: (n: number) => void }) => void | Promise<void>;

/** Starts the server with `handler`. */
export async function startHostileRegistry(handler: HostileHandler): Promise<HostileRegistry> {
  const requests: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  let written = 0;
  let accepted = 0;
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, at: Date.now() });
    req.resume();
    res.on('error', () => undefined);
    Promise.resolve(handler(req, res, { count: (n) => (written += n) })).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    accepted++;
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    requests,
    bytesWritten: () => written,
    connections: () => accepted,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Writes 64 KiB chunks forever (until the client goes away), counting bytes. */
export function writeEndless(res: ServerResponse, count: (n: number) => void, chunk = Buffer.alloc(64 * 1024, 0x7b)): void {
  const pump = (): void => {
    while (!res.destroyed && !res.writableEnded) {
      count(chunk.length);
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
  };
  res.once('close', () => res.removeAllListeners('drain'));
  pump();
}

/** Writes one byte every `everyMs` until the client goes away. */
export function drip(res: ServerResponse, count: (n: number) => void, everyMs = 100): void {
  const t = setInterval(() => {
    if (res.destroyed || res.writableEnded) {
      clearInterval(t);
      return;
    }
    count(1);
    res.write(' ');
  }, everyMs);
  res.once('close', () => clearInterval(t));
}
