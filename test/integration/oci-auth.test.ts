// Registry authentication against real software: docker-registry behind htpasswd basic auth
// and behind the bearer token flow (a tiny token server on 127.0.0.1 signing ES256 JWTs),
// with credentials from a Docker config file and from a docker-credential-<name> helper.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, chmod, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDistribution, startTokenServer, type Distribution, type TokenServer } from '../helpers/distribution.js';
import { makeImage, writeOciLayout, skopeoPush, missingPrograms } from '../helpers/oci-layout.js';
import { HttpRegistryClient } from '../../lib/oci/client.js';
import { anonymous, dockerConfigCredentials, runCredentialHelper, staticCredentials } from '../../lib/oci/credentials.js';
import { pushSignature, listSignatures } from '../../lib/oci/referrers.js';
import { OCI_MANIFEST } from '../../lib/oci/types.js';
import { isOcitrustError } from '../../lib/errors/index.js';

const USER = 'alice';
const PASSWORD = 'correct horse battery staple';
const image = makeImage();
const envelope = new TextEncoder().encode('{"payloadType":"t","payload":"","signatures":[]}');

async function roundTrip(client: HttpRegistryClient, host: string, path: string): Promise<void> {
  const repo = { registry: host, path };
  for (const b of image.blobs) await client.pushBlob(repo, b.bytes, { chunkSize: 64 });
  await client.putManifest(repo, 'v1', image.manifest.bytes, OCI_MANIFEST);
  const m = await client.getManifest(repo, 'v1');
  assert.equal(m.digest, image.manifest.digest);
  const sig = await pushSignature(client, repo, { mediaType: OCI_MANIFEST, digest: m.digest, size: m.size }, envelope);
  const l = await listSignatures(client, repo, m.digest, { complete: true });
  assert.deepEqual(l.descriptors.map((d) => d.digest), [sig.digest]);
}

describe('registry auth', () => {
  describe('basic auth (htpasswd)', { skip: missingPrograms('docker-registry', 'htpasswd', 'skopeo') }, () => {
    let reg: Distribution;
    let home: string;
    before(async () => {
      reg = await startDistribution({ htpasswd: { user: USER, password: PASSWORD } });
      home = await mkdtemp(join(tmpdir(), 'ocitrust-dockercfg-'));
    });
    after(async () => {
      await reg?.stop();
      if (home) await rm(home, { recursive: true, force: true });
    });

    it('anonymous access and a wrong password are REGISTRY_AUTH_FAILED', async () => {
      const repo = { registry: reg.host, path: 'team/app' };
      await assert.rejects(new HttpRegistryClient({ credentials: anonymous }).getManifest(repo, 'v1'), (e: unknown) => isOcitrustError(e, 'REGISTRY_AUTH_FAILED'));
      const wrong = new HttpRegistryClient({ credentials: staticCredentials({ [reg.host]: { username: USER, password: 'nope' } }) });
      await assert.rejects(wrong.getManifest(repo, 'v1'), (e: unknown) => isOcitrustError(e, 'REGISTRY_AUTH_FAILED'));
    });

    it('credentials from a Docker config `auths` entry (base64 auth) push, pull and sign', async () => {
      await writeFile(join(home, 'config.json'), JSON.stringify({ auths: { [`http://${reg.host}/v2/`]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } } }));
      const client = new HttpRegistryClient({ credentials: dockerConfigCredentials({ env: { DOCKER_CONFIG: home } }) });
      await roundTrip(client, reg.host, 'team/app');
    });

    it('skopeo pushes with the same credentials and our client reads the image', async () => {
      const layout = await mkdtemp(join(tmpdir(), 'ocitrust-layout-'));
      try {
        const im = makeImage();
        await writeOciLayout(layout, [{ tag: 't', content: im }]);
        await skopeoPush(layout, 't', `${reg.host}/team/skopeo:v1`, `${USER}:${PASSWORD}`);
        const client = new HttpRegistryClient({ credentials: staticCredentials({ [reg.host]: { username: USER, password: PASSWORD } }) });
        assert.equal((await client.getManifest({ registry: reg.host, path: 'team/skopeo' }, 'v1')).digest, im.manifest.digest);
      } finally {
        await rm(layout, { recursive: true, force: true });
      }
    });

    it('credentials from a credential helper (credHelpers), run with the server on stdin', async () => {
      const bin = join(home, 'bin');
      await mkdir(bin, { recursive: true });
      const helper = join(bin, 'docker-credential-ocitrust-test');
      await writeFile(
        helper,
        `#!/bin/sh\n[ "$1" = get ] || exit 2\nread server\nif [ "$server" = "${reg.host}" ]; then printf '{"ServerURL":"%s","Username":"${USER}","Secret":"${PASSWORD}"}' "$server"; else echo "credentials not found in native keychain"; exit 1; fi\n`,
      );
      await chmod(helper, 0o755);
      await writeFile(join(home, 'config.json'), JSON.stringify({ credHelpers: { [reg.host]: 'ocitrust-test' } }));
      const env = { DOCKER_CONFIG: home, PATH: `${bin}:${process.env.PATH}` };
      const client = new HttpRegistryClient({ credentials: dockerConfigCredentials({ env }) });
      await roundTrip(client, reg.host, 'team/helper');
      assert.equal(await runCredentialHelper('ocitrust-test', 'other.example', { env }), undefined, '"not found" means anonymous');
    });
  });

  describe('bearer token flow', { skip: missingPrograms('docker-registry', 'openssl') }, () => {
    let tokens: TokenServer;
    let reg: Distribution;
    before(async () => {
      tokens = await startTokenServer({ user: USER, password: PASSWORD });
      reg = await startDistribution({ token: tokens });
    });
    after(async () => {
      await reg?.stop();
      await tokens?.stop();
    });

    it('gets a token from the realm with service and scope, and reuses it until expiry', async () => {
      const client = new HttpRegistryClient({ credentials: staticCredentials({ [reg.host]: { username: USER, password: PASSWORD } }) });
      const before = tokens.requests.length;
      await roundTrip(client, reg.host, 'team/app');
      const mine = tokens.requests.slice(before);
      assert.ok(mine.length >= 1);
      assert.ok(mine.every((r) => r.authorized && r.service === tokens.service));
      assert.ok(mine.some((r) => r.scope.includes('repository:team/app:pull,push')));
      // Many more calls on the same scopes need no new token.
      const n = tokens.requests.length;
      for (let i = 0; i < 5; i++) await client.getManifest({ registry: reg.host, path: 'team/app' }, 'v1');
      assert.equal(tokens.requests.length, n, 'token reused');
      const distinct = new Set(mine.map((r) => r.scope.slice().sort().join(' ')));
      assert.equal(mine.length, distinct.size, 'one token request per distinct scope set');
    });

    it('wrong credentials at the token service → REGISTRY_AUTH_FAILED', async () => {
      const client = new HttpRegistryClient({ credentials: staticCredentials({ [reg.host]: { username: USER, password: 'wrong' } }) });
      await assert.rejects(client.getManifest({ registry: reg.host, path: 'team/app' }, 'v1'), (e: unknown) => {
        assert.ok(isOcitrustError(e, 'REGISTRY_AUTH_FAILED'));
        assert.ok(!e.message.includes('wrong'));
        return true;
      });
    });

    it('a token that expires is fetched again', async () => {
      const short = await startTokenServer({ user: USER, password: PASSWORD, expiresIn: 1 });
      const r2 = await startDistribution({ token: short });
      try {
        const client = new HttpRegistryClient({ credentials: staticCredentials({ [r2.host]: { username: USER, password: PASSWORD } }) });
        const repo = { registry: r2.host, path: 'x/y' };
        await assert.rejects(client.getManifest(repo, 'v1'), (e: unknown) => isOcitrustError(e, 'MANIFEST_NOT_FOUND'));
        const n = short.requests.length;
        await assert.rejects(client.getManifest(repo, 'v1'), (e: unknown) => isOcitrustError(e, 'MANIFEST_NOT_FOUND'));
        assert.ok(short.requests.length > n, 'expired (1 s, within the safety margin) → new token');
      } finally {
        await r2.stop();
        await short.stop();
      }
    });
  });
});
