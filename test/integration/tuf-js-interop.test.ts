// Interoperability with another TUF client: metadata that ocitrust writes is served over real
// HTTP (127.0.0.1, ephemeral port) in the server's layout, and tuf-js's Updater must accept it
// (including a root rotation) and refuse tampered, rolled-back and expired variants, as our
// own Updater (over HttpMetadataSource) does. tuf-js checks expiry against the real clock, so
// these collections are built at the current time, not at a fixed test time.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { TRUST_SERVER_API_VERSION, TRUST_SERVER_HEADER } from '../../lib/trust-server-id.js';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Updater as TufJsUpdater } from 'tuf-js';
import { fixedClock, systemClock } from '../../lib/clock.js';
import { limits } from '../../lib/config.js';
import { OcitrustError } from '../../lib/errors/index.js';
import { HttpMetadataSource } from '../../lib/tuf/source.js';
import { FileTrustCache } from '../../lib/tuf/store.js';
import { Updater } from '../../lib/tuf/updater.js';
import { buildCollection, type TestCollection } from '../helpers/collection.js';

const COLLECTION = 'reg.example:5000/team/app';
const PREFIX = `/v1/collections/${COLLECTION.split('/').map(encodeURIComponent).join('/')}/`;

/** Collections served by the test server, by URL prefix. */
const served = new Map<string, TestCollection>();
let server: Server;
let base: string;
let tmp: string;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'ocitrust-interop-'));
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    // Plays an ocitrust trust server: its 404 means "absent", not "wrong address".
    res.setHeader(TRUST_SERVER_HEADER, TRUST_SERVER_API_VERSION);
    if (url.pathname === '/hang/v1/collections/x/timestamp.json') return; // never answers
    if (url.pathname === '/boom/v1/collections/x/timestamp.json') {
      res.writeHead(500).end('internal');
      return;
    }
    if (url.pathname === '/moved/v1/collections/x/timestamp.json') {
      res.writeHead(302, { location: '/boom/v1/collections/x/timestamp.json' }).end();
      return;
    }
    if (url.pathname === '/big/v1/collections/x/timestamp.json') {
      res.writeHead(200, { 'content-type': 'application/json' }); // chunked, no content-length
      for (let i = 0; i < 64; i++) res.write('x'.repeat(1024));
      res.end();
      return;
    }
    for (const [prefix, c] of served) {
      if (!url.pathname.startsWith(prefix)) continue;
      const name = decodeURIComponent(url.pathname.slice(prefix.length));
      const body = c.files.get(name);
      if (body) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }).end(Buffer.from(body));
        return;
      }
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  await rm(tmp, { recursive: true, force: true });
});

let n = 0;
/** Serves a fresh collection under its own prefix; returns it and its metadata base URL. */
async function serve(opts: { daysAgo?: number; keyType?: 'ed25519' | 'ecdsa-p256' } = {}): Promise<{ c: TestCollection; url: string; prefix: string }> {
  const now = new Date(Math.floor(Date.now() / 1000) * 1000 - (opts.daysAgo ?? 0) * 86400_000);
  const c = await buildCollection({ collection: COLLECTION, clock: fixedClock(now), signers: [{ name: 'alice', paths: [`${COLLECTION}*`] }], ...(opts.keyType ? { keyType: opts.keyType } : {}) });
  const prefix = `/s${++n}${PREFIX}`;
  served.set(prefix, c);
  return { c, url: `${base}${prefix}`, prefix: `/s${n}` };
}

/** A tuf-js Updater with a fresh metadata directory holding root version 1. */
async function tufjs(c: TestCollection, url: string, dir?: string): Promise<{ u: TufJsUpdater; dir: string }> {
  const d = dir ?? (await mkdtemp(join(tmp, 'tufjs-')));
  if (!dir) await writeFile(join(d, 'root.json'), c.rootBytes(1));
  return { u: new TufJsUpdater({ metadataDir: d, metadataBaseUrl: url, config: { fetchRetry: 0, fetchTimeout: 5000 } }), dir: d };
}

function ours(c: TestCollection, prefix: string, cacheDir: string): Updater {
  return new Updater({
    collection: COLLECTION,
    trustedRoot: c.rootBytes(1),
    source: new HttpMetadataSource(`${base}${prefix}`, COLLECTION, { limits: limits({ requestTimeoutMs: 5000 }) }),
    cache: new FileTrustCache(cacheDir),
    clock: systemClock,
  });
}

const isCode = (code: string) => (e: unknown) => {
  assert.ok(e instanceof OcitrustError, `expected OcitrustError, got ${String(e)}`);
  assert.equal(e.code, code, e.message);
  return true;
};

describe('tuf-js interop over HTTP', () => {
  it('tuf-js refreshes metadata ocitrust wrote, through a root rotation and a new signer', async () => {
    const { c, url, prefix } = await serve();
    const { u, dir } = await tufjs(c, url);
    await u.refresh();
    assert.deepEqual(new Uint8Array(await readFile(join(dir, 'targets.json'))), c.file('1.targets.json'));

    await c.rotateRoot({ newKeys: 2, threshold: 2 });
    await c.rotateRoot({ role: 'targets' });
    await c.addSigner({ name: 'bob', keys: 2, threshold: 2 });
    const again = await tufjs(c, url, dir);
    await again.u.refresh();
    assert.deepEqual(new Uint8Array(await readFile(join(dir, 'root.json'))), c.rootBytes(3));
    assert.deepEqual(new Uint8Array(await readFile(join(dir, 'targets.json'))), c.file('2.targets.json'));

    const r = await ours(c, prefix, join(tmp, 'ours-ok')).refresh();
    assert.deepEqual(r.versions, { root: 3, timestamp: 2, snapshot: 2, targets: 2 });
    assert.deepEqual(r.trusted.roles.map((x) => x.name), ['alice', 'bob']);
  });

  it('tuf-js accepts metadata signed with ECDSA P-256 keys (ecdsa-sha2-nistp256, DER) and refuses a tampered copy', async () => {
    const { c, url, prefix } = await serve({ keyType: 'ecdsa-p256' });
    const root = c.json('1.root.json');
    for (const k of Object.values(root.signed.keys) as { keytype: string; scheme: string }[]) assert.deepEqual([k.keytype, k.scheme], ['ecdsa', 'ecdsa-sha2-nistp256']);
    const { u, dir } = await tufjs(c, url);
    await u.refresh();
    assert.deepEqual(new Uint8Array(await readFile(join(dir, 'targets.json'))), c.file('1.targets.json'));
    await c.rotateRoot({ newKeys: 2, threshold: 2 });
    await c.addSigner({ name: 'bob' });
    const again = await tufjs(c, url, dir);
    await again.u.refresh();
    assert.deepEqual(new Uint8Array(await readFile(join(dir, 'root.json'))), c.rootBytes(2));
    const r = await ours(c, prefix, join(tmp, 'ours-ecdsa')).refresh();
    assert.deepEqual(r.versions.root, 2);

    const t = await serve({ keyType: 'ecdsa-p256' });
    const doc = t.c.json('1.targets.json');
    doc.signed.delegations.roles[0].paths = ['*'];
    t.c.put('1.targets.json', JSON.stringify(doc));
    await t.c.publishSnapshot();
    await assert.rejects((await tufjs(t.c, t.url)).u.refresh(), /targets was signed by 0\/1 keys/);
    await assert.rejects(ours(t.c, t.prefix, join(tmp, 'ours-ecdsa-tamper')).refresh(), isCode('TUF_THRESHOLD_NOT_MET'));
  });

  it('targets tampered after signing (snapshot re-made to match) fail in both clients', async () => {
    const { c, url, prefix } = await serve();
    const doc = c.json('1.targets.json');
    doc.signed.delegations.roles[0].paths = ['*'];
    c.put('1.targets.json', JSON.stringify(doc));
    await c.publishSnapshot(); // snapshot/timestamp now name the tampered bytes: only the signature can catch it
    const { u } = await tufjs(c, url);
    await assert.rejects(u.refresh(), /targets was signed by 0\/1 keys/);
    await assert.rejects(ours(c, prefix, join(tmp, 'ours-tamper')).refresh(), isCode('TUF_THRESHOLD_NOT_MET'));
  });

  it('targets bytes that do not match the snapshot hash fail in both clients', async () => {
    const { c, url, prefix } = await serve();
    const good = Buffer.from(c.file('1.targets.json')).toString();
    c.put('1.targets.json', good.replace(/"sig":"(.)/, (_m, ch: string) => `"sig":"${ch === 'a' ? 'b' : 'a'}`));
    const { u } = await tufjs(c, url);
    await assert.rejects(u.refresh(), /Expected hash/);
    await assert.rejects(ours(c, prefix, join(tmp, 'ours-hash')).refresh(), isCode('TUF_HASH_MISMATCH'));
  });

  it('a rolled-back timestamp fails in both clients after they trusted a newer one', async () => {
    const { c, url, prefix } = await serve();
    const old = c.file('timestamp.json');
    await c.publishTargets();
    const { u, dir } = await tufjs(c, url);
    await u.refresh();
    const cacheDir = join(tmp, 'ours-rollback');
    await ours(c, prefix, cacheDir).refresh();
    c.put('timestamp.json', old);
    const again = await tufjs(c, url, dir);
    await assert.rejects(again.u.refresh(), /is less than current version/);
    await assert.rejects(ours(c, prefix, cacheDir).refresh(), isCode('TUF_ROLLBACK'));
  });

  it('expired metadata fails in both clients (freeze)', async () => {
    const { c, url, prefix } = await serve({ daysAgo: 3 }); // timestamp lived one day
    const { u } = await tufjs(c, url);
    await assert.rejects(u.refresh(), /expired/);
    await assert.rejects(ours(c, prefix, join(tmp, 'ours-expired')).refresh(), isCode('TUF_EXPIRED'));
  });

  it('a root rotation without the old root threshold fails in both clients', async () => {
    const { c, url, prefix } = await serve();
    const { freshSigners } = await import('../helpers/collection.js');
    const [k] = freshSigners(1);
    await c.rotateRoot({ newKeys: [k!], signWith: [k!] });
    const { u } = await tufjs(c, url);
    await assert.rejects(u.refresh(), /root was signed by 0\/1 keys/);
    await assert.rejects(ours(c, prefix, join(tmp, 'ours-rot')).refresh(), isCode('TUF_ROOT_ROTATION_INVALID'));
  });
});

describe('HttpMetadataSource against a real server', () => {
  it('404 is absent (null), the body is returned otherwise', async () => {
    const { c, prefix } = await serve();
    const src = new HttpMetadataSource(`${base}${prefix}`, COLLECTION);
    assert.equal(await src.fetch({ role: 'root', version: 9 }, 1 << 20), null);
    assert.deepEqual(await src.fetch({ role: 'timestamp' }, 1 << 20), c.file('timestamp.json'));
  });

  it('HTTP 500 → TUF_SOURCE_HTTP_ERROR (exit 3); redirects are not followed', async () => {
    await assert.rejects(new HttpMetadataSource(`${base}/boom`, 'x').fetch({ role: 'timestamp' }, 1000), isCode('TUF_SOURCE_HTTP_ERROR'));
    await assert.rejects(new HttpMetadataSource(`${base}/moved`, 'x').fetch({ role: 'timestamp' }, 1000), (e: unknown) => isCode('TUF_SOURCE_HTTP_ERROR')(e) && /HTTP 302/.test((e as Error).message));
  });

  it('a body over maxBytes → TUF_SOURCE_BAD_RESPONSE (exit 3), whether or not content-length says so', async () => {
    await assert.rejects(new HttpMetadataSource(`${base}/big`, 'x').fetch({ role: 'timestamp' }, 4096), isCode('TUF_SOURCE_BAD_RESPONSE'));
    const { prefix } = await serve();
    await assert.rejects(new HttpMetadataSource(`${base}${prefix}`, COLLECTION).fetch({ role: 'timestamp' }, 10), isCode('TUF_SOURCE_BAD_RESPONSE'));
  });

  it('no answer within the request timeout → TUF_SOURCE_TIMEOUT', async () => {
    const src = new HttpMetadataSource(`${base}/hang`, 'x', { limits: limits({ requestTimeoutMs: 300 }) });
    await assert.rejects(src.fetch({ role: 'timestamp' }, 1000), isCode('TUF_SOURCE_TIMEOUT'));
  });

  it('connection refused → TUF_SOURCE_UNREACHABLE, and the Updater then falls back to a fresh cache', async () => {
    const { c, prefix } = await serve();
    const cacheDir = join(tmp, 'ours-offline');
    await ours(c, prefix, cacheDir).refresh();
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const src = new HttpMetadataSource(`http://127.0.0.1:${port}`, COLLECTION);
    await assert.rejects(src.fetch({ role: 'timestamp' }, 1000), isCode('TUF_SOURCE_UNREACHABLE'));
    // The same trust server (its state is keyed by server and collection), now unreachable at
    // the address it is reached by; a fallback to the cache is asked for (maxCacheAgeSeconds).
    const sameServer = new HttpMetadataSource(`${base}${prefix}`, COLLECTION).description;
    const r = await new Updater({ collection: COLLECTION, trustedRoot: c.rootBytes(1), source: src, server: sameServer, cache: new FileTrustCache(cacheDir), maxCacheAgeSeconds: 3600 }).refresh();
    assert.equal(r.fromCache, true);
    assert.equal(r.sourceError?.code, 'TUF_SOURCE_UNREACHABLE');
  });
});
