// Push through the proxy, sign, pull through the proxy (issue 7), against docker-registry:
// skopeo pushes through the proxy (upload sessions with Location rewriting, streamed bodies);
// the unsigned image is refused; a signing tool reads the manifest through the proxy only with
// a publisher token of the collection (X-Ocitrust-Token, or the token as its Authorization),
// never because of its User-Agent; after signing, skopeo pulls the image through the proxy.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isOcitrustError } from '../../lib/errors/index.js';
import { startDistribution, type Distribution } from '../helpers/distribution.js';
import { makeImage, missingPrograms, runSkopeo, skopeoPush, writeOciLayout } from '../helpers/oci-layout.js';
import { plainClient, publishCollection, sign, startProxyServer, viaProxyFetch, type ProxyServer, type PublishedCollection } from '../helpers/proxy.js';
import { tokenFor } from '../helpers/trust-server.js';
import { tokenForOwnHost } from '../../cli/server-token-fetch.js';

const skip = missingPrograms('docker-registry', 'skopeo');
const OCI_ACCEPT = 'application/vnd.oci.image.manifest.v1+json';

describe('push through the proxy, sign, pull through the proxy', { skip }, () => {
  let dir: string;
  let upstream: Distribution;
  let proxy: ProxyServer;
  let coll: PublishedCollection;
  let name: string;
  let publisher: string;
  let otherPublisher: string;
  let reader: string;
  const image = makeImage();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ocitrust-proxy-push-'));
    upstream = await startDistribution();
    proxy = await startProxyServer({ upstream: upstream.url });
    name = `${upstream.host}/team/app`;
    coll = await publishCollection(proxy.app, name, ['alice']);
    publisher = await tokenFor(proxy.app, 'publisher', [`${upstream.host}/team/*`], 'ci');
    otherPublisher = await tokenFor(proxy.app, 'publisher', [`${upstream.host}/other/*`], 'other-ci');
    reader = await tokenFor(proxy.app, 'reader', ['**'], 'viewer');
  });
  after(async () => {
    await proxy?.close();
    await upstream?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('pushes with skopeo through the proxy: uploads are streamed and their Locations made proxy-relative', async () => {
    const src = join(dir, 'src');
    await writeOciLayout(src, [{ tag: 'v1', content: image }]);
    await skopeoPush(src, 'v1', `${proxy.host}/team/app:v1`);
    const direct = await fetch(`${upstream.url}/v2/team/app/manifests/v1`, { headers: { accept: OCI_ACCEPT } });
    assert.equal(direct.status, 200);
    assert.equal(direct.headers.get('docker-content-digest'), image.manifest.digest);
    const start = await fetch(`${proxy.url}/v2/team/app/blobs/uploads/`, { method: 'POST' });
    assert.equal(start.status, 202);
    assert.match(String(start.headers.get('location')), /^\/v2\/team\/app\/blobs\/uploads\/[0-9a-f-]+\?_state=/);
    await fetch(`${proxy.url}${start.headers.get('location')}`, { method: 'DELETE' });
  });

  it('refuses the unsigned image through the proxy', async () => {
    const r = await fetch(`${proxy.url}/v2/team/app/manifests/v1`, { headers: { accept: OCI_ACCEPT } });
    assert.equal(r.status, 403);
    const body = (await r.json()) as { errors: { code: string; message: string }[] };
    assert.equal(body.errors[0]!.code, 'DENIED');
    assert.match(body.errors[0]!.message, /NO_SIGNATURES/);
  });

  it('does not let a signing tool read the manifest without a publisher token, whatever it claims to be', async () => {
    const attempts: Record<string, string>[] = [
      { 'user-agent': 'notation/1.0', accept: OCI_ACCEPT },
      { 'user-agent': 'ocitrust-signer', 'x-ocitrust-token': reader, accept: OCI_ACCEPT },
      { 'x-ocitrust-token': otherPublisher, accept: OCI_ACCEPT },
    ];
    for (const headers of attempts) {
      const r = await fetch(`${proxy.url}/v2/team/app/manifests/v1`, { headers });
      assert.equal(r.status, 403, JSON.stringify(headers['user-agent'] ?? 'token'));
    }
    const bad = await fetch(`${proxy.url}/v2/team/app/manifests/v1`, { headers: { 'x-ocitrust-token': 'ocit_' + 'A'.repeat(43), accept: OCI_ACCEPT } });
    assert.equal(bad.status, 401);
    assert.equal(((await bad.json()) as { errors: { code: string }[] }).errors[0]!.code, 'UNAUTHORIZED');
    // The library signer through the proxy without a token fails on reading the manifest.
    await assert.rejects(
      sign(`${name}:v1`, coll.signers.get('alice')!, 'alice', plainClient(viaProxyFetch(upstream.host, proxy.host))),
      (e: unknown) => isOcitrustError(e, 'REGISTRY_DENIED'),
    );
  });

  it('lets a publisher of the collection read it (X-Ocitrust-Token or the token as Authorization), audited', async () => {
    const viaHeader = await fetch(`${proxy.url}/v2/team/app/manifests/v1`, { headers: { 'x-ocitrust-token': publisher, accept: OCI_ACCEPT } });
    assert.equal(viaHeader.status, 200);
    assert.equal(viaHeader.headers.get('docker-content-digest'), image.manifest.digest);
    assert.deepEqual(new Uint8Array(await viaHeader.arrayBuffer()), image.manifest.bytes);
    const viaAuth = await fetch(`${proxy.url}/v2/team/app/manifests/${image.manifest.digest}`, {
      method: 'HEAD',
      headers: { authorization: 'Basic ' + Buffer.from(`ci:${publisher}`).toString('base64'), accept: OCI_ACCEPT },
    });
    assert.equal(viaAuth.status, 200);
    assert.equal(viaAuth.headers.get('content-length'), String(image.manifest.size));
    const bypasses = (await proxy.app.ocitrust.audit.query({ actor: 'ci' })).entries.filter((e) => e.action === 'proxy.bypass');
    assert.ok(bypasses.length >= 2);
    assert.equal(bypasses[0]!.collection, name);
  });

  it('signs through the proxy with the publisher token the CLI sends to its trust server host, then skopeo pulls through the proxy', async () => {
    // The CLI's registry fetch (cli/server-token-fetch.ts): the names in trust data say
    // upstream.host, the requests go to the proxy, which is the trust server's own host.
    const cliFetch = tokenForOwnHost(proxy.host, async () => publisher, (url, init) => fetch(url, init));
    const client = plainClient(((input: string | URL | Request, init?: RequestInit) => {
      const u = new URL(String(input));
      if (u.host === upstream.host) u.host = proxy.host;
      return cliFetch(u.toString(), init ?? {});
    }) as typeof fetch);
    const digest = await sign(`${name}:v1`, coll.signers.get('alice')!, 'alice', client);
    assert.equal(digest, image.manifest.digest);
    const out = join(dir, 'out');
    const r = await runSkopeo(['copy', '--src-tls-verify=false', `docker://${proxy.host}/team/app:v1`, `oci:${out}:v1`]);
    assert.equal(r.code, 0, r.stderr);
  });
});
