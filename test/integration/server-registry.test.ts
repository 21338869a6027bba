// The embedded OCI registry mounted at /v2/ on the trust server's listener, with the trust
// server's tokens: skopeo (a real OCI client) pushes with a publisher token as Basic credentials
// and pulls anonymously; a reader may not push; every denial is audited; the TUF routes work on
// the same listener.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../server/main.js';
import { makeImage, missingPrograms, skopeoPull, skopeoPush, writeOciLayout } from '../helpers/oci-layout.js';
import { TEST_SCRYPT, TEST_SECRET, tokenFor } from '../helpers/trust-server.js';

const REPO = 'team/app';

describe('embedded registry on the trust server', { skip: missingPrograms('skopeo') }, () => {
  let dir: string;
  let server: RunningServer;
  let publisher: string;
  let reader: string;
  let host: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ocitrust-server-registry-'));
    server = await startServer({ dataDir: join(dir, 'data'), port: 0, secret: TEST_SECRET, scrypt: TEST_SCRYPT, logger: false, handleSignals: false });
    host = new URL(server.url).host;
    // Patterns name repositories as collections do: the registry's name (here its listener address) first.
    publisher = await tokenFor(server.app, 'publisher', [`${host}/team/*`], 'ci');
    reader = await tokenFor(server.app, 'reader', [`${host}/team/*`], 'viewer');
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers the distribution API base and keeps the TUF routes on the same listener', async () => {
    const ping = await fetch(`${server.url}/v2/`);
    assert.equal(ping.status, 401, 'the version check challenges so that clients with a token send it');
    assert.match(String(ping.headers.get('www-authenticate')), /^Basic realm="ocitrust"/);
    const anonymous = await fetch(`${server.url}/v2/`, { headers: { authorization: 'Basic ' + Buffer.from(':').toString('base64') } });
    assert.equal(anonymous.status, 200, 'empty credentials are anonymous, and anonymous reads are on');
    assert.equal(anonymous.headers.get('docker-distribution-api-version'), 'registry/2.0');
    assert.equal((await fetch(`${server.url}/v2/`, { headers: { authorization: `Bearer ${reader}` } })).status, 200);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    const missing = await fetch(`${server.url}/v1/collections/team/app/timestamp.json`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { code: string }).code, 'COLLECTION_NOT_FOUND');
  });

  it('lets skopeo push with a publisher token (Basic credentials) and pull anonymously', async () => {
    const image = makeImage();
    const src = join(dir, 'src');
    await writeOciLayout(src, [{ tag: 'v1', content: image }]);
    await skopeoPush(src, 'v1', `${host}/${REPO}:v1`, `ci:${publisher}`);
    const out = join(dir, 'out');
    await skopeoPull(`${host}/${REPO}:v1`, out, 'v1');
    const res = await fetch(`${server.url}/v2/${REPO}/manifests/v1`, { headers: { accept: image.manifest.mediaType } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('docker-content-digest'), image.manifest.digest);
  });

  it('refuses pushes without a token (401 + Basic challenge) and by a reader (403), audited', async () => {
    const anon = await fetch(`${server.url}/v2/${REPO}/blobs/uploads/`, { method: 'POST' });
    assert.equal(anon.status, 401);
    assert.match(String(anon.headers.get('www-authenticate')), /^Basic realm="ocitrust"/);
    assert.equal(((await anon.json()) as { errors: { code: string }[] }).errors[0]!.code, 'UNAUTHORIZED');
    const denied = await fetch(`${server.url}/v2/${REPO}/blobs/uploads/`, { method: 'POST', headers: { authorization: `Bearer ${reader}` } });
    assert.equal(denied.status, 403);
    assert.equal(((await denied.json()) as { errors: { code: string }[] }).errors[0]!.code, 'DENIED');
    const bad = await fetch(`${server.url}/v2/${REPO}/tags/list`, { headers: { authorization: 'Basic ' + Buffer.from('x:not-a-token').toString('base64') } });
    assert.equal(bad.status, 401);
    const entries = (await server.app.ocitrust.audit.query({ outcome: 'denied' })).entries;
    assert.deepEqual(entries.slice(0, 3).map((e) => [e.action, e.code]), [
      ['GET /v2/*', 'AUTH_TOKEN_INVALID'],
      ['registry.push', 'PERMISSION_DENIED'],
      ['registry.push', 'AUTH_REQUIRED'],
    ]);
  });
});
