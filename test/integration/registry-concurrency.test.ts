// The embedded registry under concurrency and failure, over real HTTP, on SQLite and PostgreSQL:
// 20 parallel pushes of one blob (monolithic and chunked), of one tag, of referrers to one
// subject; an upload abandoned mid-PATCH; a registry process SIGKILLed mid-PATCH and restarted;
// expiry of abandoned uploads.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { startEmbeddedRegistry, type EmbeddedRegistry } from '../helpers/embedded-registry.js';
import { freshPostgresDatabase, postgresSkipReason } from '../helpers/postgres.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const sha = (b: Uint8Array | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const N = 20;

async function monolithic(url: string, name: string, bytes: Uint8Array): Promise<number> {
  const res = await fetch(`${url}/v2/${name}/blobs/uploads/?digest=${sha(bytes)}`, { method: 'POST', body: bytes, headers: { 'content-type': 'application/octet-stream' } });
  await res.arrayBuffer();
  return res.status;
}

async function chunked(url: string, name: string, bytes: Uint8Array, chunk: number): Promise<number> {
  const start = await fetch(`${url}/v2/${name}/blobs/uploads/`, { method: 'POST' });
  let loc = start.headers.get('location')!;
  for (let off = 0; off < bytes.length; off += chunk) {
    const part = bytes.subarray(off, Math.min(bytes.length, off + chunk));
    const r = await fetch(`${url}${loc}`, {
      method: 'PATCH',
      body: part,
      headers: { 'content-type': 'application/octet-stream', 'content-range': `${off}-${off + part.length - 1}` },
    });
    assert.equal(r.status, 202);
    loc = r.headers.get('location')!;
  }
  const done = await fetch(`${url}${loc}?digest=${sha(bytes)}`, { method: 'PUT' });
  return done.status;
}

async function putManifest(url: string, name: string, ref: string, doc: unknown): Promise<Response> {
  return fetch(`${url}/v2/${name}/manifests/${ref}`, { method: 'PUT', body: JSON.stringify(doc), headers: { 'content-type': OCI_MANIFEST } });
}

async function image(url: string, name: string, salt: string): Promise<Record<string, unknown>> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', salt }));
  const layer = randomBytes(64);
  assert.equal(await monolithic(url, name, config), 201);
  assert.equal(await monolithic(url, name, layer), 201);
  return {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha(layer), size: layer.length }],
  };
}

/** Starts a PATCH of `total` bytes, sends `sent` of them, and returns once the server has them in flight. */
function partialPatch(host: string, path: string, total: number, sent: number): { abort(): void; closed: Promise<void> } {
  const [hostname, port] = host.split(':');
  const req = request({ hostname, port: Number(port), path, method: 'PATCH', headers: { 'content-type': 'application/octet-stream', 'content-length': String(total), 'content-range': `0-${total - 1}` } });
  req.on('error', () => undefined);
  req.write(randomBytes(sent));
  return {
    abort: () => req.destroy(),
    closed: new Promise<void>((resolve) => req.on('close', () => resolve())),
  };
}

function suite(engine: 'sqlite' | 'postgres'): void {
  describe(`embedded registry concurrency and crash safety (${engine})`, () => {
    let reg: EmbeddedRegistry;
    let skip: string | undefined;

    before(async () => {
      skip = engine === 'postgres' ? postgresSkipReason() : undefined;
      if (skip) return;
      reg = await startEmbeddedRegistry({ db: engine });
    });
    after(async () => {
      await reg?.close();
    });

    it(`${N} parallel monolithic and ${N} parallel chunked pushes of the same blob all succeed and store it once, intact`, async (t) => {
      if (skip) return t.skip(skip);
      const bytes = randomBytes(256 * 1024);
      const statuses = await Promise.all([
        ...Array.from({ length: N }, () => monolithic(reg.url, 'same/blob', bytes)),
        ...Array.from({ length: N }, () => chunked(reg.url, 'same/blob', bytes, 64 * 1024)),
      ]);
      assert.deepEqual(statuses, Array(2 * N).fill(201));
      const got = Buffer.from(await (await fetch(`${reg.url}/v2/same/blob/blobs/${sha(bytes)}`)).arrayBuffer());
      assert.ok(got.equals(bytes));
      const hex = sha(bytes).slice(7);
      assert.ok(existsSync(join(reg.dataDir, 'blobs', 'sha256', hex.slice(0, 2), hex)));
      // No scratch file survives a finished upload.
      assert.deepEqual(readdirSync(join(reg.dataDir, 'uploads')), []);
    });

    it(`${N} parallel pushes of different manifests to one tag all succeed; the tag ends on one of them`, async (t) => {
      if (skip) return t.skip(skip);
      const docs = await Promise.all(Array.from({ length: N }, (_, i) => image(reg.url, 'same/tag', `m${i}`)));
      const results = await Promise.all(docs.map((d) => putManifest(reg.url, 'same/tag', 'latest', d)));
      assert.deepEqual(results.map((r) => r.status), Array(N).fill(201));
      const digests = new Set(docs.map((d) => sha(JSON.stringify(d))));
      const cur = await fetch(`${reg.url}/v2/same/tag/manifests/latest`);
      const body = Buffer.from(await cur.arrayBuffer());
      assert.ok(digests.has(cur.headers.get('docker-content-digest')!));
      assert.equal(sha(body), cur.headers.get('docker-content-digest'));
      // Every pushed manifest is stored by digest, and the tag is listed once.
      for (const d of digests) assert.equal((await fetch(`${reg.url}/v2/same/tag/manifests/${d}`, { method: 'HEAD' })).status, 200);
      assert.deepEqual(((await (await fetch(`${reg.url}/v2/same/tag/tags/list`)).json()) as { tags: string[] }).tags, ['latest']);
      // The same manifest to the same tag from 20 writers at once.
      const again = await Promise.all(Array.from({ length: N }, () => putManifest(reg.url, 'same/tag', 'stable', docs[0])));
      assert.deepEqual(again.map((r) => r.status), Array(N).fill(201));
    });

    it(`${N} parallel referrer pushes for one subject are all listed`, async (t) => {
      if (skip) return t.skip(skip);
      const subjectDoc = await image(reg.url, 'refs', 'subject');
      assert.equal((await putManifest(reg.url, 'refs', 'v1', subjectDoc)).status, 201);
      const subject = { mediaType: OCI_MANIFEST, digest: sha(JSON.stringify(subjectDoc)), size: JSON.stringify(subjectDoc).length };
      const empty = Buffer.from('{}');
      const pushed = await Promise.all(
        Array.from({ length: N }, async (_, i) => {
          const env = randomBytes(100);
          assert.equal(await monolithic(reg.url, 'refs', empty), 201);
          assert.equal(await monolithic(reg.url, 'refs', env), 201);
          const doc = {
            schemaVersion: 2,
            mediaType: OCI_MANIFEST,
            artifactType: 'application/vnd.ocitrust.signature.v1+json',
            config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha(empty), size: 2 },
            layers: [{ mediaType: 'application/vnd.dsse.envelope.v1+json', digest: sha(env), size: env.length }],
            subject,
            annotations: { i: String(i) },
          };
          const res = await putManifest(reg.url, 'refs', sha(JSON.stringify(doc)), doc);
          assert.equal(res.status, 201);
          assert.equal(res.headers.get('oci-subject'), subject.digest);
          return sha(JSON.stringify(doc));
        }),
      );
      const list = (await (await fetch(`${reg.url}/v2/refs/referrers/${subject.digest}`)).json()) as { manifests: { digest: string }[] };
      assert.deepEqual(list.manifests.map((m) => m.digest).sort(), [...pushed].sort());
    });

    it('an upload abandoned mid-PATCH changes nothing visible, can be resumed, and expires', async (t) => {
      if (skip) return t.skip(skip);
      const short = await startEmbeddedRegistry({ db: engine, limits: { uploadTtlMs: 1500 } });
      try {
        const start = await fetch(`${short.url}/v2/abandon/blobs/uploads/`, { method: 'POST' });
        const loc = start.headers.get('location')!;
        const p = partialPatch(short.host, loc, 100_000, 40_000);
        await sleep(200);
        p.abort();
        await p.closed;
        await sleep(100);
        const st = await fetch(`${short.url}${loc}`);
        assert.equal(st.status, 204);
        assert.equal(st.headers.get('range'), '0-0', 'the interrupted chunk was not acknowledged');
        // Resuming from the acknowledged offset works and yields exactly the new bytes.
        const bytes = randomBytes(1000);
        const r = await fetch(`${short.url}${loc}`, { method: 'PATCH', body: bytes, headers: { 'content-type': 'application/octet-stream', 'content-range': '0-999' } });
        assert.equal(r.status, 202);
        // Abandon this one too; it is not visible as a blob and expires with its scratch file.
        assert.equal((await fetch(`${short.url}/v2/abandon/blobs/${sha(bytes)}`, { method: 'HEAD' })).status, 404);
        assert.equal(readdirSync(join(short.dataDir, 'blobs')).length, 0);
        assert.equal(readdirSync(join(short.dataDir, 'uploads')).length, 1);
        let gone = false;
        for (let i = 0; i < 40 && !gone; i++) {
          await sleep(150);
          gone = (await fetch(`${short.url}${loc}`)).status === 404;
        }
        assert.ok(gone, 'the abandoned upload expired');
        assert.deepEqual(readdirSync(join(short.dataDir, 'uploads')), []);
      } finally {
        await short.close();
      }
    });

    it('a registry process killed (SIGKILL) mid-PATCH restarts with the last acknowledged state and nothing half-visible', async (t) => {
      if (skip) return t.skip(skip);
      const dataDir = mkdtempSync(join(tmpdir(), 'ocitrust-crash-'));
      const pg = engine === 'postgres' ? await freshPostgresDatabase() : undefined;
      const dbUrl = pg?.url ?? join(dataDir, 'ocitrust.db');
      const helper = new URL('../helpers/embedded-registry.ts', import.meta.url).pathname;
      const child = spawn(process.execPath, ['--import', 'tsx', helper, dataDir, dbUrl], { stdio: ['ignore', 'pipe', 'inherit'] });
      try {
        const [line] = (await once(child.stdout!, 'data')) as [Buffer];
        const { host } = JSON.parse(line.toString()) as { host: string };
        const url = `http://${host}`;
        const first = randomBytes(1000);
        const start = await fetch(`${url}/v2/crash/blobs/uploads/`, { method: 'POST' });
        const loc = start.headers.get('location')!;
        assert.equal((await fetch(`${url}${loc}`, { method: 'PATCH', body: first, headers: { 'content-type': 'application/octet-stream', 'content-range': '0-999' } })).status, 202);
        const whole = randomBytes(3000);
        const p = partialPatch(host, loc, 2000, 1500);
        await sleep(200);
        child.kill('SIGKILL');
        await once(child, 'exit');
        p.abort();

        const restarted = await startEmbeddedRegistry({ dataDir, dbUrl });
        try {
          const st = await fetch(`${restarted.url}${loc}`);
          assert.equal(st.status, 204);
          assert.equal(st.headers.get('range'), '0-999', 'exactly the acknowledged chunk survived');
          assert.equal(readdirSync(join(dataDir, 'blobs')).length, 0, 'no blob file appeared');
          // Finish the upload after the crash: the result is the acknowledged bytes plus the new ones.
          whole.set(first, 0);
          const rest = whole.subarray(1000);
          const fin = await fetch(`${restarted.url}${loc}?digest=${sha(whole)}`, { method: 'PUT', body: rest, headers: { 'content-type': 'application/octet-stream', 'content-range': '1000-2999' } });
          assert.equal(fin.status, 201);
          const got = Buffer.from(await (await fetch(`${restarted.url}/v2/crash/blobs/${sha(whole)}`)).arrayBuffer());
          assert.ok(got.equals(whole));
        } finally {
          await restarted.close();
        }
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
        await pg?.drop();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });
}

suite('sqlite');
suite('postgres');
