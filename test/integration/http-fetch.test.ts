/**
 * lib/http/fetch.ts against real sockets: every promise of its module comment, checked on
 * HTTP servers on 127.0.0.1 (and one HTTPS server with a certificate made by `openssl` here),
 * and compared with the global (undici) fetch on a table of cases where the two must agree.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { defaultFetch, nodeFetch, type FetchFunction } from '../../lib/http/fetch.js';
import { rejection } from '../helpers/rejection.js';

const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FETCH_MODULE = pathToFileURL(join(PROJECT_ROOT, 'lib', 'http', 'fetch.ts')).href;
const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
if (process.env.CI === 'true' && !hasOpenssl) throw new Error('openssl is required in CI (HTTPS test certificate)');

const MiB = 1024 * 1024;
const BIG = 20 * MiB;
const BIG_CHUNK = 64 * 1024;

/** What the /big route has written so far (one transfer at a time). */
interface BigStats {
  written: number;
  waitingDrain: boolean;
  done: boolean;
  hash: string;
}

interface TestServer {
  readonly server: Server;
  readonly origin: string;
  /** TCP connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function pattern(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + 3) & 0xff;
  return b;
}

const ECHOED = ['authorization', 'cookie', 'proxy-authorization', 'content-type', 'content-length', 'x-custom'];

function route(req: IncomingMessage, res: ServerResponse, reqBody: Buffer, big: BigStats): void {
  const u = new URL(req.url ?? '/', 'http://placeholder');
  const parts = u.pathname.split('/').filter(Boolean);
  const q = (k: string): string => u.searchParams.get(k) ?? '';
  switch (parts[0]) {
    case 'echo': {
      const headers: Record<string, string | undefined> = {};
      for (const h of ECHOED) if (req.headers[h] !== undefined) headers[h] = String(req.headers[h]);
      res.writeHead(200, { 'content-type': 'application/json', 'x-route': 'echo' });
      res.end(JSON.stringify({ method: req.method, path: u.pathname + u.search, body: reqBody.toString('utf8'), headers }));
      return;
    }
    case 'raw-headers':
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(req.headers));
      return;
    case 'bytes': {
      const body = pattern(Number(q('n')));
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length, etag: '"p"' });
      res.end(body);
      return;
    }
    case 'chunked': {
      // No content-length: Node sends it chunked.
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('a'.repeat(100));
      res.end('b'.repeat(100));
      return;
    }
    case 'chunked-stall':
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('x'.repeat(100));
      return;
    case 'status': {
      const code = Number(parts[1]);
      res.writeHead(code, { 'x-route': 'status' });
      res.end(code === 204 || code === 304 ? undefined : `status ${code}`);
      return;
    }
    case 'multi':
      res.setHeader('x-multi', ['a', 'b, c', 'd']);
      res.setHeader('set-cookie', ['one=1; Path=/', 'two=2']);
      res.setHeader('content-type', 'text/plain');
      res.end('multi');
      return;
    case 'redirect':
      res.writeHead(Number(parts[1]), { location: q('to') });
      res.end('moved');
      return;
    case 'redirect-stall':
      // a redirect whose (undeclared) body never ends: following must not wait for it
      res.writeHead(302, { location: '/echo' });
      res.write('partial');
      return;
    case 'chain': {
      const n = Number(parts[1]);
      if (n > 0) res.writeHead(302, { location: `/chain/${n - 1}` }).end();
      else res.writeHead(200, { 'content-type': 'text/plain' }).end('end of chain');
      return;
    }
    case 'noloc':
      res.writeHead(302, { 'content-type': 'text/plain' });
      res.end('no location');
      return;
    case 'gzip': {
      const gz = gzipSync(Buffer.from('stored as gzip '.repeat(20)));
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'text/plain', 'content-length': gz.length });
      res.end(gz);
      return;
    }
    case 'hang':
      return; // never answers; closeAllConnections cleans up
    case 'stall':
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 1000 });
      res.write(pattern(10));
      return;
    case 'reset':
    case 'fin':
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 100_000 });
      res.write(pattern(1000));
      setTimeout(() => (parts[0] === 'reset' ? req.socket.resetAndDestroy() : req.socket.destroy()), 30).unref();
      return;
    case 'trickle': {
      // Several small writes, so the client stream fills (and pauses) before the body is complete.
      const count = Number(q('parts'));
      const size = Number(q('size'));
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': count * size });
      let i = 0;
      const next = (): void => {
        if (res.destroyed) return;
        i++;
        if (i === count) res.end(pattern(size));
        else {
          res.write(pattern(size));
          setTimeout(next, 15).unref();
        }
      };
      next();
      return;
    }
    case 'big': {
      big.written = 0;
      big.waitingDrain = false;
      big.done = false;
      const h = createHash('sha256');
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BIG });
      let i = 0;
      const pump = (): void => {
        while (big.written < BIG) {
          const chunk = Buffer.alloc(BIG_CHUNK, i++ & 0xff);
          big.written += chunk.length;
          h.update(chunk);
          if (big.written === BIG) {
            big.hash = h.digest('hex');
            big.done = true;
            res.end(chunk);
            return;
          }
          if (!res.write(chunk)) {
            big.waitingDrain = true;
            res.once('drain', () => {
              big.waitingDrain = false;
              pump();
            });
            return;
          }
        }
      };
      pump();
      return;
    }
    default:
      res.writeHead(404).end('unknown route');
  }
}

function handler(big: BigStats) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => route(req, res, Buffer.concat(chunks), big));
  };
}

async function listenOn(server: Server, scheme: 'http' | 'https'): Promise<TestServer> {
  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  assert.ok(addr && typeof addr === 'object');
  return {
    server,
    origin: `${scheme}://127.0.0.1:${addr.port}`,
    connections: () => connections,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const big: BigStats = { written: 0, waitingDrain: false, done: false, hash: '' };
const startHttp = (): Promise<TestServer> => listenOn(createServer(handler(big)), 'http');

/** What a response looks like from the outside, for comparing the two fetches. */
async function summary(res: Response): Promise<Record<string, unknown>> {
  const headers: Record<string, string | null> = {};
  for (const h of ['content-type', 'content-length', 'location', 'x-multi', 'set-cookie', 'x-route', 'etag', 'content-encoding']) {
    headers[h] = res.headers.get(h);
  }
  const bodyNull = res.body === null;
  const bytes = Buffer.from(await res.arrayBuffer());
  return {
    status: res.status,
    ok: res.ok,
    statusText: res.statusText,
    url: res.url,
    redirected: res.redirected,
    headers,
    bodyNull,
    body: res.headers.get('content-type') === 'application/json' ? JSON.parse(bytes.toString('utf8')) : bytes.toString('base64'),
  };
}

function assertFetchFailed(e: unknown, causeCode?: string): void {
  assert.ok(e instanceof TypeError, `expected TypeError, got ${String(e)}`);
  assert.equal(e.message, 'fetch failed');
  if (causeCode !== undefined) assert.equal((e.cause as { code?: string } | undefined)?.code, causeCode);
}

/** Runs an ES module script in a child `node` (with tsx, so it can import the .ts sources). */
function runChild(script: string, env: Record<string, string>, killAfterMs: number): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string; killed: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, killAfterMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      // 'exit' can precede the last stdout bytes; 'close' follows all of them.
      child.on('close', () => resolve({ code, signal, stdout, stderr, killed }));
    });
  });
}

describe('nodeFetch over real sockets', () => {
  let a: TestServer;
  let b: TestServer;
  before(async () => {
    a = await startHttp();
    b = await startHttp();
  });
  after(async () => {
    await a.close();
    await b.close();
  });

  describe('agrees with the global fetch', () => {
    const creds = { authorization: 'Bearer secret', cookie: 'session=1', 'proxy-authorization': 'Basic cHJveHk=', 'x-custom': 'kept' };
    // [name, path-or-url builder, init]
    const cases: Array<[string, () => string | URL, RequestInit?]> = [
      ['200 with a body', () => `${a.origin}/bytes?n=5000`],
      ['empty 200 body', () => `${a.origin}/bytes?n=0`],
      ['chunked body', () => `${a.origin}/chunked`],
      ['404 with a body', () => `${a.origin}/status/404`],
      ['500', () => `${a.origin}/status/500`],
      ['repeated headers joined with ", "', () => `${a.origin}/multi`],
      ['HEAD has a null body and keeps content-length', () => `${a.origin}/bytes?n=1234`, { method: 'HEAD' }],
      ['204 has a null body', () => `${a.origin}/status/204`],
      ['304 has a null body', () => `${a.origin}/status/304`],
      ['URL object input with a query', () => new URL(`${a.origin}/echo?x=1&y=%20z`)],
      ['fragment is not part of response.url', () => `${a.origin}/echo?q=1#frag`],
      ['POST body and content-type arrive', () => `${a.origin}/echo`, { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } }],
      ['PUT with Uint8Array body', () => `${a.origin}/echo`, { method: 'PUT', body: new Uint8Array([104, 105]) }],
      ['POST with ArrayBuffer body', () => `${a.origin}/echo`, { method: 'POST', body: new Uint8Array([111, 107]).buffer }],
      ['POST with empty body', () => `${a.origin}/echo`, { method: 'POST' }],
      ['DELETE', () => `${a.origin}/echo`, { method: 'DELETE' }],
      ...[301, 302, 303, 307, 308].map((code): [string, () => string] => [`GET follows ${code}`, () => `${a.origin}/redirect/${code}?to=/echo%3Ffrom%3D${code}`]),
      ...[301, 302, 303, 307, 308].map((code): [string, () => string, RequestInit] => [
        `POST through ${code}`,
        () => `${a.origin}/redirect/${code}?to=/echo`,
        { method: 'POST', body: 'payload', headers: { 'content-type': 'text/plain', 'x-custom': 'v' } },
      ]),
      ['PUT through 302 stays PUT', () => `${a.origin}/redirect/302?to=/echo`, { method: 'PUT', body: 'p', headers: { 'content-type': 'text/plain' } }],
      ['PUT through 303 becomes GET', () => `${a.origin}/redirect/303?to=/echo`, { method: 'PUT', body: 'p', headers: { 'content-type': 'text/plain' } }],
      ['HEAD through 303 stays HEAD', () => `${a.origin}/redirect/303?to=/bytes%3Fn%3D10`, { method: 'HEAD' }],
      ['relative Location', () => `${a.origin}/redirect/302?to=../echo%3Frel`],
      ['same-origin redirect keeps credentials', () => `${a.origin}/redirect/302?to=/echo`, { headers: creds }],
      ['cross-origin redirect drops credentials', () => `${a.origin}/redirect/307?to=${encodeURIComponent(`${b.origin}/echo`)}`, { headers: creds }],
      ['cross-origin POST 307 keeps the body', () => `${a.origin}/redirect/307?to=${encodeURIComponent(`${b.origin}/echo`)}`, { method: 'POST', body: 'x', headers: { ...creds, 'content-type': 'text/plain' } }],
      ['20 redirects are followed', () => `${a.origin}/chain/20`],
      ['3xx without Location is returned', () => `${a.origin}/noloc`],
      ['manual returns the 3xx', () => `${a.origin}/redirect/302?to=/echo`, { redirect: 'manual' }],
      ['manual returns a 303 after POST', () => `${a.origin}/redirect/303?to=/echo`, { redirect: 'manual', method: 'POST', body: 'x' }],
      ['error mode passes non-redirects', () => `${a.origin}/bytes?n=3`, { redirect: 'error' }],
    ];
    for (const [name, target, init] of cases) {
      it(name, async () => {
        const mine = await summary(await nodeFetch(target(), init));
        const theirs = await summary(await fetch(target(), init));
        assert.deepEqual(mine, theirs);
      });
    }

    it('the table checks what it claims (spot checks of the agreed results)', async () => {
      const multi = await nodeFetch(`${a.origin}/multi`);
      assert.equal(multi.headers.get('X-Multi'), 'a, b, c, d');
      assert.equal(multi.headers.get('set-cookie'), 'one=1; Path=/, two=2');
      assert.deepEqual(multi.headers.getSetCookie(), ['one=1; Path=/', 'two=2']);
      await multi.text();

      const post303 = await nodeFetch(`${a.origin}/redirect/303?to=/echo`, { method: 'POST', body: 'payload', headers: { 'content-type': 'text/plain' } });
      assert.equal(post303.redirected, true);
      assert.equal(post303.url, `${a.origin}/echo`);
      assert.deepEqual(await post303.json(), { method: 'GET', path: '/echo', body: '', headers: {} });

      const post307 = await nodeFetch(`${a.origin}/redirect/307?to=/echo`, { method: 'POST', body: 'payload', headers: { 'content-type': 'text/plain' } });
      assert.deepEqual(await post307.json(), { method: 'POST', path: '/echo', body: 'payload', headers: { 'content-type': 'text/plain', 'content-length': '7' } });

      const cross = await nodeFetch(`${a.origin}/redirect/302?to=${encodeURIComponent(`${b.origin}/echo`)}`, { headers: creds });
      assert.equal(cross.url, `${b.origin}/echo`);
      assert.deepEqual(((await cross.json()) as { headers: unknown }).headers, { 'x-custom': 'kept' });

      const same = await nodeFetch(`${a.origin}/redirect/302?to=/echo`, { headers: creds });
      assert.deepEqual(((await same.json()) as { headers: unknown }).headers, creds);

      const manual = await nodeFetch(`${a.origin}/redirect/301?to=/echo`, { redirect: 'manual' });
      assert.equal(manual.status, 301);
      assert.equal(manual.redirected, false);
      assert.equal(manual.headers.get('location'), '/echo');
      assert.equal(await manual.text(), 'moved');

      const head = await nodeFetch(`${a.origin}/bytes?n=1234`, { method: 'HEAD' });
      assert.equal(head.body, null);
      assert.equal(head.headers.get('content-length'), '1234');
      assert.equal((await head.arrayBuffer()).byteLength, 0);

      const chain = await nodeFetch(`${a.origin}/chain/20`);
      assert.equal(chain.url, `${a.origin}/chain/0`);
      assert.equal(await chain.text(), 'end of chain');
    });

    const failures: Array<[string, () => string, RequestInit?]> = [
      ['21 redirects reject', () => `${a.origin}/chain/21`],
      ["redirect: 'error' rejects on a 3xx", () => `${a.origin}/redirect/302?to=/echo`, { redirect: 'error' }],
      ['redirect to an unsupported scheme rejects', () => `${a.origin}/redirect/302?to=ftp%3A%2F%2F127.0.0.1%2Fx`],
      ['unsupported scheme rejects', () => 'ftp://127.0.0.1/x'],
    ];
    for (const [name, target, init] of failures) {
      it(name, async () => {
        assertFetchFailed(await rejection(nodeFetch(target(), init)));
        assertFetchFailed(await rejection(fetch(target(), init)));
      });
    }

    it('connection refused: TypeError with cause.code ECONNREFUSED', async () => {
      const s = await startHttp();
      const url = `${s.origin}/echo`;
      await s.close();
      assertFetchFailed(await rejection(nodeFetch(url)), 'ECONNREFUSED');
      assertFetchFailed(await rejection(fetch(url)), 'ECONNREFUSED');
    });

    it('a body can be read once; bodyUsed reports it', async () => {
      for (const f of [nodeFetch, fetch] as FetchFunction[]) {
        const res = await f(`${a.origin}/bytes?n=10`);
        assert.equal(res.bodyUsed, false);
        assert.equal((await res.arrayBuffer()).byteLength, 10);
        assert.equal(res.bodyUsed, true);
        assert.ok((await rejection(res.text())) instanceof TypeError);
      }
    });

    it('json() on a non-JSON body rejects with SyntaxError, like fetch', async () => {
      for (const f of [nodeFetch, fetch] as FetchFunction[]) {
        const e = await rejection((await f(`${a.origin}/status/404`)).json());
        assert.ok(e instanceof SyntaxError);
      }
    });
  });

  describe('where it deliberately differs', () => {
    it('sends no accept-encoding (nor user-agent) and returns bodies as stored', async () => {
      const raw = (await (await nodeFetch(`${a.origin}/raw-headers`)).json()) as Record<string, string>;
      assert.equal(raw['accept-encoding'], undefined);
      assert.equal(raw['user-agent'], undefined);
      const global = (await (await fetch(`${a.origin}/raw-headers`)).json()) as Record<string, string>;
      assert.match(global['accept-encoding'] ?? '', /gzip/); // the difference is real

      const stored = gzipSync(Buffer.from('stored as gzip '.repeat(20)));
      const res = await nodeFetch(`${a.origin}/gzip`);
      assert.equal(res.headers.get('content-encoding'), 'gzip');
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), stored);
      // undici decodes it, so a digest over its bytes would not match the stored blob
      assert.equal(await (await fetch(`${a.origin}/gzip`)).text(), 'stored as gzip '.repeat(20));
    });
  });

  describe('request headers and bodies', () => {
    const echo = async (init: RequestInit): Promise<Record<string, string>> =>
      ((await (await nodeFetch(`${a.origin}/echo`, init)).json()) as { headers: Record<string, string> }).headers;

    it('accepts a global Headers object, a Headers-like object, pairs and a record', async () => {
      const h = new Headers([['X-Custom', 'a'], ['x-custom', 'b'], ['Authorization', 'Bearer t']]);
      assert.deepEqual(await echo({ headers: h }), { 'x-custom': 'a, b', authorization: 'Bearer t' });

      // A Headers look-alike from another realm or library: only forEach/get are relied on.
      const entries: Array<[string, string]> = [['x-custom', 'like'], ['cookie', 'c=1']];
      const like = {
        get: (n: string) => entries.find(([k]) => k === n)?.[1] ?? null,
        forEach: (fn: (v: string, k: string) => void) => entries.forEach(([k, v]) => fn(v, k)),
      } as unknown as Headers;
      assert.deepEqual(await echo({ headers: like }), { 'x-custom': 'like', cookie: 'c=1' });

      assert.deepEqual(await echo({ headers: [['X-Custom', '1'], ['X-CUSTOM', '2']] }), { 'x-custom': '1, 2' });
      assert.deepEqual(await echo({ headers: { 'X-Custom': 'rec', Cookie: 'k=v' } }), { 'x-custom': 'rec', cookie: 'k=v' });
    });

    it('rejects unsupported body types with TypeError before sending anything', async () => {
      const s = await startHttp();
      try {
        const bodies: unknown[] = [
          new ReadableStream({ start: (c) => c.close() }),
          new Blob(['x']),
          new URLSearchParams('a=1'),
          new FormData(),
          { not: 'a body' },
          42,
        ];
        for (const body of bodies) {
          const e = await rejection(nodeFetch(`${s.origin}/echo`, { method: 'POST', body: body as RequestInit['body'] }));
          assert.ok(e instanceof TypeError, `${Object.prototype.toString.call(body)} → ${String(e)}`);
        }
        assert.equal(s.connections(), 0);
      } finally {
        await s.close();
      }
    });
  });

  describe('abort signals', () => {
    it('an already aborted signal rejects with its reason', async () => {
      const reason = new Error('stop right there');
      const ac = new AbortController();
      ac.abort(reason);
      assert.equal(await rejection(nodeFetch(`${a.origin}/echo`, { signal: ac.signal })), reason);
      assert.equal(await rejection(fetch(`${a.origin}/echo`, { signal: ac.signal })), reason);
    });

    it('AbortSignal.timeout while waiting for headers rejects with TimeoutError', async () => {
      for (const f of [nodeFetch, fetch] as FetchFunction[]) {
        const e = await rejection(f(`${a.origin}/hang`, { signal: AbortSignal.timeout(80) }));
        assert.equal((e as Error).name, 'TimeoutError');
      }
    });

    it('headers then a stall: the body errors with TimeoutError through the stream and through text()', async () => {
      for (const f of [nodeFetch, fetch] as FetchFunction[]) {
        const res = await f(`${a.origin}/stall`, { signal: AbortSignal.timeout(150) });
        assert.equal(res.status, 200);
        const reader = res.body!.getReader();
        const first = await reader.read();
        assert.equal(first.value?.byteLength, 10);
        const e = await rejection(reader.read());
        assert.equal((e as Error).name, 'TimeoutError', String(e));

        const res2 = await f(`${a.origin}/stall`, { signal: AbortSignal.timeout(150) });
        assert.equal(((await rejection(res2.text())) as Error).name, 'TimeoutError');
      }
    });

    it('aborting mid-body rejects the pending read with the exact reason and closes the connection', async () => {
      const s = await startHttp();
      try {
        let serverClosed = false;
        s.server.once('connection', (sock) => sock.once('close', () => (serverClosed = true)));
        const ac = new AbortController();
        const res = await nodeFetch(`${s.origin}/stall`, { signal: ac.signal });
        const reader = res.body!.getReader();
        await reader.read();
        const pending = reader.read();
        const reason = new Error('user cancelled');
        ac.abort(reason);
        assert.equal(await rejection(pending), reason);
        for (let i = 0; i < 50 && !serverClosed; i++) await sleep(10);
        assert.ok(serverClosed, 'the aborted connection must not be kept');
      } finally {
        await s.close();
      }
    });
  });

  describe('broken connections', () => {
    for (const kind of ['reset', 'fin'] as const) {
      it(`a server that ${kind === 'reset' ? 'resets (RST)' : 'closes (FIN)'} mid-body errors the stream with TypeError`, async () => {
        for (const f of [nodeFetch, fetch] as FetchFunction[]) {
          const res = await f(`${a.origin}/${kind}`);
          assert.equal(res.status, 200);
          const e = await rejection(res.arrayBuffer());
          assert.ok(e instanceof TypeError, `${f === fetch ? 'global' : 'node'}: ${String(e)}`);
          assert.equal(e.message, 'terminated');
        }
      });
    }
  });

  describe('connection reuse', () => {
    it('two sequential requests use one socket', async () => {
      const s = await startHttp();
      try {
        assert.equal((await (await nodeFetch(`${s.origin}/bytes?n=100`)).arrayBuffer()).byteLength, 100);
        assert.equal((await (await nodeFetch(`${s.origin}/echo`, { method: 'POST', body: 'x' })).json() as { body: string }).body, 'x');
        assert.equal((await nodeFetch(`${s.origin}/status/204`)).status, 204);
        assert.equal((await nodeFetch(`${s.origin}/bytes?n=5`, { method: 'HEAD' })).status, 200);
        assert.equal(await (await nodeFetch(`${s.origin}/redirect/302?to=/chain/1`)).text(), 'end of chain');
        assert.equal(s.connections(), 1);
      } finally {
        await s.close();
      }
    });

    it('a redirect hop whose body never ends is dropped, not waited for', async () => {
      const s = await startHttp();
      try {
        const res = await nodeFetch(`${s.origin}/redirect-stall`, { signal: AbortSignal.timeout(2000) });
        assert.equal(res.url, `${s.origin}/echo`);
        assert.equal(((await res.json()) as { method: string }).method, 'GET');
        assert.equal(s.connections(), 2);
      } finally {
        await s.close();
      }
    });

    it('cancel() drains a small declared body so the socket is reused', async () => {
      const s = await startHttp();
      try {
        const res = await nodeFetch(`${s.origin}/bytes?n=${16 * 1024}`);
        await res.body!.cancel();
        await sleep(30);
        assert.equal((await (await nodeFetch(`${s.origin}/bytes?n=3`)).arrayBuffer()).byteLength, 3);
        assert.equal(s.connections(), 1);
      } finally {
        await s.close();
      }
    });

    it('cancel() after the body stalled the stream still frees the socket for reuse', async () => {
      const s = await startHttp();
      try {
        // 8 writes of 1 KiB arrive as separate chunks: the stream (high-water mark 4 chunks)
        // pauses the message before it completes; the client never reads.
        const res = await nodeFetch(`${s.origin}/trickle?parts=8&size=1024`);
        await sleep(250);
        await res.body!.cancel();
        await sleep(30);
        assert.equal((await (await nodeFetch(`${s.origin}/bytes?n=3`)).arrayBuffer()).byteLength, 3);
        assert.equal(s.connections(), 1);
      } finally {
        await s.close();
      }
    });

    it('cancel() destroys a large or undeclared body instead of reading it', async () => {
      for (const path of [`/bytes?n=${8 * MiB}`, '/chunked-stall']) {
        const s = await startHttp();
        try {
          let serverClosed = false;
          s.server.once('connection', (sock) => sock.once('close', () => (serverClosed = true)));
          const res = await nodeFetch(`${s.origin}${path}`);
          await res.body!.cancel();
          for (let i = 0; i < 50 && !serverClosed; i++) await sleep(10);
          assert.ok(serverClosed, `${path}: connection closed`);
          await (await nodeFetch(`${s.origin}/bytes?n=3`)).arrayBuffer();
          assert.equal(s.connections(), 2, path);
        } finally {
          await s.close();
        }
      }
    });
  });

  describe('a 20 MiB body', () => {
    it('streams in chunks with back-pressure: the server stalls while the client does not read', async () => {
      const res = await nodeFetch(`${a.origin}/big`);
      assert.equal(res.headers.get('content-length'), String(BIG));
      const reader = res.body!.getReader();
      const h = createHash('sha256');
      let received = 0;
      let chunks = 0;
      let largest = 0;
      const take = (v: Uint8Array): void => {
        h.update(v);
        received += v.byteLength;
        chunks++;
        largest = Math.max(largest, v.byteLength);
      };
      while (received < MiB) {
        const r = await reader.read();
        assert.equal(r.done, false);
        take(r.value!);
      }
      // The client pauses: the server's writes must stop, waiting for 'drain'.
      await sleep(150);
      const writtenAt150 = big.written;
      await sleep(150);
      assert.equal(big.written, writtenAt150, 'server kept writing while the client did not read');
      assert.equal(big.waitingDrain, true);
      assert.equal(big.done, false);
      // Socket buffers (kernel, ~7 MiB on loopback here) plus the stream's few chunks: a client
      // that buffered without back-pressure would have taken all 20 MiB by now.
      const inFlight = big.written - received;
      assert.ok(inFlight < 16 * MiB, `bytes buffered between server and reader: ${inFlight}`);

      for (;;) {
        const r = await reader.read();
        if (r.done) break;
        take(r.value!);
      }
      assert.equal(received, BIG);
      assert.equal(big.done, true);
      assert.equal(h.digest('hex'), big.hash);
      assert.ok(chunks > 100, `${chunks} chunks`);
      assert.ok(largest <= 256 * 1024, `largest chunk ${largest}`);
    });
  });

  describe('defaultFetch', () => {
    it('uses the Symbol.for("ocitrust.fetch") override when installed, nodeFetch otherwise', async () => {
      const key = Symbol.for('ocitrust.fetch');
      const seen: string[] = [];
      const g = globalThis as Record<symbol, unknown>;
      g[key] = (input: string | URL, init?: RequestInit) => {
        seen.push(String(input));
        return fetch(input, init);
      };
      try {
        const res = await defaultFetch(`${a.origin}/raw-headers`);
        assert.deepEqual(seen, [`${a.origin}/raw-headers`]);
        assert.ok(((await res.json()) as Record<string, string>)['user-agent'], 'went through the override (undici)');
      } finally {
        delete g[key];
      }
      const res = await defaultFetch(`${a.origin}/raw-headers`);
      assert.equal(((await res.json()) as Record<string, string>)['user-agent'], undefined, 'went through nodeFetch');
      assert.equal(seen.length, 1);
    });
  });

  describe('process exit', () => {
    it('a short-lived process that used nodeFetch exits on its own, with the server keeping the socket open', async () => {
      const s = await startHttp();
      s.server.keepAliveTimeout = 60_000; // the server will not close the idle connection
      try {
        const script = `
          const { nodeFetch } = await import(${JSON.stringify(FETCH_MODULE)});
          const res = await nodeFetch(process.env.TARGET);
          const body = await res.text();
          process.stdout.write(JSON.stringify({ status: res.status, length: body.length }) + '\\n');
        `;
        const r = await runChild(script, { TARGET: `${s.origin}/bytes?n=2000` }, 5000);
        assert.equal(r.killed, false, 'the child did not exit on its own');
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(JSON.parse(r.stdout), { status: 200, length: 2000 });
        assert.equal(s.connections(), 1);
      } finally {
        await s.close();
      }
    });
  });
});

describe('nodeFetch over HTTPS', { skip: hasOpenssl ? false : 'openssl not installed' }, () => {
  let dir: string;
  let tls: TestServer;
  let plain: TestServer;
  let certPath: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ocitrust-fetch-tls-'));
    certPath = join(dir, 'cert.pem');
    const keyPath = join(dir, 'key.pem');
    const r = spawnSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1',
        '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyPath, '-out', certPath],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, `openssl failed: ${r.stderr}`);
    const server = createHttpsServer({ key: readFileSync(keyPath), cert: readFileSync(certPath) }, handler(big));
    tls = await listenOn(server as unknown as Server, 'https');
    plain = await startHttp();
  });
  after(async () => {
    await tls?.close();
    await plain?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('an untrusted self-signed certificate fails like fetch: TypeError with the TLS error code', async () => {
    const mine = await rejection(nodeFetch(`${tls.origin}/echo`));
    const theirs = await rejection(fetch(`${tls.origin}/echo`));
    assertFetchFailed(mine, 'DEPTH_ZERO_SELF_SIGNED_CERT');
    assertFetchFailed(theirs, 'DEPTH_ZERO_SELF_SIGNED_CERT');
  });

  it('with the certificate trusted: bodies, one TLS connection for several requests, credentials dropped on https→http', async () => {
    const script = `
      const { nodeFetch } = await import(${JSON.stringify(FETCH_MODULE)});
      const out = {};
      const r1 = await nodeFetch(process.env.TLS + '/bytes?n=70000');
      out.first = { status: r1.status, length: (await r1.arrayBuffer()).byteLength };
      const r2 = await nodeFetch(new URL(process.env.TLS + '/echo'), { method: 'POST', body: 'over tls', headers: { authorization: 'Bearer t' } });
      out.second = await r2.json();
      const r3 = await nodeFetch(process.env.TLS + '/redirect/302?to=' + encodeURIComponent(process.env.PLAIN + '/echo'), { headers: { authorization: 'Bearer t', 'x-custom': 'k' } });
      out.cross = { url: r3.url, redirected: r3.redirected, echo: await r3.json() };
      process.stdout.write(JSON.stringify(out) + '\\n');
    `;
    const before = tls.connections();
    const r = await runChild(script, { TLS: tls.origin, PLAIN: plain.origin, NODE_EXTRA_CA_CERTS: certPath }, 8000);
    assert.equal(r.killed, false, 'the child did not exit on its own');
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.deepEqual(out.first, { status: 200, length: 70000 });
    assert.deepEqual(out.second, { method: 'POST', path: '/echo', body: 'over tls', headers: { authorization: 'Bearer t', 'content-length': '8' } });
    assert.deepEqual(out.cross, {
      url: `${plain.origin}/echo`,
      redirected: true,
      echo: { method: 'GET', path: '/echo', body: '', headers: { 'x-custom': 'k' } },
    });
    // r1, r2 and r3's first hop shared one TLS connection
    assert.equal(tls.connections() - before, 1);
  });
});
