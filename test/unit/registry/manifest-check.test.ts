import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkManifest, baseMediaType } from '../../../server/registry/manifest.js';
import { toWireError } from '../../../server/registry/errors.js';
import { OcitrustError, isOcitrustError } from '../../../lib/errors/index.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const d = (c: string) => `sha256:${c.repeat(64)}`;
const enc = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
const MAX = 4 * 1024 * 1024;

const image = {
  schemaVersion: 2,
  mediaType: OCI_MANIFEST,
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: d('1'), size: 10 },
  layers: [
    { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: d('2'), size: 20 },
    { mediaType: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip', digest: d('3'), size: 30, urls: ['https://example.com/l'] },
  ],
};

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(isOcitrustError(e), String(e));
    return e.code;
  }
  return 'none';
}

describe('registry manifest checks', () => {
  it('an image manifest names its config and distributable layers; artifactType falls back to config.mediaType', () => {
    const c = checkManifest(enc(image), OCI_MANIFEST, MAX);
    assert.equal(c.kind, 'image');
    assert.equal(c.mediaType, OCI_MANIFEST);
    assert.deepEqual(c.blobs.map((b) => b.digest), [d('1'), d('2')]);
    assert.equal(c.artifactType, 'application/vnd.oci.image.config.v1+json');
    assert.equal(c.subject, undefined);
  });

  it('an artifact keeps artifactType, subject and annotations', () => {
    const art = { ...image, artifactType: 'application/vnd.x', subject: { mediaType: OCI_MANIFEST, digest: d('9'), size: 5 }, annotations: { a: 'b' } };
    const c = checkManifest(enc(art), `${OCI_MANIFEST}; charset=utf-8`, MAX);
    assert.equal(c.artifactType, 'application/vnd.x');
    assert.equal(c.subject, d('9'));
    assert.deepEqual(c.annotations, { a: 'b' });
  });

  it('an index names its children and has no artifactType unless it declares one', () => {
    const idx = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: d('4'), size: 40 }] };
    const c = checkManifest(enc(idx), OCI_INDEX, MAX);
    assert.equal(c.kind, 'index');
    assert.deepEqual(c.children.map((x) => x.digest), [d('4')]);
    assert.equal(c.artifactType, undefined);
  });

  it('without mediaType the Content-Type decides; Docker schema 2 is accepted', () => {
    const { mediaType: _m, ...bare } = image;
    assert.equal(checkManifest(enc(bare), DOCKER_MANIFEST, MAX).mediaType, DOCKER_MANIFEST);
    assert.equal(checkManifest(enc(bare), undefined, MAX).mediaType, OCI_MANIFEST);
    assert.equal(checkManifest(enc({ ...image, mediaType: DOCKER_MANIFEST }), DOCKER_MANIFEST, MAX).kind, 'image');
  });

  it('refuses (label → code): every refusal is DIST_MANIFEST_INVALID or DIST_TOO_LARGE', () => {
    const cases: [string, Uint8Array, string | undefined, string][] = [
      ['not JSON', enc('{'), OCI_MANIFEST, 'DIST_MANIFEST_INVALID'],
      ['not UTF-8', new Uint8Array([0x7b, 0xff, 0x7d]), OCI_MANIFEST, 'DIST_MANIFEST_INVALID'],
      ['duplicate key', enc('{"schemaVersion":2,"schemaVersion":2}'), OCI_MANIFEST, 'DIST_MANIFEST_INVALID'],
      ['array', enc([]), OCI_MANIFEST, 'DIST_MANIFEST_INVALID'],
      ['schema 1', enc({ schemaVersion: 1 }), OCI_MANIFEST, 'DIST_MANIFEST_INVALID'],
      ['Content-Type disagrees', enc(image), OCI_INDEX, 'DIST_MANIFEST_INVALID'],
      ['unknown mediaType', enc({ ...image, mediaType: 'application/x' }), 'application/x', 'DIST_MANIFEST_INVALID'],
      ['layers and manifests', enc({ ...image, manifests: [] }), OCI_MANIFEST, 'DIST_MANIFEST_INVALID'],
      ['bad layer digest', enc({ ...image, layers: [{ mediaType: 'a/b', digest: 'sha256:1', size: 1 }] }), OCI_MANIFEST, 'DIST_MANIFEST_INVALID'],
      ['negative size', enc({ ...image, config: { ...image.config, size: -1 } }), OCI_MANIFEST, 'DIST_MANIFEST_INVALID'],
      ['annotation not a string', enc({ ...image, annotations: { a: 1 } }), OCI_MANIFEST, 'DIST_MANIFEST_INVALID'],
      ['bad subject', enc({ ...image, subject: { digest: 'x' } }), OCI_MANIFEST, 'DIST_MANIFEST_INVALID'],
      ['too large', new Uint8Array(MAX + 1), OCI_MANIFEST, 'DIST_TOO_LARGE'],
    ];
    for (const [label, bytes, ct, want] of cases) assert.equal(code(() => checkManifest(bytes, ct, MAX)), want, label);
  });

  it('baseMediaType drops parameters and case', () => {
    assert.equal(baseMediaType('Application/JSON; charset=utf-8'), 'application/json');
    assert.equal(baseMediaType(''), undefined);
    assert.equal(baseMediaType(undefined), undefined);
  });
});

describe('registry wire errors', () => {
  it('maps codes to the spec code and status; other areas by HTTP status; unknown failures to a bare 500', () => {
    const w = toWireError(new OcitrustError('DIST_MANIFEST_UNKNOWN', 'gone', { details: { detail: { reference: 'x' } } }));
    assert.equal(w.status, 404);
    assert.deepEqual(w.body, { errors: [{ code: 'MANIFEST_UNKNOWN', message: 'gone', detail: { reference: 'x' } }] });
    assert.equal(toWireError(new OcitrustError('DIST_RANGE_INVALID', 'x')).status, 416);
    assert.equal(toWireError(new OcitrustError('DIST_PRECONDITION_FAILED', 'x')).status, 412);
    assert.equal(toWireError(new OcitrustError('DIST_TOO_MANY_REQUESTS', 'x', { details: { headers: { 'Retry-After': '10' } } })).headers['Retry-After'], '10');
    const auth = toWireError(new OcitrustError('AUTH_REQUIRED', 'token please'));
    assert.equal(auth.status, 401);
    assert.equal(auth.body.errors[0]!.code, 'UNAUTHORIZED');
    assert.equal(toWireError(new OcitrustError('PERMISSION_DENIED', 'no')).body.errors[0]!.code, 'DENIED');
    const storage = toWireError(new OcitrustError('STORAGE_QUERY_FAILED', 'SELECT secret FROM t'));
    assert.equal(storage.status, 500);
    assert.equal(storage.body.errors[0]!.code, 'UNKNOWN');
    assert.doesNotMatch(storage.body.errors[0]!.message, /secret/, 'internal details stay in the log');
    const bug = toWireError(new TypeError('x is undefined'));
    assert.deepEqual(bug, { status: 500, body: { errors: [{ code: 'UNKNOWN', message: 'internal error' }] }, headers: {} });
    const fst = toWireError(Object.assign(new Error('querystring/n must be string'), { statusCode: 400, code: 'FST_ERR_VALIDATION' }));
    assert.equal(fst.status, 400);
    assert.equal(fst.body.errors[0]!.code, 'UNSUPPORTED');
  });
});
