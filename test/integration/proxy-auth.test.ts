// The proxy in front of docker-registry with bearer token auth (docker token spec): the
// upstream's challenges reach skopeo through the proxy and its token flow works (the client's
// Authorization goes upstream untouched), the token realm is rewritten only as configured,
// the proxy verifies with its own upstream credentials, and no credential reaches the log.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { HttpRegistryClient } from '../../lib/oci/client.js';
import { staticCredentials } from '../../lib/oci/credentials.js';
import { startDistribution, startTokenServer, type Distribution, type TokenServer } from '../helpers/distribution.js';
import { makeImage, missingPrograms, runSkopeo, skopeoPush, writeOciLayout } from '../helpers/oci-layout.js';
import { publishCollection, sign, startProxyServer, type ProxyServer, type PublishedCollection } from '../helpers/proxy.js';
import { tokenFor } from '../helpers/trust-server.js';

const skip = missingPrograms('docker-registry', 'skopeo', 'openssl');
const USER = 'puller';
const PASSWORD = 'pw-9f8e7d6c5b4a-secret';

/** Another address of the token service: forwards to it and counts what it forwarded. */
async function tokenAlias(target: string): Promise<{ url: string; hits: number; close(): Promise<void> }> {
  const state = { hits: 0 };
  const server: Server = createServer((req, res) => {
    state.hits++;
    void fetch(`${target}${req.url}`, { headers: req.headers.authorization ? { authorization: req.headers.authorization } : {} }).then(async (r) => {
      res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' }).end(Buffer.from(await r.arrayBuffer()));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get hits() {
      return state.hits;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('proxy in front of a token-auth registry', { skip }, () => {
  let dir: string;
  let tokens: TokenServer;
  let upstream: Distribution;
  let alias: Awaited<ReturnType<typeof tokenAlias>>;
  let proxy: ProxyServer;
  let coll: PublishedCollection;
  let publisher: string;
  let log = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ocitrust-proxy-auth-'));
    tokens = await startTokenServer({ user: USER, password: PASSWORD });
    upstream = await startDistribution({ token: tokens });
    alias = await tokenAlias(tokens.url);
    const sink = new Writable({
      write(chunk, _enc, cb) {
        log += chunk.toString();
        cb();
      },
    });
    proxy = await startProxyServer({
      upstream: upstream.url,
      upstreamCredentials: staticCredentials({ [upstream.host]: { username: USER, password: PASSWORD } }),
      realmRewrite: { [`${tokens.url}/`]: `${alias.url}/` },
      app: { logger: { level: 'debug', stream: sink } as never },
    });
    coll = await publishCollection(proxy.app, `${upstream.host}/team/app`, ['alice']);
    publisher = await tokenFor(proxy.app, 'publisher', [`${upstream.host}/**`], 'ci');
  });
  after(async () => {
    await proxy?.close();
    await alias?.close();
    await upstream?.stop();
    await tokens?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('passes the upstream challenge on, with the realm rewritten as configured', async () => {
    const r = await fetch(`${proxy.url}/v2/`);
    assert.equal(r.status, 401);
    const challenge = String(r.headers.get('www-authenticate'));
    assert.match(challenge, /^Bearer /);
    assert.ok(challenge.includes(`realm="${alias.url}/token"`), challenge);
    assert.ok(challenge.includes(`service="${tokens.service}"`), challenge);
  });

  it('lets skopeo run the token flow through the proxy and pull a signed image; refuses an unsigned one', async () => {
    const creds = `${USER}:${PASSWORD}`;
    const src = join(dir, 'src');
    await writeOciLayout(src, [
      { tag: 'v1', content: makeImage() },
      { tag: 'unsigned', content: makeImage() },
    ]);
    await skopeoPush(src, 'v1', `${upstream.host}/team/app:v1`, creds);
    await skopeoPush(src, 'unsigned', `${upstream.host}/team/app:unsigned`, creds);
    const client = new HttpRegistryClient({ credentials: staticCredentials({ [upstream.host]: { username: USER, password: PASSWORD } }) });
    await sign(`${upstream.host}/team/app:v1`, coll.signers.get('alice')!, 'alice', client);

    const aliasBefore = alias.hits;
    const tokensBefore = tokens.requests.length;
    const ok = await runSkopeo(['copy', '--src-tls-verify=false', '--src-creds', creds, `docker://${proxy.host}/team/app:v1`, `oci:${join(dir, 'out')}:v1`]);
    assert.equal(ok.code, 0, ok.stderr);
    const viaAlias = alias.hits - aliasBefore;
    assert.ok(viaAlias > 0, 'skopeo fetched its token from the rewritten realm');
    // The proxy's own reads (referrers, fallback index) get their token from the real realm.
    const direct = tokens.requests.slice(tokensBefore).length - viaAlias;
    assert.ok(direct > 0, 'the proxy verified with its own upstream credentials');
    assert.ok(tokens.requests.slice(tokensBefore).every((t) => t.authorized));

    const denied = await runSkopeo(['copy', '--src-tls-verify=false', '--src-creds', creds, `docker://${proxy.host}/team/app:unsigned`, `oci:${join(dir, 'out2')}:x`]);
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /denied.*NO_SIGNATURES/);
  });

  it('answers a client without upstream credentials with the upstream\'s challenge, not with a verdict', async () => {
    const r = await fetch(`${proxy.url}/v2/team/app/manifests/v1`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(r.status, 401);
    assert.match(String(r.headers.get('www-authenticate')), /scope="repository:team\/app:pull"/);
  });

  it('never writes credentials to the log', async () => {
    // A request carrying every kind of secret: the upstream Basic pair and an ocitrust token.
    await fetch(`${proxy.url}/v2/team/app/tags/list`, {
      headers: { authorization: 'Basic ' + Buffer.from(`${USER}:${PASSWORD}`).toString('base64'), 'x-ocitrust-token': publisher },
    });
    await fetch(`${proxy.url}/v2/team/app/manifests/v1`, { headers: { 'x-ocitrust-token': publisher } });
    assert.ok(log.length > 0, 'the proxy logged requests');
    assert.ok(log.includes('/v2/team/app/manifests/v1'), 'request lines are logged');
    for (const secret of [PASSWORD, publisher, Buffer.from(`${USER}:${PASSWORD}`).toString('base64')]) {
      assert.ok(!log.includes(secret), 'a credential reached the log');
    }
    assert.ok(!/eyJ[A-Za-z0-9_-]{10,}\.eyJ/.test(log), 'a bearer JWT reached the log');
  });
});
