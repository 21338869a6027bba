/**
 * A hostile network in front of a real trust server, for attack tests: an HTTP front on
 * 127.0.0.1:0 that forwards every request unchanged until told otherwise. It can replay an old
 * `timestamp.json` (a rollback: the timestamp is validly signed, only old) or block the server
 * (every connection is cut, as a firewall or a man in the middle would).
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A running front. */
export interface TrustFront {
  /** `http://127.0.0.1:PORT`: give it to clients as the trust server URL. */
  readonly url: string;
  /** Cut every connection (the server looks unreachable). */
  blocked: boolean;
  /** Records the timestamp.json of `collection` as served now, to {@link replayTimestamp} later. */
  snapshotTimestamp(collection: string, token?: string): Promise<Uint8Array>;
  /** From now on, GET …/<collection>/timestamp.json answers these bytes (undefined: forward again). */
  replayTimestamp(collection: string, bytes: Uint8Array | undefined): void;
  close(): Promise<void>;
}

function collectionPath(collection: string): string {
  return `/v1/collections/${collection.split('/').map(encodeURIComponent).join('/')}/timestamp.json`;
}

/** Starts a front for `upstream` (`http://host:port`). */
export async function startTrustFront(upstream: string): Promise<TrustFront> {
  const up = new URL(upstream);
  const replays = new Map<string, Uint8Array>();
  let blocked = false;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (blocked) {
      req.socket.destroy();
      return;
    }
    const path = (req.url ?? '/').split('?')[0]!;
    const replay = req.method === 'GET' ? replays.get(path) : undefined;
    if (replay) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': replay.length });
      res.end(Buffer.from(replay));
      return;
    }
    const out = request({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers: { ...req.headers, host: up.host } }, (ures) => {
      res.writeHead(ures.statusCode ?? 502, ures.headers);
      ures.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    get blocked() {
      return blocked;
    },
    set blocked(v: boolean) {
      blocked = v;
      if (v) server.closeAllConnections();
    },
    async snapshotTimestamp(collection, token) {
      const r = await fetch(`${upstream}${collectionPath(collection)}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
      if (r.status !== 200) throw new Error(`timestamp of ${collection}: HTTP ${r.status}`);
      return new Uint8Array(await r.arrayBuffer());
    },
    replayTimestamp(collection, bytes) {
      if (bytes) replays.set(collectionPath(collection), bytes);
      else replays.delete(collectionPath(collection));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
