import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HttpRegistryClient, resolveManifest } from '../../../lib/oci/client.js';
import { anonymous } from '../../../lib/oci/credentials.js';
import { parseReference } from '../../../lib/reference.js';
import { MemoryRegistryClient } from '../../helpers/memory-registry-client.js';
import { makeImage } from '../../helpers/oci-layout.js';
import { OCI_MANIFEST } from '../../../lib/oci/types.js';

describe('oci/client', () => {
  describe('#baseUrl', () => {
    it('uses HTTPS by default, plain HTTP for loopback or when allowed', () => {
      const c = new HttpRegistryClient({ credentials: anonymous, plainHttp: ['insecure.local:5000'] });
      assert.equal(c.baseUrl('ghcr.io'), 'https://ghcr.io');
      assert.equal(c.baseUrl('docker.io'), 'https://registry-1.docker.io');
      assert.equal(c.baseUrl('127.0.0.1:5000'), 'http://127.0.0.1:5000');
      assert.equal(c.baseUrl('localhost:5000'), 'http://localhost:5000');
      assert.equal(c.baseUrl('[::1]:5000'), 'http://[::1]:5000');
      assert.equal(c.baseUrl('insecure.local:5000'), 'http://insecure.local:5000');
      assert.equal(c.baseUrl('secure.local:5000'), 'https://secure.local:5000');
      assert.equal(new HttpRegistryClient({ credentials: anonymous, plainHttp: true }).baseUrl('x.io'), 'http://x.io');
    });
  });

  describe('#resolveManifest', () => {
    it('prefers the digest, else the tag, else latest', async () => {
      const c = new MemoryRegistryClient();
      const a = makeImage();
      const b = makeImage();
      const repo = parseReference('reg.test/app');
      await c.putManifest(repo, 'latest', a.manifest.bytes, OCI_MANIFEST);
      await c.putManifest(repo, 'v2', b.manifest.bytes, OCI_MANIFEST);
      assert.equal((await resolveManifest(c, parseReference('reg.test/app'))).digest, a.manifest.digest);
      assert.equal((await resolveManifest(c, parseReference('reg.test/app:v2'))).digest, b.manifest.digest);
      assert.equal((await resolveManifest(c, parseReference(`reg.test/app:v2@${a.manifest.digest}`))).digest, a.manifest.digest);
    });
  });
});
