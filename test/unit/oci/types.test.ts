import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  parseManifest,
  parseImageIndex,
  parseImageManifest,
  parseDescriptor,
  isIndex,
  emptyBlob,
  effectiveArtifactType,
  manifestMediaType,
  EMPTY_DESCRIPTOR,
  EMPTY_DIGEST,
  OCI_MANIFEST,
  OCI_INDEX,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  OCI_EMPTY,
} from '../../../lib/oci/types.js';
import { digestOf } from '../../../lib/crypto/hash.js';
import { isOcitrustError, OcitrustError } from '../../../lib/errors/index.js';
import { makeImage, makeIndex } from '../../helpers/oci-layout.js';

const enc = (v: unknown): Uint8Array => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
const D = 'sha256:' + '1'.repeat(64);
const desc = { mediaType: 'application/octet-stream', digest: D, size: 3 };
const image = { schemaVersion: 2, mediaType: OCI_MANIFEST, config: desc, layers: [desc] };
const index = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ ...desc, mediaType: OCI_MANIFEST, platform: { architecture: 'amd64', os: 'linux' } }] };

function code(c: string) {
  return (e: unknown) => isOcitrustError(e) && e.code === c;
}

describe('oci/types', () => {
  describe('constants', () => {
    it('the empty descriptor names the digest of {}', () => {
      assert.equal(digestOf(emptyBlob()), EMPTY_DIGEST);
      assert.deepEqual({ ...EMPTY_DESCRIPTOR }, { mediaType: OCI_EMPTY, digest: EMPTY_DIGEST, size: 2 });
      assert.ok(Object.isFrozen(EMPTY_DESCRIPTOR));
      const a = emptyBlob();
      a[0] = 0;
      assert.equal(emptyBlob()[0], 0x7b);
    });
  });

  describe('#parseManifest when valid', () => {
    it('reads OCI manifests and indexes made by the layout helper', () => {
      const im = makeImage();
      const m = parseManifest(im.manifest.bytes);
      assert.ok(!isIndex(m));
      assert.equal(m.config.digest, im.config.digest);
      const ix = makeIndex();
      const i = parseImageIndex(ix.index.bytes);
      assert.equal(i.manifests.length, 2);
      assert.equal(i.manifests[1]!.platform?.variant, 'v8');
    });
    it('keeps unknown fields', () => {
      const m = parseImageManifest(enc({ ...image, futureField: { x: 1 } }));
      assert.deepEqual(m.futureField, { x: 1 });
    });
    it('uses Content-Type when mediaType is absent, else the shape', () => {
      const { mediaType: _m, ...noMt } = image;
      assert.equal(manifestMediaType(parseManifest(enc(noMt), { contentType: `${DOCKER_MANIFEST}; charset=utf-8` })), OCI_MANIFEST);
      const { mediaType: _i, ...noMtIdx } = index;
      assert.ok(isIndex(parseManifest(enc(noMtIdx))));
      assert.ok(isIndex(parseManifest(enc({ ...index, mediaType: DOCKER_MANIFEST_LIST }))));
    });
    it('effectiveArtifactType falls back to config.mediaType', () => {
      assert.equal(effectiveArtifactType(parseManifest(enc(image))), 'application/octet-stream');
      assert.equal(effectiveArtifactType(parseManifest(enc({ ...image, artifactType: 'application/x.y' }))), 'application/x.y');
      assert.equal(effectiveArtifactType(parseManifest(enc(index))), undefined);
    });
  });

  describe('#parseManifest when invalid', () => {
    const bad: [string, unknown, string][] = [
      ['not JSON', '{', 'MANIFEST_INVALID'],
      ['array', [], 'MANIFEST_INVALID'],
      ['schemaVersion 3', { ...image, schemaVersion: 3 }, 'MANIFEST_INVALID'],
      ['schema 1', { schemaVersion: 1, name: 'x', tag: 'y', fsLayers: [] }, 'MANIFEST_UNSUPPORTED'],
      ['unknown mediaType', { ...image, mediaType: 'application/vnd.example+json' }, 'MANIFEST_UNSUPPORTED'],
      ['layers and manifests', { ...image, manifests: [] }, 'MANIFEST_INVALID'],
      ['index with layers', { ...index, mediaType: OCI_INDEX, layers: [] }, 'MANIFEST_INVALID'],
      ['manifest typed as index', { ...image, mediaType: OCI_INDEX }, 'MANIFEST_INVALID'],
      ['config missing', { schemaVersion: 2, mediaType: OCI_MANIFEST, layers: [] }, 'MANIFEST_INVALID'],
      ['layers not array', { ...image, layers: {} }, 'MANIFEST_INVALID'],
      ['bad digest', { ...image, config: { ...desc, digest: 'sha256:zz' } }, 'MANIFEST_INVALID'],
      ['uppercase digest', { ...image, config: { ...desc, digest: D.toUpperCase() } }, 'MANIFEST_INVALID'],
      ['negative size', { ...image, config: { ...desc, size: -1 } }, 'MANIFEST_INVALID'],
      ['float size', { ...image, config: { ...desc, size: 1.5 } }, 'MANIFEST_INVALID'],
      ['size as string', { ...image, config: { ...desc, size: '3' } }, 'MANIFEST_INVALID'],
      ['bad mediaType', { ...image, config: { ...desc, mediaType: 'nope' } }, 'MANIFEST_INVALID'],
      ['annotation not string', { ...image, annotations: { a: 1 } }, 'MANIFEST_INVALID'],
      ['bad artifactType', { ...image, artifactType: 'x' }, 'MANIFEST_INVALID'],
      ['bad subject', { ...image, subject: { digest: D } }, 'MANIFEST_INVALID'],
      ['bad platform', { ...index, manifests: [{ ...desc, platform: { os: 'linux' } }] }, 'MANIFEST_INVALID'],
      ['bad data', { ...image, config: { ...desc, data: '***' } }, 'MANIFEST_INVALID'],
      ['urls not strings', { ...image, config: { ...desc, urls: [1] } }, 'MANIFEST_INVALID'],
      ['duplicate key', '{"schemaVersion":2,"schemaVersion":2}', 'MANIFEST_INVALID'],
    ];
    for (const [name, doc, c] of bad) {
      it(`refuses ${name} with ${c}`, () => {
        assert.throws(() => parseManifest(enc(doc)), code(c));
      });
    }
    it('bounds size and entry count', () => {
      assert.throws(() => parseManifest(enc(image), { maxBytes: 10 }), code('INPUT_TOO_LARGE'));
      assert.throws(() => parseManifest(enc({ ...image, layers: [desc, desc, desc] }), { maxEntries: 2 }), code('MANIFEST_INVALID'));
    });
    it('parseImageIndex / parseImageManifest insist on the kind', () => {
      assert.throws(() => parseImageIndex(enc(image)), code('MANIFEST_INVALID'));
      assert.throws(() => parseImageManifest(enc(index)), code('MANIFEST_INVALID'));
      assert.throws(() => parseDescriptor(null), code('MANIFEST_INVALID'));
    });
    it('never lets anything but an OcitrustError escape on junk', () => {
      fc.assert(
        fc.property(fc.oneof(fc.json(), fc.string(), fc.constant(JSON.stringify(image))), fc.uint8Array({ maxLength: 8 }), (s, noise) => {
          const bytes = new Uint8Array([...new TextEncoder().encode(s), ...noise.slice(0, noise.length % 2)]);
          try {
            parseManifest(bytes);
          } catch (e) {
            assert.ok(e instanceof OcitrustError, String(e));
          }
        }),
        { numRuns: 1000 },
      );
    });
  });
});
