/**
 * nodeFetch's body without a web stream (lib/http/body.ts): readBoundedBody, readBodyHead and
 * cancelBody read a nodeFetch response through its own reader, and must keep every bound,
 * error and drain rule the `ReadableStream` path has (test/integration/http-fetch.test.ts
 * checks that path). Real sockets on 127.0.0.1.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { nodeFetch } from '../../lib/http/fetch.js';
import { bodyReader, cancelBody } from '../../lib/http/body.js';
import { readBodyHead, readBoundedBody } from '../../lib/http/read.js';
import { OcitrustError } from '../../lib/errors/index.js';
import { rejection } from '../helpers/rejection.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const pattern = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff));

interface Srv {
  origin: string;
  connections(): number;
  /** Resolves when the n-th accepted connection (1-based) has closed. */
  closed(n: number): Promise<boolean>;
  close(): Promise<void>;
}

async function start(): Promise<Srv> {
  const closes: boolean[] = [];
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const n = Number(u.searchParams.get('n') ?? 0);
    switch (u.pathname) {
      case '/bytes':
        res.writeHead(200, { 'content-length': n }).end(pattern(n));
        return;
      case '/endless': {
        // chunked, never ends: only the client's bound stops it
        res.writeHead(200, { 'content-type': 'application/json' });
        const t = setInterval(() => (res.destroyed ? clearInterval(t) : res.write(Buffer.alloc(16 * 1024, 0x20))), 1);
        res.on('close', () => clearInterval(t));
        return;
      }
      case '/declared-huge':
        res.writeHead(200, { 'content-length': 50 * 1024 * 1024 });
        res.write(pattern(100));
        return;
      case '/cut':
        res.writeHead(200, { 'content-length': 100_000 });
        res.write(pattern(1000));
        setTimeout(() => req.socket.destroy(), 30).unref();
        return;
      case '/stall':
        res.writeHead(200, { 'content-length': 1000 });
        res.write(pattern(10));
        return;
      default:
        res.writeHead(404).end();
    }
  });
  server.on('connection', (s) => {
    const i = closes.push(false) - 1;
    s.once('close', () => (closes[i] = true));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    origin: `http://127.0.0.1:${port}`,
    connections: () => closes.length,
    async closed(n) {
      for (let i = 0; i < 100 && !closes[n - 1]; i++) await sleep(10);
      return closes[n - 1] === true;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const tooLarge = (declared: number | undefined): OcitrustError => new OcitrustError('INPUT_TOO_LARGE', `too large (declared ${declared})`, { details: { declared } });

describe('nodeFetch bodies read without a web stream', () => {
  let s: Srv;
  // Every ReadableStream the code under test builds is counted: the fast path builds none.
  const RealStream = globalThis.ReadableStream;
  let built = 0;
  before(async () => {
    s = await start();
    globalThis.ReadableStream = class extends RealStream<Uint8Array> {
      constructor(...args: ConstructorParameters<typeof ReadableStream<Uint8Array>>) {
        super(...args);
        built++;
      }
    } as typeof ReadableStream;
  });
  after(async () => {
    globalThis.ReadableStream = RealStream;
    await s.close();
  });

  it('readBoundedBody, readBodyHead, text() and cancelBody give the bytes and build no ReadableStream; the socket is reused', async () => {
    built = 0;
    const fresh = new Uint8Array(await (await nodeFetch(`${s.origin}/bytes?n=70000`)).arrayBuffer());
    assert.deepEqual(Buffer.from(await readBoundedBody(await nodeFetch(`${s.origin}/bytes?n=70000`), 70000, tooLarge)), Buffer.from(fresh));
    assert.equal((await readBoundedBody(await nodeFetch(`${s.origin}/bytes?n=0`), 10, tooLarge)).byteLength, 0);
    assert.equal((await (await nodeFetch(`${s.origin}/bytes?n=5`)).text()).length, 5);
    await cancelBody(await nodeFetch(`${s.origin}/bytes?n=100`)); // small and declared: drained, the socket kept
    await sleep(30);
    assert.equal((await readBoundedBody(await nodeFetch(`${s.origin}/nothing`), 10, tooLarge)).byteLength, 0);
    assert.equal(s.connections(), 1, 'one keep-alive connection for every request read to its end');
    // The head of a large body: the rest is not read, the connection is closed.
    assert.deepEqual(Buffer.from(await readBodyHead(await nodeFetch(`${s.origin}/bytes?n=70000`), 10)), pattern(10));
    assert.ok(await s.closed(1));
    assert.equal(built, 0, 'no ReadableStream was built');
  });

  it('an endless body: stopped at the bound with tooLarge(undefined), connection closed', async () => {
    const before = s.connections();
    const e = await rejection(readBoundedBody(await nodeFetch(`${s.origin}/endless`), 64 * 1024, tooLarge));
    assert.ok(e instanceof OcitrustError && e.code === 'INPUT_TOO_LARGE');
    assert.equal(e.details?.declared, undefined);
    assert.ok(before <= s.connections());
    assert.ok(await s.closed(s.connections()), 'the endless transfer is cut off');
  });

  it('a declared Content-Length above the bound: tooLarge(declared) before reading, connection closed', async () => {
    const e = await rejection(readBoundedBody(await nodeFetch(`${s.origin}/declared-huge`), 1024, tooLarge));
    assert.ok(e instanceof OcitrustError && e.code === 'INPUT_TOO_LARGE');
    assert.equal(e.details?.declared, 50 * 1024 * 1024);
    assert.ok(await s.closed(s.connections()));
  });

  it('a connection lost mid-body rejects with TypeError("terminated"), as the stream does', async () => {
    for (const read of [(r: Response) => readBoundedBody(r, 1e6, tooLarge), (r: Response) => readBodyHead(r, 1e6), (r: Response) => r.arrayBuffer()]) {
      const e = await rejection(read(await nodeFetch(`${s.origin}/cut`)));
      assert.ok(e instanceof TypeError, String(e));
      assert.equal(e.message, 'terminated');
    }
  });

  it('an abort mid-body rejects the pending read with the exact reason', async () => {
    const ac = new AbortController();
    const res = await nodeFetch(`${s.origin}/stall`, { signal: ac.signal });
    const pending = readBoundedBody(res, 1e6, tooLarge);
    await sleep(20);
    const reason = new Error('user cancelled');
    ac.abort(reason);
    assert.equal(await rejection(pending), reason);
  });

  it('once the reader is taken, .body is a locked stream and text() refuses, as after getReader()', async () => {
    const res = await nodeFetch(`${s.origin}/bytes?n=10`);
    const r = bodyReader(res)!;
    assert.throws(() => bodyReader(res), TypeError, 'handed out once');
    assert.equal(res.body!.locked, true);
    assert.ok((await rejection(res.text())) instanceof TypeError);
    const first = await r.read();
    assert.equal(first.done, false);
    await r.cancel();
  });

  it('after .body was built, the helpers read through that stream', async () => {
    const res = await nodeFetch(`${s.origin}/bytes?n=300`);
    assert.equal(res.body!.locked, false);
    assert.deepEqual(Buffer.from(await readBoundedBody(res, 300, tooLarge)), pattern(300));
  });
});
