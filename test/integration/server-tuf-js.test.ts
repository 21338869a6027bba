// tuf-js (a TUF client nobody here wrote) refreshes collections from a running trust server over
// real HTTP on 127.0.0.1, and fails when a proxy in between tampers with, rolls back or serves
// expired metadata.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Updater } from 'tuf-js';
import { startServer, type RunningServer } from '../../server/main.js';
import { Owner, TEST_SCRYPT, TEST_SECRET, strangers, tokenFor, type ServerKeysDoc } from '../helpers/trust-server.js';

type Rewrite = (path: string, body: Buffer) => Buffer;

/** A proxy on 127.0.0.1:0 that forwards GETs to the server and lets the test rewrite responses. */
async function tamperingProxy(target: string): Promise<{ url: string; rewrite: Rewrite | null; close(): Promise<void>; server: Server }> {
  const state = {
    rewrite: null as Rewrite | null,
  };
  const server = createServer((req, res) => {
    void (async () => {
      const upstream = await fetch(target + req.url!, { headers: { 'user-agent': 'proxy' } });
      let body: Buffer = Buffer.from(await upstream.arrayBuffer());
      if (upstream.status === 200 && state.rewrite) body = state.rewrite(req.url!, body);
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json', 'content-length': body.length });
      res.end(body);
    })().catch((e: unknown) => {
      res.writeHead(502);
      res.end(String(e));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address() as { port: number };
  return {
    server,
    url: `http://127.0.0.1:${addr.port}`,
    get rewrite() {
      return state.rewrite;
    },
    set rewrite(f: Rewrite | null) {
      state.rewrite = f;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('trust server with tuf-js as the client', () => {
  let dataDir: string;
  let server: RunningServer;
  let proxy: Awaited<ReturnType<typeof tamperingProxy>>;
  let admin: string;
  const dirs: string[] = [];

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'ocitrust-tufjs-'));
    server = await startServer({ dataDir, port: 0, secret: TEST_SECRET, scrypt: TEST_SCRYPT, logger: false, handleSignals: false, registry: false, cacheTtlMs: 0 });
    admin = await tokenFor(server.app, 'admin', ['**']);
    proxy = await tamperingProxy(server.url);
  });
  after(async () => {
    await proxy.close();
    await server.close();
    for (const d of [dataDir, ...dirs]) rmSync(d, { recursive: true, force: true });
  });

  async function api(method: string, path: string, body?: unknown): Promise<any> {
    const r = await fetch(server.url + path, {
      method,
      headers: { authorization: `Bearer ${admin}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const json = await r.json();
    assert.ok(r.ok, `${method} ${path}: ${r.status} ${JSON.stringify(json)}`);
    return json;
  }

  /** A collection with root v1 / targets v1 published over HTTP. */
  async function collection(name: string, opts?: { targetsExpiresIn?: number }): Promise<Owner> {
    const keys = (await api('POST', '/v1/collections', { name })) as ServerKeysDoc;
    const owner = new Owner(name, keys);
    await api('POST', `/v1/collections/${name}/metadata`, await owner.initial(opts));
    return owner;
  }

  /** A tuf-js updater trusting root v1 of `name`, fetching through the proxy. */
  function updater(name: string, owner: Owner, rootBytes?: Uint8Array): { u: Updater; dir: string } {
    const dir = mkdtempSync(join(tmpdir(), 'ocitrust-tufjs-client-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'root.json'), rootBytes ?? owner.root.toBytes());
    const u = new Updater({ metadataBaseUrl: `${proxy.url}/v1/collections/${name}`, metadataDir: dir, targetDir: dir, config: { fetchRetries: 0 } });
    return { u, dir };
  }

  const version = (dir: string, role: string): number => JSON.parse(readFileSync(join(dir, `${role}.json`), 'utf8')).signed.version;

  it('refreshes a published collection, then follows new targets and a root rotation', async () => {
    const name = 'reg.example.com/tufjs/app';
    const owner = await collection(name);
    const root1 = owner.root.toBytes();
    const { u, dir } = updater(name, owner);
    await u.refresh();
    assert.equal(version(dir, 'timestamp'), 1);
    assert.equal(version(dir, 'snapshot'), 1);
    assert.equal(version(dir, 'targets'), 1);

    const [alice] = strangers(1);
    await api('POST', `/v1/collections/${name}/metadata`, { targets: await owner.nextTargets((t) => t.withDelegation({ name: 'alice', keys: [alice!.publicKey], paths: [`${name}*`] })) });
    await api('POST', `/v1/collections/${name}/metadata`, { root: await owner.rotateRoot() });
    const again = updater(name, owner, root1);
    await again.u.refresh();
    assert.equal(version(again.dir, 'root'), 2, 'walked 1.root.json → 2.root.json');
    assert.equal(version(again.dir, 'targets'), 2);
    assert.equal(version(again.dir, 'snapshot'), 3);
    const targets = JSON.parse(readFileSync(join(again.dir, 'targets.json'), 'utf8'));
    assert.deepEqual(targets.signed.delegations.roles.map((r: { name: string }) => r.name), ['alice']);
  });

  it('fails on a tampered timestamp signature', async () => {
    const name = 'reg.example.com/tufjs/tampered-ts';
    const owner = await collection(name);
    proxy.rewrite = (path, body) => {
      if (!path.endsWith('/timestamp.json')) return body;
      const doc = JSON.parse(body.toString());
      const sig: string = doc.signatures[0].sig;
      doc.signatures[0].sig = (sig[0] === 'a' ? 'b' : 'a') + sig.slice(1);
      return Buffer.from(JSON.stringify(doc));
    };
    try {
      const { u } = updater(name, owner);
      await assert.rejects(u.refresh(), (e: Error) => e.constructor.name === 'UnsignedMetadataError');
    } finally {
      proxy.rewrite = null;
    }
  });

  it('fails on targets bytes that differ from what the snapshot names', async () => {
    const name = 'reg.example.com/tufjs/tampered-targets';
    const owner = await collection(name);
    proxy.rewrite = (path, body) => (path.endsWith('.targets.json') ? Buffer.from(body.toString().replace('"targets":{}', '"targets":{"x":{}}')) : body);
    try {
      const { u } = updater(name, owner);
      await assert.rejects(u.refresh(), (e: Error) => /LengthOrHashMismatch|length|hash/i.test(`${e.constructor.name} ${e.message}`));
    } finally {
      proxy.rewrite = null;
    }
  });

  it('fails on a rolled-back timestamp after having seen a newer one', async () => {
    const name = 'reg.example.com/tufjs/rollback';
    const owner = await collection(name);
    const old = Buffer.from(await (await fetch(`${server.url}/v1/collections/${name}/timestamp.json`)).arrayBuffer());
    await api('POST', `/v1/collections/${name}/metadata`, { targets: await owner.nextTargets() });
    const { u, dir } = updater(name, owner);
    await u.refresh();
    assert.equal(version(dir, 'timestamp'), 2);
    proxy.rewrite = (path, body) => (path.endsWith('/timestamp.json') ? old : body);
    try {
      const again = new Updater({ metadataBaseUrl: `${proxy.url}/v1/collections/${name}`, metadataDir: dir, targetDir: dir, config: { fetchRetries: 0 } });
      await assert.rejects(again.refresh(), (e: Error) => e.constructor.name === 'BadVersionError');
    } finally {
      proxy.rewrite = null;
    }
  });

  it('fails once published targets have expired', async () => {
    const name = 'reg.example.com/tufjs/expired';
    const owner = await collection(name, { targetsExpiresIn: 2 });
    const expires = owner.targets.signed.expiresAt.getTime();
    await new Promise((r) => setTimeout(r, Math.max(0, expires - Date.now()) + 100));
    // tuf-js takes its reference time when the updater is made.
    const { u } = updater(name, owner);
    // tuf-js wraps it: "Unable to load targets error Error: targets.json is expired".
    await assert.rejects(u.refresh(), (e: Error) => /targets\.json is expired/.test(e.message));
  });
});
