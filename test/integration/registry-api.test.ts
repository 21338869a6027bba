// The embedded registry against the OCI distribution spec v1.1, through fastify inject(), on
// SQLite and on PostgreSQL: uploads, blobs, manifests, tags, catalog, referrers, errors, hooks.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import fc from 'fast-check';
import { OcitrustError } from '../../lib/errors/index.js';
import { buildRegistryApp, type EmbeddedRegistryOptions, type RegistryApp } from '../helpers/embedded-registry.js';
import { postgresSkipReason } from '../helpers/postgres.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
const LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';

const sha = (b: Uint8Array | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function errorCode(res: LightMyRequestResponse): string {
  const body = JSON.parse(res.body) as { errors: { code: string; message: string }[] };
  assert.ok(Array.isArray(body.errors) && body.errors.length > 0, `expected an OCI error body, got ${res.body}`);
  return body.errors[0]!.code;
}

function expectError(res: LightMyRequestResponse, status: number, code: string): void {
  assert.equal(res.statusCode, status, `expected ${status} ${code}, got ${res.statusCode} ${res.body}`);
  assert.equal(errorCode(res), code);
  assert.equal(res.headers['docker-distribution-api-version'], 'registry/2.0');
}

async function pushBlob(app: FastifyInstance, name: string, bytes: Uint8Array): Promise<{ digest: string; size: number }> {
  const digest = sha(bytes);
  const res = await app.inject({
    method: 'POST',
    url: `/v2/${name}/blobs/uploads/?digest=${digest}`,
    payload: Buffer.from(bytes),
    headers: { 'content-type': 'application/octet-stream' },
  });
  assert.equal(res.statusCode, 201, res.body);
  return { digest, size: bytes.length };
}

interface Pushed {
  digest: string;
  size: number;
  bytes: Buffer;
}

async function pushManifest(app: FastifyInstance, name: string, ref: string, doc: unknown, contentType?: string): Promise<Pushed & { res: LightMyRequestResponse }> {
  const bytes = Buffer.from(typeof doc === 'string' ? doc : JSON.stringify(doc));
  const mt = contentType ?? ((doc as { mediaType?: string }).mediaType as string);
  const res = await app.inject({ method: 'PUT', url: `/v2/${name}/manifests/${ref}`, payload: bytes, headers: { 'content-type': mt } });
  return { digest: sha(bytes), size: bytes.length, bytes, res };
}

async function pushImage(app: FastifyInstance, name: string, ref: string, extra: Record<string, unknown> = {}): Promise<Pushed> {
  const config = await pushBlob(app, name, Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', n: randomBytes(4).toString('hex') })));
  const layer = await pushBlob(app, name, randomBytes(100));
  const doc = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, ...config },
    layers: [{ mediaType: LAYER, ...layer }],
    ...extra,
  };
  const p = await pushManifest(app, name, ref, doc);
  assert.equal(p.res.statusCode, 201, p.res.body);
  return p;
}

async function pushArtifact(
  app: FastifyInstance,
  name: string,
  subject: Pushed,
  opts: { artifactType?: string; configType?: string; annotations?: Record<string, string> },
): Promise<Pushed & { res: LightMyRequestResponse }> {
  const empty = await pushBlob(app, name, Buffer.from('{}'));
  const layer = await pushBlob(app, name, randomBytes(20));
  const doc = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    ...(opts.artifactType ? { artifactType: opts.artifactType } : {}),
    config: { mediaType: opts.configType ?? OCI_EMPTY, ...empty },
    layers: [{ mediaType: 'application/vnd.dsse.envelope.v1+json', ...layer }],
    subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.size },
    ...(opts.annotations ? { annotations: opts.annotations } : {}),
  };
  const p = await pushManifest(app, name, sha(JSON.stringify(doc)), doc);
  assert.equal(p.res.statusCode, 201, p.res.body);
  return p;
}

async function followLinks(app: FastifyInstance, url: string, key: string): Promise<{ items: unknown[]; pages: number }> {
  const items: unknown[] = [];
  let next: string | undefined = url;
  let pages = 0;
  while (next) {
    const res: LightMyRequestResponse = await app.inject({ method: 'GET', url: next });
    assert.equal(res.statusCode, 200, res.body);
    items.push(...(JSON.parse(res.body) as Record<string, unknown[]>)[key]!);
    pages++;
    const link = res.headers.link as string | undefined;
    next = link ? /^<([^>]+)>; rel="next"$/.exec(link)![1] : undefined;
    assert.ok(pages < 100);
  }
  return { items, pages };
}

function suite(engine: 'sqlite' | 'postgres'): void {
  describe(`embedded registry API (${engine})`, () => {
    let reg: RegistryApp;
    let app: FastifyInstance;
    let skip: string | undefined;
    const open = async (o: EmbeddedRegistryOptions = {}) => buildRegistryApp({ db: engine, ...o });

    before(async () => {
      skip = engine === 'postgres' ? postgresSkipReason() : undefined;
      if (skip) return;
      reg = await open();
      app = reg.app;
    });
    after(async () => {
      await reg?.close();
    });

    it('GET /v2/ answers 200 {} with Docker-Distribution-API-Version', async (t) => {
      if (skip) return t.skip(skip);
      const res = await app.inject({ method: 'GET', url: '/v2/' });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(JSON.parse(res.body), {});
      assert.equal(res.headers['docker-distribution-api-version'], 'registry/2.0');
    });

    it('chunked upload: POST, PATCH with Content-Range, GET status, PUT ?digest= → blob readable with Range', async (t) => {
      if (skip) return t.skip(skip);
      const bytes = randomBytes(5000);
      const digest = sha(bytes);
      const start = await app.inject({ method: 'POST', url: '/v2/team/app/blobs/uploads/', headers: { 'content-length': '0' } });
      assert.equal(start.statusCode, 202);
      const loc = start.headers.location as string;
      assert.match(loc, /^\/v2\/team\/app\/blobs\/uploads\/[0-9a-f]{32}$/);
      assert.equal(start.headers.range, '0-0');
      const p1 = await app.inject({ method: 'PATCH', url: loc, payload: bytes.subarray(0, 2000), headers: { 'content-type': 'application/octet-stream', 'content-range': '0-1999' } });
      assert.equal(p1.statusCode, 202, p1.body);
      assert.equal(p1.headers.range, '0-1999');
      const st = await app.inject({ method: 'GET', url: loc });
      assert.equal(st.statusCode, 204);
      assert.equal(st.headers.range, '0-1999');
      // A chunk that does not start at the current offset is 416 and changes nothing.
      const bad = await app.inject({ method: 'PATCH', url: loc, payload: bytes.subarray(2500), headers: { 'content-type': 'application/octet-stream', 'content-range': '2500-4999' } });
      expectError(bad, 416, 'BLOB_UPLOAD_INVALID');
      const p2 = await app.inject({ method: 'PATCH', url: p1.headers.location as string, payload: bytes.subarray(2000, 4000), headers: { 'content-type': 'application/octet-stream', 'content-range': '2000-3999' } });
      assert.equal(p2.statusCode, 202);
      // The last chunk travels with the closing PUT.
      const put = await app.inject({ method: 'PUT', url: `${loc}?digest=${digest}`, payload: bytes.subarray(4000), headers: { 'content-type': 'application/octet-stream', 'content-range': '4000-4999' } });
      assert.equal(put.statusCode, 201, put.body);
      assert.equal(put.headers.location, `/v2/team/app/blobs/${digest}`);
      assert.equal(put.headers['docker-content-digest'], digest);
      const get = await app.inject({ method: 'GET', url: `/v2/team/app/blobs/${digest}` });
      assert.equal(get.statusCode, 200);
      assert.ok(get.rawPayload.equals(bytes));
      assert.equal(get.headers['docker-content-digest'], digest);
      const head = await app.inject({ method: 'HEAD', url: `/v2/team/app/blobs/${digest}` });
      assert.equal(head.statusCode, 200);
      assert.equal(head.headers['content-length'], '5000');
      assert.equal(head.rawPayload.length, 0);
      const part = await app.inject({ method: 'GET', url: `/v2/team/app/blobs/${digest}`, headers: { range: 'bytes=100-199' } });
      assert.equal(part.statusCode, 206);
      assert.equal(part.headers['content-range'], 'bytes 100-199/5000');
      assert.ok(part.rawPayload.equals(bytes.subarray(100, 200)));
      const tail = await app.inject({ method: 'GET', url: `/v2/team/app/blobs/${digest}`, headers: { range: 'bytes=-10' } });
      assert.ok(tail.rawPayload.equals(bytes.subarray(4990)));
      const unsat = await app.inject({ method: 'GET', url: `/v2/team/app/blobs/${digest}`, headers: { range: 'bytes=6000-' } });
      assert.equal(unsat.statusCode, 416);
      assert.equal(unsat.headers['content-range'], 'bytes */5000');
      // The finished session is gone.
      expectError(await app.inject({ method: 'GET', url: loc }), 404, 'BLOB_UPLOAD_UNKNOWN');
    });

    it('PATCH without Content-Range (streamed) appends; a wrong final digest fails, ends the session and publishes nothing', async (t) => {
      if (skip) return t.skip(skip);
      const bytes = randomBytes(300);
      const start = await app.inject({ method: 'POST', url: '/v2/team/app/blobs/uploads/' });
      const loc = start.headers.location as string;
      assert.equal((await app.inject({ method: 'PATCH', url: loc, payload: bytes, headers: { 'content-type': 'application/octet-stream' } })).statusCode, 202);
      const wrong = sha('something else');
      expectError(await app.inject({ method: 'PUT', url: `${loc}?digest=${wrong}` }), 400, 'DIGEST_INVALID');
      expectError(await app.inject({ method: 'GET', url: `/v2/team/app/blobs/${wrong}` }), 404, 'BLOB_UNKNOWN');
      expectError(await app.inject({ method: 'GET', url: `/v2/team/app/blobs/${sha(bytes)}` }), 404, 'BLOB_UNKNOWN');
      expectError(await app.inject({ method: 'GET', url: loc }), 404, 'BLOB_UPLOAD_UNKNOWN');
      const noDigest = await app.inject({ method: 'POST', url: '/v2/team/app/blobs/uploads/' });
      expectError(await app.inject({ method: 'PUT', url: noDigest.headers.location as string }), 400, 'DIGEST_INVALID');
    });

    it('monolithic POST ?digest= stores the blob; a mismatching digest is DIGEST_INVALID and leaves nothing', async (t) => {
      if (skip) return t.skip(skip);
      const bytes = randomBytes(64);
      const { digest } = await pushBlob(app, 'mono', bytes);
      const get = await app.inject({ method: 'GET', url: `/v2/mono/blobs/${digest}` });
      assert.ok(get.rawPayload.equals(bytes));
      const other = randomBytes(64);
      const res = await app.inject({ method: 'POST', url: `/v2/mono/blobs/uploads/?digest=${sha('x')}`, payload: other, headers: { 'content-type': 'application/octet-stream' } });
      expectError(res, 400, 'DIGEST_INVALID');
      expectError(await app.inject({ method: 'GET', url: `/v2/mono/blobs/${sha(other)}` }), 404, 'BLOB_UNKNOWN');
      const head = await app.inject({ method: 'HEAD', url: `/v2/mono/blobs/${sha(other)}` });
      assert.equal(head.statusCode, 404);
      assert.equal(head.rawPayload.length, 0);
      expectError(await app.inject({ method: 'POST', url: '/v2/mono/blobs/uploads/?digest=sha256:xyz', payload: other, headers: { 'content-type': 'application/octet-stream' } }), 400, 'DIGEST_INVALID');
    });

    it('upload sessions: DELETE cancels (204 then 404); a session is bound to its repository', async (t) => {
      if (skip) return t.skip(skip);
      const start = await app.inject({ method: 'POST', url: '/v2/one/blobs/uploads/' });
      const loc = start.headers.location as string;
      const id = loc.split('/').pop()!;
      expectError(await app.inject({ method: 'GET', url: `/v2/two/blobs/uploads/${id}` }), 404, 'BLOB_UPLOAD_UNKNOWN');
      assert.equal((await app.inject({ method: 'DELETE', url: loc })).statusCode, 204);
      expectError(await app.inject({ method: 'DELETE', url: loc }), 404, 'BLOB_UPLOAD_UNKNOWN');
      expectError(await app.inject({ method: 'PATCH', url: loc, payload: 'x', headers: { 'content-type': 'application/octet-stream' } }), 404, 'BLOB_UPLOAD_UNKNOWN');
      expectError(await app.inject({ method: 'GET', url: '/v2/one/blobs/uploads/not-an-id' }), 404, 'BLOB_UPLOAD_UNKNOWN');
    });

    it('cross-repository mount: 201 when the blob is in `from`, else a plain session (202)', async (t) => {
      if (skip) return t.skip(skip);
      const bytes = randomBytes(50);
      const { digest } = await pushBlob(app, 'src/repo', bytes);
      const m = await app.inject({ method: 'POST', url: `/v2/dst/repo/blobs/uploads/?mount=${digest}&from=src/repo` });
      assert.equal(m.statusCode, 201);
      assert.equal(m.headers.location, `/v2/dst/repo/blobs/${digest}`);
      assert.equal(m.headers['docker-content-digest'], digest);
      assert.ok((await app.inject({ method: 'GET', url: `/v2/dst/repo/blobs/${digest}` })).rawPayload.equals(bytes));
      const miss = await app.inject({ method: 'POST', url: `/v2/dst/repo/blobs/uploads/?mount=${sha('nope')}&from=src/repo` });
      assert.equal(miss.statusCode, 202);
      assert.match(miss.headers.location as string, /\/blobs\/uploads\//);
      const noFrom = await app.inject({ method: 'POST', url: `/v2/third/blobs/uploads/?mount=${digest}` });
      assert.equal(noFrom.statusCode, 202, 'without from the registry does not search other repositories');
      expectError(await app.inject({ method: 'GET', url: `/v2/third/blobs/${digest}` }), 404, 'BLOB_UNKNOWN');
    });

    it('blob DELETE unlinks (202, then 404); with allowDelete false it is 405 UNSUPPORTED', async (t) => {
      if (skip) return t.skip(skip);
      const { digest } = await pushBlob(app, 'del', randomBytes(10));
      assert.equal((await app.inject({ method: 'DELETE', url: `/v2/del/blobs/${digest}` })).statusCode, 202);
      expectError(await app.inject({ method: 'GET', url: `/v2/del/blobs/${digest}` }), 404, 'BLOB_UNKNOWN');
      expectError(await app.inject({ method: 'DELETE', url: `/v2/del/blobs/${digest}` }), 404, 'BLOB_UNKNOWN');
      const ro = await open({ allowDelete: false });
      try {
        const b = await pushBlob(ro.app, 'del', randomBytes(10));
        expectError(await ro.app.inject({ method: 'DELETE', url: `/v2/del/blobs/${b.digest}` }), 405, 'UNSUPPORTED');
        expectError(await ro.app.inject({ method: 'DELETE', url: '/v2/del/manifests/latest' }), 405, 'UNSUPPORTED');
      } finally {
        await ro.close();
      }
    });

    it('manifest push by tag and pull by tag and digest: exact bytes, Content-Type, Docker-Content-Digest, ETag, 304', async (t) => {
      if (skip) return t.skip(skip);
      // Unusual but valid formatting must survive byte for byte.
      const config = await pushBlob(app, 'img', Buffer.from('{"architecture":"arm64","os":"linux"}'));
      const layer = await pushBlob(app, 'img', randomBytes(33));
      const text = `{\n  "schemaVersion": 2, "mediaType": "${OCI_MANIFEST}",\n  "config": {"mediaType": "${OCI_CONFIG}", "digest": "${config.digest}", "size": ${config.size}},\n  "layers": [{"mediaType": "${LAYER}", "digest": "${layer.digest}", "size": ${layer.size}}]\n}\n`;
      const p = await pushManifest(app, 'img', 'v1.0', text, OCI_MANIFEST);
      assert.equal(p.res.statusCode, 201, p.res.body);
      assert.equal(p.res.headers['docker-content-digest'], p.digest);
      assert.equal(p.res.headers.location, `/v2/img/manifests/${p.digest}`);
      assert.equal(p.res.headers['oci-subject'], undefined);
      for (const ref of ['v1.0', p.digest]) {
        const g = await app.inject({ method: 'GET', url: `/v2/img/manifests/${ref}`, headers: { accept: OCI_MANIFEST } });
        assert.equal(g.statusCode, 200);
        assert.equal(g.headers['content-type'], OCI_MANIFEST);
        assert.equal(g.headers['docker-content-digest'], p.digest);
        assert.equal(g.headers.etag, `"${p.digest}"`);
        assert.ok(g.rawPayload.equals(p.bytes));
        const h = await app.inject({ method: 'HEAD', url: `/v2/img/manifests/${ref}` });
        assert.equal(h.statusCode, 200);
        assert.equal(h.headers['content-length'], String(p.size));
        assert.equal(h.headers['docker-content-digest'], p.digest);
      }
      const cached = await app.inject({ method: 'GET', url: '/v2/img/manifests/v1.0', headers: { 'if-none-match': `"${p.digest}"` } });
      assert.equal(cached.statusCode, 304);
      // Manifests are content too: the blob endpoint serves them.
      assert.ok((await app.inject({ method: 'GET', url: `/v2/img/blobs/${p.digest}` })).rawPayload.equals(p.bytes));
      expectError(await app.inject({ method: 'GET', url: '/v2/img/manifests/nope' }), 404, 'MANIFEST_UNKNOWN');
      expectError(await app.inject({ method: 'GET', url: `/v2/img/manifests/${sha('nope')}` }), 404, 'MANIFEST_UNKNOWN');
      const headMiss = await app.inject({ method: 'HEAD', url: '/v2/img/manifests/nope' });
      assert.equal(headMiss.statusCode, 404);
      assert.equal(headMiss.rawPayload.length, 0);
    });

    it('manifest validation: digest mismatch, unknown blobs, size mismatch, bad JSON, duplicate keys, Content-Type, media types, size limit', async (t) => {
      if (skip) return t.skip(skip);
      const img = await pushImage(app, 'val', 'base');
      const doc = JSON.parse(img.bytes.toString()) as Record<string, unknown> & { layers: { digest: string; size: number }[] };
      expectError((await pushManifest(app, 'val', sha('other'), doc)).res, 400, 'DIGEST_INVALID');
      const missing = { ...doc, layers: [{ mediaType: LAYER, digest: sha('missing layer'), size: 13 }] };
      expectError((await pushManifest(app, 'val', 'm1', missing)).res, 400, 'MANIFEST_BLOB_UNKNOWN');
      // Blobs of another repository do not count: each repository holds its own links.
      expectError((await pushManifest(app, 'other', 'm1', doc)).res, 400, 'MANIFEST_BLOB_UNKNOWN');
      const wrongSize = { ...doc, layers: [{ ...doc.layers[0]!, size: doc.layers[0]!.size + 1 }] };
      expectError((await pushManifest(app, 'val', 'm2', wrongSize)).res, 400, 'MANIFEST_INVALID');
      expectError((await pushManifest(app, 'val', 'm3', '{"schemaVersion": 2,', OCI_MANIFEST)).res, 400, 'MANIFEST_INVALID');
      const dup = img.bytes.toString().replace('{"schemaVersion":2,', '{"schemaVersion":2,"schemaVersion":2,');
      expectError((await pushManifest(app, 'val', 'm4', dup, OCI_MANIFEST)).res, 400, 'MANIFEST_INVALID');
      expectError((await pushManifest(app, 'val', 'm5', doc, OCI_INDEX)).res, 400, 'MANIFEST_INVALID');
      expectError((await pushManifest(app, 'val', 'm6', { ...doc, mediaType: 'application/x-unknown' })).res, 400, 'MANIFEST_INVALID');
      expectError((await pushManifest(app, 'val', 'm7', { schemaVersion: 1, name: 'val', tag: 'x', fsLayers: [] }, 'application/vnd.docker.distribution.manifest.v1+prettyjws')).res, 400, 'MANIFEST_INVALID');
      expectError((await pushManifest(app, 'val', 'm8', '[1,2]', OCI_MANIFEST)).res, 400, 'MANIFEST_INVALID');
      const huge = { ...doc, annotations: { big: 'x'.repeat(4 * 1024 * 1024) } };
      expectError((await pushManifest(app, 'val', 'm9', huge)).res, 413, 'SIZE_INVALID');
      // Content-Type parameters are ignored; a missing mediaType is taken from Content-Type.
      const params = await pushManifest(app, 'val', 'm10', doc, `${OCI_MANIFEST}; charset=utf-8`);
      assert.equal(params.res.statusCode, 201, params.res.body);
      const { mediaType: _m, ...bare } = doc;
      const noMt = await pushManifest(app, 'val', 'm11', bare, OCI_MANIFEST);
      assert.equal(noMt.res.statusCode, 201, noMt.res.body);
      assert.equal((await app.inject({ method: 'GET', url: '/v2/val/manifests/m11' })).headers['content-type'], OCI_MANIFEST);
      // A manifest exactly at the limit is accepted (registries should take at least 4 MiB).
      const room = 4 * 1024 * 1024 - JSON.stringify({ ...doc, annotations: { big: '' } }).length;
      const atLimit = await pushManifest(app, 'val', 'm12', { ...doc, annotations: { big: 'y'.repeat(room) } });
      assert.equal(atLimit.size, 4 * 1024 * 1024);
      assert.equal(atLimit.res.statusCode, 201, atLimit.res.body);
      expectError(await app.inject({ method: 'GET', url: '/v2/val/manifests/m1' }), 404, 'MANIFEST_UNKNOWN');
    });

    it('an index is accepted when its children are there, refused when one is missing', async (t) => {
      if (skip) return t.skip(skip);
      const a = await pushImage(app, 'multi', a_tag());
      const b = await pushImage(app, 'multi', a_tag());
      const index = {
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [
          { mediaType: OCI_MANIFEST, digest: a.digest, size: a.size, platform: { architecture: 'amd64', os: 'linux' } },
          { mediaType: OCI_MANIFEST, digest: b.digest, size: b.size, platform: { architecture: 'arm64', os: 'linux' } },
        ],
      };
      const ok = await pushManifest(app, 'multi', 'latest', index);
      assert.equal(ok.res.statusCode, 201, ok.res.body);
      const g = await app.inject({ method: 'GET', url: '/v2/multi/manifests/latest' });
      assert.equal(g.headers['content-type'], OCI_INDEX);
      assert.ok(g.rawPayload.equals(ok.bytes));
      const broken = { ...index, manifests: [...index.manifests, { mediaType: OCI_MANIFEST, digest: sha('ghost'), size: 5 }] };
      expectError((await pushManifest(app, 'multi', 'broken', broken)).res, 400, 'MANIFEST_BLOB_UNKNOWN');
    });

    it('tag and manifest DELETE: a tag goes alone; a digest takes its tags along', async (t) => {
      if (skip) return t.skip(skip);
      const img = await pushImage(app, 'gone', 'one');
      await pushManifest(app, 'gone', 'two', JSON.parse(img.bytes.toString()));
      assert.equal((await app.inject({ method: 'DELETE', url: '/v2/gone/manifests/one' })).statusCode, 202);
      expectError(await app.inject({ method: 'GET', url: '/v2/gone/manifests/one' }), 404, 'MANIFEST_UNKNOWN');
      assert.equal((await app.inject({ method: 'GET', url: `/v2/gone/manifests/${img.digest}` })).statusCode, 200);
      assert.equal((await app.inject({ method: 'DELETE', url: `/v2/gone/manifests/${img.digest}` })).statusCode, 202);
      expectError(await app.inject({ method: 'GET', url: '/v2/gone/manifests/two' }), 404, 'MANIFEST_UNKNOWN');
      expectError(await app.inject({ method: 'DELETE', url: `/v2/gone/manifests/${img.digest}` }), 404, 'MANIFEST_UNKNOWN');
      const tags = await app.inject({ method: 'GET', url: '/v2/gone/tags/list' });
      assert.deepEqual(JSON.parse(tags.body), { name: 'gone', tags: [] });
    });

    it('If-Match on a tag push: a stale ETag is 412 and the tag keeps its value', async (t) => {
      if (skip) return t.skip(skip);
      const first = await pushImage(app, 'cas', 'idx');
      const second = await pushImage(app, 'cas', 'other');
      const third = await pushImage(app, 'cas', 'third');
      const doc2 = JSON.parse(second.bytes.toString());
      const ok = await app.inject({ method: 'PUT', url: '/v2/cas/manifests/idx', payload: second.bytes, headers: { 'content-type': OCI_MANIFEST, 'if-match': `"${first.digest}"` } });
      assert.equal(ok.statusCode, 201, ok.body);
      const stale = await app.inject({ method: 'PUT', url: '/v2/cas/manifests/idx', payload: third.bytes, headers: { 'content-type': OCI_MANIFEST, 'if-match': `"${first.digest}"` } });
      expectError(stale, 412, 'DENIED');
      assert.equal((await app.inject({ method: 'HEAD', url: '/v2/cas/manifests/idx' })).headers['docker-content-digest'], second.digest);
      const create = await app.inject({ method: 'PUT', url: '/v2/cas/manifests/idx', payload: Buffer.from(JSON.stringify(doc2)), headers: { 'content-type': OCI_MANIFEST, 'if-none-match': '*' } });
      expectError(create, 412, 'DENIED');
    });

    it('tags list: ASCIIbetical order, n/last pagination with Link, n=0, unknown repository', async (t) => {
      if (skip) return t.skip(skip);
      const img = await pushImage(app, 'tagged/deep/repo', 'Zeta');
      const doc = JSON.parse(img.bytes.toString());
      const names = ['Zeta', 'alpha', 'Beta', 'v1.0', 'v1.10', 'v1.2', '_under', 'a-b', 'a.b', 'a_b', '0'];
      for (const n of names.slice(1)) assert.equal((await pushManifest(app, 'tagged/deep/repo', n, doc)).res.statusCode, 201);
      const sorted = [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      const all = await app.inject({ method: 'GET', url: '/v2/tagged/deep/repo/tags/list' });
      assert.deepEqual(JSON.parse(all.body), { name: 'tagged/deep/repo', tags: sorted });
      assert.equal(all.headers.link, undefined);
      const paged = await followLinks(app, '/v2/tagged/deep/repo/tags/list?n=3', 'tags');
      assert.deepEqual(paged.items, sorted);
      assert.equal(paged.pages, 4);
      const afterLast = await app.inject({ method: 'GET', url: `/v2/tagged/deep/repo/tags/list?n=2&last=${sorted[4]}` });
      assert.deepEqual(JSON.parse(afterLast.body).tags, sorted.slice(5, 7));
      const zero = await app.inject({ method: 'GET', url: '/v2/tagged/deep/repo/tags/list?n=0' });
      assert.deepEqual(JSON.parse(zero.body).tags, []);
      assert.equal(zero.headers.link, undefined);
      expectError(await app.inject({ method: 'GET', url: '/v2/never/pushed/tags/list' }), 404, 'NAME_UNKNOWN');
      expectError(await app.inject({ method: 'GET', url: '/v2/tagged/deep/repo/tags/list?n=-1' }), 400, 'UNSUPPORTED');
    });

    it('_catalog lists repositories with n/last pagination', async (t) => {
      if (skip) return t.skip(skip);
      const { items } = await followLinks(app, '/v2/_catalog?n=2', 'repositories');
      const all = JSON.parse((await app.inject({ method: 'GET', url: '/v2/_catalog' })).body).repositories as string[];
      assert.deepEqual(items, all);
      assert.ok(all.includes('tagged/deep/repo') && all.includes('img'));
      assert.deepEqual(all, [...all].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    });

    it('manifests with a subject: OCI-Subject on push, referrers listed with artifactType and annotations, filter, empty cases', async (t) => {
      if (skip) return t.skip(skip);
      const subject = await pushImage(app, 'ref/app', 'v1');
      const sig1 = await pushArtifact(app, 'ref/app', subject, { artifactType: 'application/vnd.ocitrust.signature.v1+json', annotations: { 'dev.ocitrust.envelope': 'ZW52ZWxvcGU=', 'org.opencontainers.image.created': '2026-01-01T00:00:00Z' } });
      const sig2 = await pushArtifact(app, 'ref/app', subject, { artifactType: 'application/vnd.ocitrust.signature.v1+json', annotations: { n: '2' } });
      const sbom = await pushArtifact(app, 'ref/app', subject, { configType: 'application/vnd.example.sbom.config.v1+json' });
      for (const a of [sig1, sig2, sbom]) assert.equal(a.res.headers['oci-subject'], subject.digest);
      const res = await app.inject({ method: 'GET', url: `/v2/ref/app/referrers/${subject.digest}` });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-type'], OCI_INDEX);
      assert.equal(res.headers['oci-filters-applied'], undefined);
      const index = JSON.parse(res.body) as { schemaVersion: number; mediaType: string; manifests: Record<string, unknown>[] };
      assert.equal(index.schemaVersion, 2);
      assert.equal(index.mediaType, OCI_INDEX);
      const byDigest = new Map(index.manifests.map((m) => [m.digest as string, m]));
      assert.equal(byDigest.size, 3);
      assert.deepEqual(byDigest.get(sig1.digest), {
        mediaType: OCI_MANIFEST,
        digest: sig1.digest,
        size: sig1.size,
        artifactType: 'application/vnd.ocitrust.signature.v1+json',
        annotations: { 'dev.ocitrust.envelope': 'ZW52ZWxvcGU=', 'org.opencontainers.image.created': '2026-01-01T00:00:00Z' },
      });
      // Without artifactType the config media type stands in; no annotations → none listed.
      assert.deepEqual(byDigest.get(sbom.digest), { mediaType: OCI_MANIFEST, digest: sbom.digest, size: sbom.size, artifactType: 'application/vnd.example.sbom.config.v1+json' });
      const filtered = await app.inject({ method: 'GET', url: `/v2/ref/app/referrers/${subject.digest}?artifactType=${encodeURIComponent('application/vnd.ocitrust.signature.v1+json')}` });
      assert.equal(filtered.headers['oci-filters-applied'], 'artifactType');
      const fd = (JSON.parse(filtered.body) as { manifests: { digest: string }[] }).manifests.map((m) => m.digest).sort();
      assert.deepEqual(fd, [sig1.digest, sig2.digest].sort());
      const none = await app.inject({ method: 'GET', url: `/v2/ref/app/referrers/${sha('no referrers')}` });
      assert.equal(none.statusCode, 200);
      assert.deepEqual(JSON.parse(none.body), { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] });
      const unknownRepo = await app.inject({ method: 'GET', url: `/v2/no/such/repo/referrers/${subject.digest}` });
      assert.equal(unknownRepo.statusCode, 200, 'a registry with the referrers API must not answer 404');
      expectError(await app.inject({ method: 'GET', url: '/v2/ref/app/referrers/sha256:abc' }), 400, 'DIGEST_INVALID');
      expectError(await app.inject({ method: 'GET', url: '/v2/ref/app/referrers/latest' }), 400, 'DIGEST_INVALID');
      // A referrer whose subject is not (yet) in the repository is accepted (spec: push in either order).
      const orphanSubject = { digest: sha('future image'), size: 10, bytes: Buffer.alloc(0) };
      const early = await pushArtifact(app, 'ref/app', orphanSubject, { artifactType: 'application/vnd.x' });
      assert.equal(early.res.headers['oci-subject'], orphanSubject.digest);
      // Deleting a referrer removes it from the list.
      assert.equal((await app.inject({ method: 'DELETE', url: `/v2/ref/app/manifests/${sig2.digest}` })).statusCode, 202);
      const afterDel = JSON.parse((await app.inject({ method: 'GET', url: `/v2/ref/app/referrers/${subject.digest}` })).body) as { manifests: { digest: string }[] };
      assert.deepEqual(afterDel.manifests.map((m) => m.digest).sort(), [sig1.digest, sbom.digest].sort());
    });

    it('an index with a subject and no artifactType is listed without artifactType', async (t) => {
      if (skip) return t.skip(skip);
      const subject = await pushImage(app, 'ref/idx', 'v1');
      const child = await pushImage(app, 'ref/idx', 'child');
      const idx = {
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [{ mediaType: OCI_MANIFEST, digest: child.digest, size: child.size }],
        subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.size },
        annotations: { a: 'b' },
      };
      const p = await pushManifest(app, 'ref/idx', sha(JSON.stringify(idx)), idx);
      assert.equal(p.res.statusCode, 201, p.res.body);
      const list = JSON.parse((await app.inject({ method: 'GET', url: `/v2/ref/idx/referrers/${subject.digest}` })).body) as { manifests: unknown[] };
      assert.deepEqual(list.manifests, [{ mediaType: OCI_INDEX, digest: p.digest, size: p.size, annotations: { a: 'b' } }]);
    });

    it('referrers pagination: pages bounded by count and by bytes, Link to the next, nothing lost', async (t) => {
      if (skip) return t.skip(skip);
      const small = await open({ limits: { referrersPageSize: 4, referrersPageBytes: 2000 } });
      try {
        const subject = await pushImage(small.app, 'pg', 'v1');
        const pushed: string[] = [];
        for (let i = 0; i < 11; i++) {
          const big: Record<string, string> = i % 3 === 0 ? { pad: 'p'.repeat(700) } : { i: String(i) };
          pushed.push((await pushArtifact(small.app, 'pg', subject, { artifactType: 'application/vnd.t', annotations: big })).digest);
        }
        const { items, pages } = await followLinks(small.app, `/v2/pg/referrers/${subject.digest}?artifactType=application%2Fvnd.t`, 'manifests');
        assert.deepEqual((items as { digest: string }[]).map((m) => m.digest).sort(), pushed.sort());
        assert.ok(pages >= 3, `expected several pages, got ${pages}`);
      } finally {
        await small.close();
      }
    });

    it('names: nested repositories work; invalid names, tags and endpoints are 4xx with spec codes', async (t) => {
      if (skip) return t.skip(skip);
      await pushImage(app, 'a/b/c/d.e_f-g', 'x');
      assert.equal((await app.inject({ method: 'GET', url: '/v2/a/b/c/d.e_f-g/manifests/x' })).statusCode, 200);
      // "manifests" is a valid path component: the last /manifests/ splits name and reference.
      await pushImage(app, 'x/manifests/y', 'z');
      assert.equal((await app.inject({ method: 'GET', url: '/v2/x/manifests/y/manifests/z' })).statusCode, 200);
      expectError(await app.inject({ method: 'GET', url: '/v2/Upper/manifests/x' }), 400, 'NAME_INVALID');
      expectError(await app.inject({ method: 'GET', url: '/v2/a//b/manifests/x' }), 400, 'NAME_INVALID');
      expectError(await app.inject({ method: 'GET', url: '/v2/a/.hidden/manifests/x' }), 400, 'NAME_INVALID');
      expectError(await app.inject({ method: 'GET', url: `/v2/${'a'.repeat(256)}/manifests/x` }), 400, 'NAME_INVALID');
      expectError(await app.inject({ method: 'GET', url: '/v2/a/manifests/-bad' }), 400, 'NAME_INVALID');
      expectError(await app.inject({ method: 'GET', url: `/v2/a/manifests/${'t'.repeat(129)}` }), 400, 'NAME_INVALID');
      expectError(await app.inject({ method: 'GET', url: '/v2/a/manifests/sha256:short' }), 400, 'DIGEST_INVALID');
      expectError(await app.inject({ method: 'GET', url: '/v2/a/blobs/notadigest' }), 400, 'DIGEST_INVALID');
      expectError(await app.inject({ method: 'GET', url: '/v2/a/whatever' }), 404, 'UNSUPPORTED');
      // Broken percent-encoding is refused by fastify's router before the registry sees it.
      assert.equal((await app.inject({ method: 'GET', url: '/v2/a/%ZZ/manifests/x' })).statusCode, 400);
      expectError(await app.inject({ method: 'POST', url: '/v2/a/manifests/x' }), 405, 'UNSUPPORTED');
      expectError(await app.inject({ method: 'PUT', url: '/v2/a/blobs/uploads/' }), 405, 'UNSUPPORTED');
    });

    it('authorize hook: sees repository and action; false is 403 DENIED; 401 carries WWW-Authenticate; thrown 401 codes map to UNAUTHORIZED', async (t) => {
      if (skip) return t.skip(skip);
      const seen: string[] = [];
      const guarded = await open({
        authorize: (req, access) => {
          seen.push(`${req.method} ${access.repository ?? '-'} ${access.action}`);
          if (access.repository === null) return { allow: false, status: 401, wwwAuthenticate: 'Bearer realm="http://auth/token",service="reg"' };
          if (access.repository === 'secret') return false;
          if (access.repository === 'thrower') throw new OcitrustError('AUTH_TOKEN_INVALID', 'token expired');
          if (access.repository === 'src' && access.action === 'pull' && req.method === 'POST') return false;
          return true;
        },
      });
      try {
        const base = await guarded.app.inject({ method: 'GET', url: '/v2/' });
        expectError(base, 401, 'UNAUTHORIZED');
        assert.equal(base.headers['www-authenticate'], 'Bearer realm="http://auth/token",service="reg"');
        expectError(await guarded.app.inject({ method: 'GET', url: '/v2/secret/manifests/x' }), 403, 'DENIED');
        expectError(await guarded.app.inject({ method: 'GET', url: '/v2/thrower/tags/list' }), 401, 'UNAUTHORIZED');
        const { digest } = await pushBlob(guarded.app, 'src', randomBytes(5));
        await guarded.app.inject({ method: 'DELETE', url: `/v2/src/blobs/${digest}` });
        // No pull right on `from` → no mount, a plain session instead.
        const m = await guarded.app.inject({ method: 'POST', url: `/v2/dst/blobs/uploads/?mount=${digest}&from=src` });
        assert.equal(m.statusCode, 202);
        assert.ok(seen.includes('GET - pull'));
        assert.ok(seen.includes('GET secret pull'));
        assert.ok(seen.includes('POST src push'));
        assert.ok(seen.includes('DELETE src delete'));
        assert.ok(seen.includes('POST src pull'));
      } finally {
        await guarded.close();
      }
    });

    it('beforeManifestGet: called with the resolved digest on GET and HEAD; a denial is 403 DENIED with the reason', async (t) => {
      if (skip) return t.skip(skip);
      const calls: unknown[] = [];
      const gated = await open({
        beforeManifestGet: async (repository, reference, digest, info) => {
          calls.push({ repository, reference, digest, mediaType: info.mediaType, artifactType: info.artifactType });
          return repository === 'enforced' ? { allow: false, reason: 'no valid signature by role release' } : true;
        },
      });
      try {
        const img = await pushImage(gated.app, 'enforced', 'v1');
        const denied = await gated.app.inject({ method: 'GET', url: '/v2/enforced/manifests/v1' });
        expectError(denied, 403, 'DENIED');
        assert.match(JSON.parse(denied.body).errors[0].message, /no valid signature by role release/);
        assert.equal((await gated.app.inject({ method: 'HEAD', url: `/v2/enforced/manifests/${img.digest}` })).statusCode, 403);
        const open2 = await pushImage(gated.app, 'free', 'v1');
        assert.equal((await gated.app.inject({ method: 'GET', url: '/v2/free/manifests/v1' })).statusCode, 200);
        assert.deepEqual(calls[0], { repository: 'enforced', reference: 'v1', digest: img.digest, mediaType: OCI_MANIFEST, artifactType: OCI_CONFIG });
        assert.deepEqual((calls[2] as { digest: string }).digest, open2.digest);
      } finally {
        await gated.close();
      }
    });

    it('hostile requests never cause a 500', async (t) => {
      if (skip) return t.skip(skip);
      const segment = fc.oneof(
        fc.constantFrom('manifests', 'blobs', 'uploads', 'tags', 'list', 'referrers', '_catalog', 'latest', 'a', '..', '', '%00', '%2F', 'sha256:' + '0'.repeat(64)),
        fc.string({ maxLength: 12 }).map(encodeURIComponent),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'),
          fc.array(segment, { maxLength: 6 }),
          fc.dictionary(fc.constantFrom('n', 'last', 'digest', 'mount', 'from', 'artifactType'), fc.string({ maxLength: 20 })),
          fc.option(fc.uint8Array({ maxLength: 64 })),
          fc.constantFrom(undefined, 'application/octet-stream', OCI_MANIFEST, 'text/plain', 'application/json'),
          fc.option(fc.constantFrom('bytes=0-1', 'bytes=9-1', 'junk', '0-', '5-2')),
          async (method, segs, q, body, ct, range) => {
            const qs = new URLSearchParams(q).toString();
            const res = await app.inject({
              method: method as 'GET',
              url: `/v2/${segs.join('/')}${qs ? `?${qs}` : ''}`,
              ...(body && method !== 'GET' && method !== 'HEAD' ? { payload: Buffer.from(body) } : {}),
              headers: { ...(ct ? { 'content-type': ct } : {}), ...(range ? { range, 'content-range': range } : {}) },
            });
            assert.ok(res.statusCode < 500, `${method} ${segs.join('/')} → ${res.statusCode} ${res.body}`);
          },
        ),
        { numRuns: 300 },
      );
    });
  });
}

let tagCounter = 0;
function a_tag(): string {
  return `t${tagCounter++}`;
}

suite('sqlite');
suite('postgres');

describe('embedded registry plugin encapsulation', () => {
  it('mounted in a larger app, it leaves that app\'s JSON parsing, routes and error handling alone', async () => {
    const { default: Fastify } = await import('fastify');
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { openDb } = await import('../../server/storage/index.js');
    const { registryPlugin } = await import('../../server/registry/index.js');
    const dir = mkdtempSync(join(tmpdir(), 'ocitrust-encap-'));
    const db = await openDb(join(dir, 'db.sqlite'));
    const app = Fastify();
    try {
      app.post('/v1/echo', async (req) => ({ got: req.body }));
      app.get('/v1/fail', async () => {
        throw new Error('parent error');
      });
      await app.register(registryPlugin, { dataDir: dir, db });
      await app.ready();
      const echo = await app.inject({ method: 'POST', url: '/v1/echo', payload: { a: 1 } });
      assert.deepEqual(JSON.parse(echo.body), { got: { a: 1 } });
      assert.equal(echo.headers['docker-distribution-api-version'], undefined);
      const fail = await app.inject({ method: 'GET', url: '/v1/fail' });
      assert.equal(fail.statusCode, 500);
      assert.equal(JSON.parse(fail.body).errors, undefined, 'the parent keeps its own error format');
      assert.equal((await app.inject({ method: 'GET', url: '/v2/' })).statusCode, 200);
    } finally {
      await app.close();
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
