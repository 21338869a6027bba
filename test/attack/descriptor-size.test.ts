/**
 * Attack (issue 12, item 14): a descriptor `size` written `2.0` was stored by the embedded
 * registry. Go clients (containerd, distribution, skopeo) decode sizes into int64 and refuse
 * `2.0`, `1e3` and anything fractional or beyond int64, so a registry that stores such a
 * manifest serves something they cannot pull, and a client that accepts one from a registry
 * disagrees with them about what it verified. Integers only, written as integers:
 *  - the embedded registry refuses the push with MANIFEST_INVALID (distribution error shape);
 *  - our client refuses such a manifest (and referrers index) from a registry, with a code.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { isOcitrustError } from '../../lib/errors/index.js';
import { HttpRegistryClient } from '../../lib/oci/client.js';
import { startEmbeddedRegistry, type EmbeddedRegistry } from '../helpers/embedded-registry.js';
import { startHostileRegistry, type HostileRegistry } from '../helpers/hostile-registry.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const sha = (b: Uint8Array | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
const layer = randomBytes(1000);

/** Manifest text with the layer size written as `size` (a JSON number lexeme). */
function manifestText(size: string, schemaVersion = '2'): string {
  return (
    `{"schemaVersion":${schemaVersion},"mediaType":"${OCI_MANIFEST}",` +
    `"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"${sha(config)}","size":${config.length}},` +
    `"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"${sha(layer)}","size":${size}}]}`
  );
}

// Each spelling of the layer's size that an int64 decoder refuses; the first ones even equal 1000.
const BAD_SIZES = ['1000.0', '1e3', '1E3', '1.0e3', '10000e-1', '1000.5', '-1', '-0', '2.5', '9007199254740993', '1e400', '18446744073709551616'];

describe('attack: descriptor sizes that are not written as integers', () => {
  let reg: EmbeddedRegistry;
  before(async () => {
    reg = await startEmbeddedRegistry();
    for (const b of [config, layer]) {
      const r = await fetch(`${reg.url}/v2/attack/size/blobs/uploads/?digest=${sha(b)}`, { method: 'POST', body: b, headers: { 'content-type': 'application/octet-stream' } });
      assert.equal(r.status, 201);
    }
  });
  after(async () => {
    await reg?.close();
  });

  it('the embedded registry takes the size written as an integer (the baseline)', async () => {
    const r = await fetch(`${reg.url}/v2/attack/size/manifests/ok`, { method: 'PUT', body: manifestText('1000'), headers: { 'content-type': OCI_MANIFEST } });
    assert.equal(r.status, 201, await r.text());
  });

  for (const size of BAD_SIZES) {
    it(`the embedded registry refuses size ${size} with MANIFEST_INVALID and stores nothing`, async () => {
      const text = manifestText(size);
      const r = await fetch(`${reg.url}/v2/attack/size/manifests/t-${BAD_SIZES.indexOf(size)}`, { method: 'PUT', body: text, headers: { 'content-type': OCI_MANIFEST } });
      const body = (await r.json()) as { errors?: { code: string; message: string }[] };
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(body.errors?.[0]?.code, 'MANIFEST_INVALID', JSON.stringify(body));
      assert.equal((await fetch(`${reg.url}/v2/attack/size/manifests/${sha(text)}`, { method: 'HEAD' })).status, 404);
    });
  }

  it('the embedded registry refuses schemaVersion 2.0', async () => {
    const r = await fetch(`${reg.url}/v2/attack/size/manifests/sv`, { method: 'PUT', body: manifestText('1000', '2.0'), headers: { 'content-type': OCI_MANIFEST } });
    const body = (await r.json()) as { errors?: { code: string }[] };
    assert.equal(r.status, 400);
    assert.equal(body.errors?.[0]?.code, 'MANIFEST_INVALID');
  });
});

describe('attack: a registry serving descriptor sizes that are not integers', () => {
  let hostile: HostileRegistry;
  let served = manifestText('1000.0');
  const subject = sha('subject');
  before(async () => {
    hostile = await startHostileRegistry((req, res) => {
      const url = req.url ?? '';
      if (url === '/v2/') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      if (url.includes('/referrers/')) {
        const index = `{"schemaVersion":2,"mediaType":"${OCI_INDEX}","manifests":[{"mediaType":"${OCI_MANIFEST}","digest":"${sha('x')}","size":2.0,"artifactType":"application/vnd.example"}]}`;
        return void res.writeHead(200, { 'content-type': OCI_INDEX }).end(index);
      }
      if (url.includes('/manifests/')) return void res.writeHead(200, { 'content-type': OCI_MANIFEST, 'docker-content-digest': sha(served) }).end(served);
      res.writeHead(404).end();
    });
  });
  after(async () => {
    await hostile?.stop();
  });

  const client = () => new HttpRegistryClient({ credentials: async () => undefined, plainHttp: true, retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1, maxTotalMs: 1000 } });
  const refused = (e: unknown): boolean => {
    assert.ok(isOcitrustError(e), String(e));
    assert.ok(['MANIFEST_INVALID', 'REGISTRY_BAD_RESPONSE'].includes(e.code), `${e.code}: ${e.message}`);
    assert.match(e.message, /integer/);
    return true;
  };

  it('a manifest whose descriptor size is not an integer lexeme is refused, by tag and by digest', async () => {
    const repo = { registry: hostile.host, path: 'evil/app' };
    for (const size of ['1000.0', '1e3', '10000e-1']) {
      served = manifestText(size);
      await assert.rejects(client().getManifest(repo, 'v1'), refused);
      await assert.rejects(client().getManifest(repo, sha(served)), refused);
    }
    served = manifestText('1000');
    assert.equal((await client().getManifest(repo, 'v1')).digest, sha(served));
  });

  it('a referrers index whose descriptor size is 2.0 is refused', async () => {
    await assert.rejects(client().getReferrers({ registry: hostile.host, path: 'evil/app' }, subject), refused);
  });
});
