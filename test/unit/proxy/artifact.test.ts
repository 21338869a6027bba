// Which manifests pull enforcement verifies (server/proxy/artifact.ts): runnable images and
// indexes that may list them; artifacts (signatures, the referrers fallback index) pass.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { classifyManifest } from '../../../server/proxy/artifact.js';
import { DOCKER_CONFIG, EMPTY_DESCRIPTOR, OCI_CONFIG, OCI_INDEX, OCI_MANIFEST, SIGNATURE_ARTIFACT_TYPE, type ImageIndex, type ImageManifest } from '../../../lib/oci/types.js';

const d = (mediaType: string, extra: Record<string, unknown> = {}) => ({ mediaType, digest: `sha256:${'1'.repeat(64)}`, size: 10, ...extra });
const manifest = (config: string, extra: Partial<ImageManifest> = {}): ImageManifest => ({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: d(config), layers: [d('application/vnd.oci.image.layer.v1.tar+gzip')], ...extra });
const index = (manifests: ImageIndex['manifests']): ImageIndex => ({ schemaVersion: 2, mediaType: OCI_INDEX, manifests });

describe('classifyManifest', () => {
  it('image manifests with an OCI or Docker image config are images', () => {
    assert.equal(classifyManifest(manifest(OCI_CONFIG)), 'image');
    assert.equal(classifyManifest(manifest(DOCKER_CONFIG)), 'image');
  });

  it('an image with a subject and an artifactType is still an image (no way around enforcement)', () => {
    assert.equal(classifyManifest(manifest(OCI_CONFIG, { subject: d(OCI_MANIFEST), artifactType: SIGNATURE_ARTIFACT_TYPE })), 'image');
  });

  it('signature manifests and other artifacts (non-image config) are artifacts', () => {
    assert.equal(classifyManifest({ ...manifest(EMPTY_DESCRIPTOR.mediaType), artifactType: SIGNATURE_ARTIFACT_TYPE, subject: d(OCI_MANIFEST) }), 'artifact');
    assert.equal(classifyManifest(manifest('application/vnd.cncf.notary.signature')), 'artifact');
  });

  it('an index whose every entry declares an artifactType (the referrers fallback index) is an artifact', () => {
    assert.equal(classifyManifest(index([d(OCI_MANIFEST, { artifactType: SIGNATURE_ARTIFACT_TYPE }), d(OCI_MANIFEST, { artifactType: 'application/spdx+json' })])), 'artifact');
  });

  it('an index with any plain entry, or none, is an index to verify', () => {
    assert.equal(classifyManifest(index([d(OCI_MANIFEST, { artifactType: SIGNATURE_ARTIFACT_TYPE }), d(OCI_MANIFEST, { platform: { os: 'linux', architecture: 'amd64' } })])), 'index');
    assert.equal(classifyManifest(index([d(OCI_MANIFEST, { artifactType: '' })])), 'index');
    assert.equal(classifyManifest(index([])), 'index');
  });
});
