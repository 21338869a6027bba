// Attack (issue 12 item 13): malformed requests got answers without a catalogue code: broken
// percent-encoding returned fastify's own `FST_ERR_BAD_URL` body (under /v2/ too, where
// registry clients expect the distribution error shape), and invalid raw bytes a bare 400
// "Client Error". A fuzz-ish table of malformed requests is written byte for byte to a real
// listening server, against the trust API (/v1/), the embedded registry (/v2/), the admission
// webhooks and /metrics: every non-2xx answer must carry a code in the right shape
// (`{"code","message"}` with a catalogue code; `{"errors":[{"code","message"}]}` with a
// distribution-spec code under /v2/), and nothing may be a 500.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type AddressInfo, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { CATALOGUE } from '../../lib/errors/index.js';
import { parsePolicy } from '../../lib/policy/index.js';
import { testApp, tokenFor } from '../helpers/trust-server.js';

/** The error codes of the OCI distribution spec (code-1 … code-14, plus UNKNOWN). */
const DIST_CODES = new Set(['BLOB_UNKNOWN', 'BLOB_UPLOAD_INVALID', 'BLOB_UPLOAD_UNKNOWN', 'DIGEST_INVALID', 'MANIFEST_BLOB_UNKNOWN', 'MANIFEST_INVALID', 'MANIFEST_UNKNOWN', 'NAME_INVALID', 'NAME_UNKNOWN', 'SIZE_INVALID', 'UNAUTHORIZED', 'DENIED', 'UNSUPPORTED', 'TOOMANYREQUESTS', 'UNKNOWN']);

type Area = 'v1' | 'v2' | 'admission' | 'metrics' | 'none';

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Writes raw bytes on a fresh connection and reads the answer until the server closes it. */
function raw(port: number, bytes: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = connect(port, '127.0.0.1', () => s.write(bytes));
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', () => undefined);
    s.on('close', () => {
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      if (end < 0) return reject(new Error(`no HTTP answer: ${JSON.stringify(all.toString('latin1').slice(0, 200))}`));
      const [statusLine, ...lines] = all.subarray(0, end).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) headers[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
      let body: Buffer = all.subarray(end + 4);
      if (headers['transfer-encoding'] === 'chunked') body = dechunk(body);
      resolve({ status: Number(statusLine!.split(' ')[1]), headers, body });
    });
    // Requests the server never answers would hang the test: fail them instead.
    s.setTimeout(10_000, () => {
      s.destroy();
      reject(new Error('no answer within 10 s'));
    });
  });
}

function dechunk(b: Buffer): Buffer {
  const out: Buffer[] = [];
  let i = 0;
  for (;;) {
    const nl = b.indexOf('\r\n', i);
    if (nl < 0) break;
    const n = parseInt(b.subarray(i, nl).toString('latin1'), 16);
    if (!n) break;
    out.push(b.subarray(nl + 2, nl + 2 + n));
    i = nl + 2 + n + 2;
  }
  return Buffer.concat(out);
}

/** A request as bytes: request line, headers (Host and Connection: close added), body. */
function request(line: string | Buffer, headers: (string | Buffer)[] = [], body: string | Buffer = ''): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body, 'latin1') : body;
  const hs = [Buffer.from('Host: 127.0.0.1\r\nConnection: close\r\n'), ...headers.map((h) => Buffer.concat([typeof h === 'string' ? Buffer.from(h, 'latin1') : h, Buffer.from('\r\n')]))];
  return Buffer.concat([typeof line === 'string' ? Buffer.from(line, 'latin1') : line, Buffer.from('\r\n'), ...hs, Buffer.from('\r\n'), b]);
}

const json = (body: string | Buffer): (string | Buffer)[] => ['Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`];

interface Case {
  readonly name: string;
  readonly area: Area;
  readonly bytes: Buffer;
}

/** The malformed requests, per area. */
function cases(token: string): Case[] {
  const out: Case[] = [];
  const paths: Record<Exclude<Area, 'none'>, { get: string; post: string }> = {
    v1: { get: '/v1/collections/reg.example.com/team/app/root.json', post: '/v1/collections' },
    v2: { get: '/v2/team/app/tags/list', post: '/v2/team/app/blobs/uploads/' },
    admission: { get: '/admission/validate', post: '/admission/validate' },
    metrics: { get: '/metrics', post: '/metrics' },
  };
  for (const [area, p] of Object.entries(paths) as [Exclude<Area, 'none'>, { get: string; post: string }][]) {
    const add = (name: string, bytes: Buffer): void => void out.push({ name: `${area}: ${name}`, area, bytes });
    const cut = p.get.lastIndexOf('/');
    const dir = p.get.slice(0, cut + 1);
    const auth = `Authorization: Bearer ${token}`;
    // Percent-encoding and UTF-8 in the path.
    add('bad percent-encoding in the path', request(`GET ${dir}%zz HTTP/1.1`));
    add('truncated percent-encoding in the path', request(`GET ${p.get}% HTTP/1.1`));
    add('truncated UTF-8 sequence in the path', request(`GET ${dir}%E0%A4%A HTTP/1.1`));
    add('percent-encoded invalid UTF-8 in the path', request(`GET ${dir}%ff%fe HTTP/1.1`));
    add('percent-encoded NUL in the path', request(`GET ${dir}a%00b HTTP/1.1`));
    add('raw invalid UTF-8 bytes in the path', request(Buffer.concat([Buffer.from(`GET ${dir}`), Buffer.from([0xff, 0xfe, 0x80]), Buffer.from(' HTTP/1.1')])));
    add('raw control character in the path', request(`GET ${dir}a\x01b HTTP/1.1`));
    add('very long path', request(`GET ${dir}${'a'.repeat(6000)} HTTP/1.1`));
    // Percent-encoding in the query.
    add('bad percent-encoding in the query', request(`GET ${p.get}?n=%zz&limit=%zz&x=% HTTP/1.1`, [auth]));
    add('invalid UTF-8 in the query', request(`GET ${p.get}?n=%ff&limit=%c3%28 HTTP/1.1`, [auth]));
    add('raw invalid bytes in the query', request(Buffer.concat([Buffer.from(`GET ${p.get}?n=`), Buffer.from([0xff, 0x00]), Buffer.from(' HTTP/1.1')])));
    // Headers.
    add('control character in a header value', request(`GET ${p.get} HTTP/1.1`, ['X-Junk: a\x01b']));
    add('header line without a colon', request(`GET ${p.get} HTTP/1.1`, ['NoColonHere']));
    add('space in a header name', request(`GET ${p.get} HTTP/1.1`, ['Bad Header: x']));
    add('header section of 80 KiB', request(`GET ${p.get} HTTP/1.1`, [`X-Big: ${'b'.repeat(80 * 1024)}`]));
    add('non-numeric Content-Length', request(`POST ${p.post} HTTP/1.1`, ['Content-Type: application/json', 'Content-Length: abc'], '{}'));
    add('Content-Length and Transfer-Encoding together', request(`POST ${p.post} HTTP/1.1`, ['Content-Type: application/json', 'Content-Length: 2', 'Transfer-Encoding: chunked'], '{}'));
    add('garbage chunk size', request(`POST ${p.post} HTTP/1.1`, [auth, 'Content-Type: application/json', 'Transfer-Encoding: chunked'], 'zz\r\n{}\r\n0\r\n\r\n'));
    add('garbage Authorization', request(`GET ${p.get} HTTP/1.1`, ['Authorization: Bearer \x7f\x7f']));
    add('unknown token', request(`POST ${p.post} HTTP/1.1`, ['Authorization: Bearer ocit_' + 'A'.repeat(43), ...json('{}')], '{}'));
    add('unknown method', request(`BREW ${p.get} HTTP/1.1`));
    add('bad HTTP version', request(`GET ${p.get} HTTP/9.x`));
    // Bodies.
    add('bad content type', request(`POST ${p.post} HTTP/1.1`, [auth, 'Content-Type: text/plain', 'Content-Length: 2'], 'hi'));
    add('malformed content type', request(`POST ${p.post} HTTP/1.1`, [auth, 'Content-Type: ;;;/', 'Content-Length: 2'], '{}'));
    add('invalid JSON', request(`POST ${p.post} HTTP/1.1`, [auth, ...json('{"name": ')], '{"name": '));
    const badUtf8 = Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xff, 0xc3]), Buffer.from('"}')]);
    add('invalid UTF-8 inside JSON', request(`POST ${p.post} HTTP/1.1`, [auth, ...json(badUtf8)], badUtf8));
    add('JSON with a duplicate key', request(`POST ${p.post} HTTP/1.1`, [auth, ...json('{"name":"a","name":"b"}')], '{"name":"a","name":"b"}'));
    add('declared body of 100 MB', request(`POST ${p.post} HTTP/1.1`, [auth, 'Content-Type: application/json', 'Content-Length: 100000000'], '{}'));
    add('body of 9 MiB', request(`POST ${p.post} HTTP/1.1`, [auth, ...json(Buffer.alloc(9 * 1024 * 1024, 0x20))], Buffer.alloc(9 * 1024 * 1024, 0x20)));
  }
  out.push({ name: 'not HTTP at all', area: 'none', bytes: Buffer.from('GARBAGE\r\n\r\n') });
  out.push({ name: 'binary junk', area: 'none', bytes: Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x0d, 0x0a, 0x0d, 0x0a]) });
  return out;
}

function check(c: Case, a: Answer): void {
  const what = `${c.name}: ${a.status} ${a.body.toString('utf8').slice(0, 300)}`;
  assert.ok(a.status < 500, `${what}: a client's malformed request is never a 5xx`);
  if (a.status < 300) return;
  assert.match(a.headers['content-type'] ?? '', /^application\/json/, what);
  const body = JSON.parse(a.body.toString('utf8')) as Record<string, unknown>;
  if (c.area === 'v2') {
    const errors = body.errors as { code?: unknown; message?: unknown }[] | undefined;
    assert.ok(Array.isArray(errors) && errors.length > 0, `${what}: expected the distribution error shape {"errors":[…]}`);
    assert.ok(DIST_CODES.has(String(errors[0]!.code)), `${what}: not a distribution-spec code`);
    assert.equal(typeof errors[0]!.message, 'string', what);
  } else {
    assert.ok(typeof body.code === 'string' && body.code in CATALOGUE, `${what}: no catalogue code`);
    assert.equal(typeof body.message, 'string', what);
    assert.deepEqual(Object.keys(body).sort(), ['code', 'message'], `${what}: fastify's own fields leaked`);
  }
}

describe('attack: error bodies without a catalogue code', () => {
  let app: FastifyInstance;
  let close: () => Promise<void>;
  let port: number;
  let token: string;

  before(async () => {
    const t = await testApp({ registry: true, admission: { policy: parsePolicy('{"version": 1, "rules": []}') } });
    app = t.app;
    close = t.close;
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as AddressInfo).port;
    token = await tokenFor(app, 'admin', ['**'], 'fuzzer');
  });
  after(async () => close());

  it('answers every malformed request with a coded body in the shape of its area, never a 500', async () => {
    const failures: string[] = [];
    const all = cases(token);
    for (const c of all) {
      try {
        check(c, await raw(port, c.bytes));
      } catch (e) {
        failures.push((e as Error).message.split('\n')[0]!);
      }
    }
    assert.deepEqual(failures, [], `${failures.length} of ${all.length} malformed requests answered badly`);
    // The server still serves after all of it.
    assert.equal((await raw(port, request('GET /healthz HTTP/1.1'))).status, 200);
  });
});

describe('attack: requests that arrive while the server shuts down', () => {
  it('get SERVER_NOT_READY in a coded body, not fastify\'s own 503 body', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let arrived!: () => void;
    const inFlight = new Promise<void>((r) => (arrived = r));
    let began!: () => void;
    const closing = new Promise<void>((r) => (began = r));
    const t = await testApp({
      registry: true,
      plugins: [
        async (app) => {
          app.addHook('preClose', async () => began());
          app.get('/test/slow', { config: { open: true } }, async () => {
            arrived();
            await held;
            return { ok: true };
          });
        },
      ],
    });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const port = (t.app.server.address() as AddressInfo).port;
    // A second connection starts its request (headers not finished) while the first is in
    // flight, and finishes it once close() has begun: it reaches the routes while closing.
    const chunks: Buffer[] = [];
    const slow = raw(port, request('GET /test/slow HTTP/1.1')).then((a) => a.status);
    await inFlight;
    let s!: Socket;
    const done = new Promise<void>((resolve) => {
      s = connect(port, '127.0.0.1');
      s.on('data', (d: Buffer) => chunks.push(d));
      s.on('error', () => undefined);
      s.on('close', () => resolve());
    });
    await new Promise<void>((r) => s.once('connect', () => s.write('GET /v1/tokens HTTP/1.1\r\nHost: x\r\n', () => r())));
    const closed = t.close();
    await closing;
    s.write('\r\n');
    await new Promise<void>((r) => s.once('data', () => r()));
    release();
    assert.equal(await slow, 200, 'the request in flight is finished');
    s.end();
    await done;
    await closed;
    const text = Buffer.concat(chunks).toString('utf8');
    const answers = text.split(/(?=HTTP\/1\.1 )/).filter(Boolean);
    assert.equal(answers.length, 1, text);
    for (const a of answers) {
      assert.match(a, /^HTTP\/1\.1 503/, a);
      const body = JSON.parse(a.slice(a.indexOf('\r\n\r\n') + 4)) as { code?: string; errors?: { code: string }[] };
      assert.ok(body.code === 'SERVER_NOT_READY' || body.errors?.[0]?.code === 'UNKNOWN', a);
    }
  });
});
