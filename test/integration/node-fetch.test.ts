// lib/http/fetch.ts against real sockets: what it promises in its module comment (redirects,
// credentials across origins, abort covering the body, repeated headers, null bodies, drain on
// cancel with connection reuse, connection errors), compared with the global fetch where the
// two must agree.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { spawn } from 'node:child_process';
import { nodeFetch, defaultFetch } from '../../lib/http/fetch.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function serve(handler: Handler): Promise<{ url: string; server: Server; connections: () => number; seen: IncomingMessage[]; close: () => Promise<void> }> {
  let conns = 0;
  const seen: IncomingMessage[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    seen.push(req);
    handler(req, res);
  });
  server.on('connection', (s) => {
    conns++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    connections: () => conns,
    seen,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

const read = async (res: Response): Promise<string> => Buffer.from(await res.arrayBuffer()).toString();

describe('nodeFetch', () => {
  let a: Awaited<ReturnType<typeof serve>>;
  let b: Awaited<ReturnType<typeof serve>>;
  before(async () => {
    b = await serve((req, res) => {
      res.setHeader('x-auth', req.headers.authorization ?? 'none');
      res.setHeader('x-method', req.method ?? '');
      res.end(`other origin ${req.url}`);
    });
    a = await serve((req, res) => {
      const u = new URL(req.url!, 'http://x');
      switch (u.pathname) {
        case '/hello':
          res.setHeader('content-type', 'text/plain');
          res.setHeader('x-auth', req.headers.authorization ?? 'none');
          res.end('hello');
          return;
        case '/multi':
          res.setHeader('www-authenticate', ['Bearer realm="a"', 'Basic realm="b"']);
          res.setHeader('link', ['</a>; rel="next"']);
          res.end('m');
          return;
        case '/same':
          res.writeHead(307, { location: '/hello' }).end();
          return;
        case '/cross':
          res.writeHead(302, { location: `${b.url}/landed` }).end();
          return;
        case '/see-other':
          res.writeHead(303, { location: `${b.url}/after-post` }).end();
          return;
        case '/loop':
          res.writeHead(302, { location: '/loop' }).end();
          return;
        case '/empty':
          res.writeHead(204).end();
          return;
        case '/echo': {
          const parts: Buffer[] = [];
          req.on('data', (c: Buffer) => parts.push(c));
          req.on('end', () => res.end(`${req.method} ${req.headers['content-length']} ${Buffer.concat(parts).toString()}`));
          return;
        }
        case '/stall':
          res.writeHead(200, { 'content-length': '100' });
          res.write('partial');
          return; // never ends
        case '/reset':
          res.writeHead(200, { 'content-length': '1000' });
          res.write('x'.repeat(10), () => req.socket.destroy());
          return;
        case '/big':
          res.writeHead(200, { 'content-length': String(4 << 20) });
          res.end(Buffer.alloc(4 << 20, 7));
          return;
        default:
          res.writeHead(404).end('not found');
      }
    });
  });
  after(async () => {
    await a?.close();
    await b?.close();
  });

  it('agrees with the global fetch on status, headers, body, url and redirected', async () => {
    for (const path of ['/hello', '/multi', '/same', '/cross', '/empty', '/nope']) {
      const mine = await nodeFetch(`${a.url}${path}`);
      const theirs = await fetch(`${a.url}${path}`);
      assert.equal(mine.status, theirs.status, path);
      assert.equal(mine.url, theirs.url, path);
      assert.equal(mine.redirected, theirs.redirected, path);
      for (const h of ['content-type', 'www-authenticate', 'link', 'x-auth', 'content-length']) assert.equal(mine.headers.get(h), theirs.headers.get(h), `${path} ${h}`);
      assert.equal(await read(mine), await read(theirs), path);
    }
  });

  it('joins repeated headers with ", " and reads them case-insensitively', async () => {
    const r = await nodeFetch(`${a.url}/multi`);
    assert.equal(r.headers.get('WWW-Authenticate'), 'Bearer realm="a", Basic realm="b"');
    assert.ok(r.headers.has('Link'));
    await read(r);
  });

  it('follows redirects, keeping credentials on the same origin and dropping them across origins', async () => {
    const same = await nodeFetch(`${a.url}/same`, { headers: { authorization: 'Bearer secret' } });
    assert.equal(same.headers.get('x-auth'), 'Bearer secret');
    assert.equal(await read(same), 'hello');
    const cross = await nodeFetch(new URL(`${a.url}/cross`), { headers: { Authorization: 'Bearer secret', cookie: 'c=1' } });
    assert.equal(cross.url, `${b.url}/landed`);
    assert.equal(cross.headers.get('x-auth'), 'none', 'the token must not reach another origin');
    assert.equal(b.seen.at(-1)!.headers.cookie, undefined);
    await read(cross);
  });

  it('turns 303 after POST into a GET without body', async () => {
    const r = await nodeFetch(`${a.url}/see-other`, { method: 'POST', body: 'payload', headers: { 'content-type': 'text/plain' } });
    assert.equal(r.headers.get('x-method'), 'GET');
    assert.equal(await read(r), 'other origin /after-post');
    assert.equal(b.seen.at(-1)!.headers['content-length'], undefined);
  });

  it('manual returns the 3xx itself; error rejects; a redirect loop stops', async () => {
    const m = await nodeFetch(`${a.url}/cross`, { redirect: 'manual' });
    assert.equal(m.status, 302);
    assert.equal(m.headers.get('location'), `${b.url}/landed`);
    await assert.rejects(nodeFetch(`${a.url}/cross`, { redirect: 'error' }), TypeError);
    await assert.rejects(nodeFetch(`${a.url}/loop`), (e: unknown) => e instanceof TypeError && /redirect count/.test(String((e.cause as Error).message)));
  });

  it('sends bodies with their length (bytes, strings), and refuses body types it does not support', async () => {
    assert.equal(await read(await nodeFetch(`${a.url}/echo`, { method: 'PUT', body: new Uint8Array([104, 105]) })), 'PUT 2 hi');
    assert.equal(await read(await nodeFetch(`${a.url}/echo`, { method: 'POST', body: 'héllo' })), 'POST 6 héllo');
    assert.equal(await read(await nodeFetch(`${a.url}/echo`, { method: 'POST' })), 'POST 0 ');
    const h = { forEach: (fn: (v: string, k: string) => void) => fn('yes', 'X-Headers-Like'), get: () => null };
    const r = await nodeFetch(`${a.url}/echo`, { method: 'PUT', body: 'x', headers: h as unknown as Headers });
    assert.equal(a.seen.at(-1)!.headers['x-headers-like'], 'yes');
    await read(r);
    await assert.rejects(nodeFetch(`${a.url}/echo`, { method: 'POST', body: new URLSearchParams('a=1') }), TypeError);
  });

  it('HEAD and 204 have no body; a 404 body can be cancelled', async () => {
    const h = await nodeFetch(`${a.url}/hello`, { method: 'HEAD' });
    assert.equal(h.status, 200);
    assert.equal(h.body, null);
    const e = await nodeFetch(`${a.url}/empty`);
    assert.equal(e.status, 204);
    assert.equal(e.body, null);
    const n = await nodeFetch(`${a.url}/nope`);
    assert.equal(n.status, 404);
    await n.body!.cancel();
  });

  it('reuses one keep-alive connection, also after a small body was cancelled', async () => {
    const c = await serve((_req, res) => res.end('small body'));
    try {
      for (let i = 0; i < 5; i++) {
        const r = await nodeFetch(`${c.url}/`);
        if (i % 2 === 0) await r.body!.cancel();
        else await read(r);
        await new Promise((res) => setImmediate(res));
      }
      assert.equal(c.connections(), 1);
    } finally {
      await c.close();
    }
  });

  it('connection refused rejects with TypeError whose cause carries the errno code', async () => {
    const c = await serve(() => undefined);
    const url = c.url;
    await c.close();
    await assert.rejects(nodeFetch(url), (e: unknown) => e instanceof TypeError && (e.cause as NodeJS.ErrnoException).code === 'ECONNREFUSED');
  });

  it('an abort before the headers rejects with the signal reason; during the body it errors the stream', async () => {
    await assert.rejects(nodeFetch(`${a.url}/stall`, { signal: AbortSignal.timeout(1) }).then(async (r) => read(r)), (e: unknown) => (e as Error).name === 'TimeoutError');
    const ctl = new AbortController();
    const r = await nodeFetch(`${a.url}/stall`, { signal: ctl.signal });
    const reader = r.body!.getReader();
    assert.equal(Buffer.from((await reader.read()).value!).toString(), 'partial');
    const reason = new Error('stop');
    ctl.abort(reason);
    await assert.rejects(reader.read(), (e: unknown) => e === reason);
  });

  it('a connection lost mid-body errors the stream with a TypeError', async () => {
    const r = await nodeFetch(`${a.url}/reset`);
    await assert.rejects(read(r), TypeError);
  });

  it('streams a large body in chunks', async () => {
    const r = await nodeFetch(`${a.url}/big`);
    const reader = r.body!.getReader();
    let total = 0;
    let chunks = 0;
    for (;;) {
      const x = await reader.read();
      if (x.done) break;
      total += x.value.byteLength;
      chunks++;
    }
    assert.equal(total, 4 << 20);
    assert.ok(chunks > 1);
  });

  it('defaultFetch goes through a process-wide override when one is installed', async () => {
    const key = Symbol.for('ocitrust.fetch');
    const seen: string[] = [];
    (globalThis as Record<symbol, unknown>)[key] = (u: string | URL, i?: RequestInit) => {
      seen.push(String(u));
      return nodeFetch(u, i);
    };
    try {
      assert.equal(await read(await defaultFetch(`${a.url}/hello`)), 'hello');
      assert.deepEqual(seen, [`${a.url}/hello`]);
    } finally {
      delete (globalThis as Record<symbol, unknown>)[key];
    }
    assert.equal(await read(await defaultFetch(`${a.url}/hello`)), 'hello');
  });

  it('an idle keep-alive connection does not keep a process alive', async () => {
    const src = `import { nodeFetch } from ${JSON.stringify(new URL('../../lib/http/fetch.ts', import.meta.url).href)};
      const r = await nodeFetch(${JSON.stringify(`${a.url}/hello`)}); process.stdout.write(Buffer.from(await r.arrayBuffer()));`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', src], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve, reject) => {
      const t = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error('the child process did not exit on its own within 15 s'));
      }, 15_000);
      child.on('exit', (c) => {
        clearTimeout(t);
        resolve(c);
      });
    });
    assert.equal(code, 0);
    assert.equal(out, 'hello');
  });
});
