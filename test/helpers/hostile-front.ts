/**
 * A reverse proxy on 127.0.0.1:0 in front of a real server (the trust server or a registry)
 * that forwards everything except the requests a test picks: those it answers itself, the way
 * a broken or hostile server would (garbage, a body cut off mid-way, an endless body, an HTML
 * page). The setup runs through the front untouched, then each test sets `rule` for the one
 * kind of request it attacks. Bytes written by the hostile answers are counted, so a test can
 * show the client stopped reading an endless body.
 */
import { createServer, request, Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { writeEndless } from './hostile-registry.js';

/** Answers one request in place of the upstream; `count` adds to {@link HostileFront.bytesWritten}. */
export type FrontAnswer = (req: IncomingMessage, res: ServerResponse, count: (n: number) => void) => void;

/** A running front. */
export interface HostileFront {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** `127.0.0.1:PORT` */
  readonly host: string;
  /** Picks the requests to answer itself; undefined (the default) forwards everything. */
  rule: ((req: IncomingMessage) => FrontAnswer | undefined) | undefined;
  /** Headers added to every hostile answer (e.g. the trust server's own, to play a broken trust server). */
  answerHeaders: Record<string, string>;
  /** Bytes the hostile answers wrote so far. */
  bytesWritten(): number;
  /** Paths answered by the rule so far. */
  hits(): readonly string[];
  close(): Promise<void>;
}

/** Starts a front for `upstream` (`http://host:port`). */
export async function startHostileFront(upstream: string): Promise<HostileFront> {
  const up = new URL(upstream);
  const agent = new Agent({ keepAlive: true });
  const sockets = new Set<Socket>();
  let written = 0;
  const hits: string[] = [];
  const front: HostileFront = {
    url: '',
    host: '',
    rule: undefined,
    answerHeaders: {},
    bytesWritten: () => written,
    hits: () => hits,
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const server = createServer((req, res) => {
    res.on('error', () => undefined);
    const answer = front.rule?.(req);
    if (answer) {
      hits.push(req.url ?? '');
      req.resume();
      for (const [k, v] of Object.entries(front.answerHeaders)) res.setHeader(k, v);
      answer(req, res, (n) => (written += n));
      return;
    }
    const out = request({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers, agent }, (ures) => {
      res.writeHead(ures.statusCode ?? 502, ures.headers);
      ures.pipe(res);
    });
    out.on('error', (e) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`front: ${e.message}`);
    });
    req.pipe(out);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(front, { url: `http://127.0.0.1:${port}`, host: `127.0.0.1:${port}` });
}

/** Hostile answers shared by the attack tests. */
export const answers = {
  /** 200 with a complete body of `body` (Content-Length set). */
  fixed(body: string | Uint8Array, contentType = 'application/json', status = 200): FrontAnswer {
    return (_req, res, count) => {
      const b = typeof body === 'string' ? Buffer.from(body) : Buffer.from(body);
      count(b.length);
      res.writeHead(status, { 'content-type': contentType, 'content-length': String(b.length) });
      res.end(b);
    };
  },
  /** 200, chunked, a well-formed end of the chunked encoding after half a JSON document. */
  halfJson(contentType = 'application/json'): FrontAnswer {
    return (_req, res, count) => {
      const b = Buffer.from('{"signed":{"_type":"timestamp","version":');
      count(b.length);
      res.writeHead(200, { 'content-type': contentType });
      res.end(b);
    };
  },
  /** 200, chunked, part of a body and then the connection is destroyed (no final chunk). */
  cutChunked(contentType = 'application/json'): FrontAnswer {
    return (_req, res, count) => {
      res.writeHead(200, { 'content-type': contentType });
      const b = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.');
      count(b.length);
      res.write(b, () => setTimeout(() => res.destroy(), 20));
    };
  },
  /** 200, Content-Length promises more than is sent before the connection closes. */
  cutLength(contentType = 'application/json'): FrontAnswer {
    return (_req, res, count) => {
      res.writeHead(200, { 'content-type': contentType, 'content-length': '4096' });
      const b = Buffer.from('{"signed":');
      count(b.length);
      res.write(b, () => setTimeout(() => res.destroy(), 20));
    };
  },
  /** 200, chunked, `{{{{…` forever until the client goes away. */
  endless(contentType = 'application/json'): FrontAnswer {
    return (_req, res, count) => {
      res.writeHead(200, { 'content-type': contentType });
      writeEndless(res, count);
    };
  },
};
