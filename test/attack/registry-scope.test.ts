// Attack (issue 12 item 9): the embedded registry matched token patterns against the bare
// repository path (`team/app`) instead of the collection-qualified name (`host:port/team/app`),
// which is what the patterns mean on the trust API and the proxy. So a publisher token scoped
// to `host:port/team/app` could not push its signatures (`trust sign` failed), while a token for
// the host-less `team/app` could push, pull and delete there, and passed the pull gate's
// publisher bypass. Scoped tokens in both directions, against real listening servers: the
// embedded registry named by its listener address, the embedded registry with a configured
// name and pull enforcement, and the verifying proxy in front of another registry.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../server/main.js';
import { registryEnforcement } from '../../server/proxy/embedded.js';
import { startEmbeddedRegistry, type EmbeddedRegistry } from '../helpers/embedded-registry.js';
import { makeImage, type TestImage } from '../helpers/oci-layout.js';
import { publishCollection, startProxyServer, type ProxyServer } from '../helpers/proxy.js';
import { TEST_SCRYPT, TEST_SECRET, tokenFor } from '../helpers/trust-server.js';
import { CliSession, startTrustServer, type TestTrustServer } from '../helpers/cli.js';

const OCI_ACCEPT = 'application/vnd.oci.image.manifest.v1+json';

function basic(token: string | undefined): Record<string, string> {
  return token ? { authorization: 'Basic ' + Buffer.from(`ci:${token}`).toString('base64') } : {};
}

/** Pushes an image's blobs (monolithic uploads) and manifest; returns the manifest PUT status. */
async function push(base: string, repo: string, image: TestImage, token: string | undefined, tag = 'v1'): Promise<number> {
  for (const b of [image.config, ...image.layers]) {
    const r = await fetch(`${base}/v2/${repo}/blobs/uploads/?digest=${b.digest}`, { method: 'POST', headers: { ...basic(token), 'content-type': 'application/octet-stream' }, body: b.bytes });
    await r.arrayBuffer();
    if (r.status !== 201) return r.status;
  }
  const m = await fetch(`${base}/v2/${repo}/manifests/${tag}`, { method: 'PUT', headers: { ...basic(token), 'content-type': image.manifest.mediaType }, body: image.manifest.bytes });
  await m.arrayBuffer();
  return m.status;
}

async function status(url: string, token: string | undefined, method = 'GET'): Promise<number> {
  const r = await fetch(url, { method, headers: { ...basic(token), accept: OCI_ACCEPT } });
  await r.arrayBuffer();
  return r.status;
}

async function start(dir: string, o: Parameters<typeof startServer>[0] = {}): Promise<RunningServer> {
  return startServer({ dataDir: dir, port: 0, secret: TEST_SECRET, scrypt: TEST_SCRYPT, logger: false, handleSignals: false, resignIntervalMs: 0, auditPruneIntervalMs: 0, cacheTtlMs: 0, registry: true, ...o });
}

describe('attack: registry token scope (embedded registry named by its listener)', () => {
  let dir: string;
  let server: RunningServer;
  let host: string;
  const t: Record<string, string> = {};

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ocitrust-attack-scope-'));
    server = await start(dir, { anonymousRead: false });
    host = new URL(server.url).host;
    t.qualifiedPublisher = await tokenFor(server.app, 'publisher', [`${host}/team/app`], 'q-pub');
    t.qualifiedWildcard = await tokenFor(server.app, 'publisher', [`${host}/team/*`], 'q-wild');
    t.barePublisher = await tokenFor(server.app, 'publisher', ['team/app'], 'bare-pub');
    t.bareWildcard = await tokenFor(server.app, 'publisher', ['team/*', '*/*'], 'bare-wild');
    t.otherHost = await tokenFor(server.app, 'publisher', ['registry.example.com/team/app'], 'other-host');
    t.otherRepo = await tokenFor(server.app, 'publisher', [`${host}/team/other`], 'other-repo');
    t.qualifiedReader = await tokenFor(server.app, 'reader', [`${host}/team/app`], 'q-read');
    t.bareReader = await tokenFor(server.app, 'reader', ['team/app'], 'bare-read');
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a publisher token for host:port/team/app pushes there (what trust sign does)', async () => {
    assert.equal(await push(server.url, 'team/app', makeImage(), t.qualifiedPublisher), 201);
    assert.equal(await push(server.url, 'team/app', makeImage(), t.qualifiedWildcard, 'v2'), 201);
  });

  it('host-less, other-host and other-repository tokens cannot push', async () => {
    for (const who of ['barePublisher', 'bareWildcard', 'otherHost', 'otherRepo', 'qualifiedReader']) {
      assert.equal(await push(server.url, 'team/app', makeImage(), t[who], 'evil'), 403, who);
    }
    assert.equal(await status(`${server.url}/v2/team/app/manifests/evil`, t.qualifiedPublisher), 404, 'nothing was pushed');
  });

  it('reads follow the same patterns', async () => {
    const url = `${server.url}/v2/team/app/manifests/v1`;
    assert.equal(await status(url, t.qualifiedReader), 200);
    assert.equal(await status(url, t.qualifiedPublisher), 200);
    assert.equal(await status(`${server.url}/v2/team/app/tags/list`, t.qualifiedReader), 200);
    for (const who of ['bareReader', 'barePublisher', 'bareWildcard', 'otherHost']) {
      assert.equal(await status(url, t[who]), 403, who);
      assert.equal(await status(`${server.url}/v2/team/app/tags/list`, t[who]), 403, who);
    }
  });

  it('host-less tokens cannot delete; the qualified publisher can', async () => {
    const url = `${server.url}/v2/team/app/manifests/v2`;
    for (const who of ['barePublisher', 'bareWildcard', 'otherHost']) assert.equal(await status(url, t[who], 'DELETE'), 403, who);
    assert.equal(await status(url, t.qualifiedReader), 200, 'still there');
    assert.equal(await status(url, t.qualifiedPublisher, 'DELETE'), 202);
  });

  it('denials name the qualified repository in the audit log', async () => {
    const denied = (await server.app.ocitrust.audit.query({ actor: 'bare-pub', outcome: 'denied' })).entries;
    assert.ok(denied.length > 0);
    for (const e of denied) assert.equal(e.collection, `${host}/team/app`);
  });
});

describe('attack: registry token scope (configured registry name, pull enforcement)', () => {
  const NAME = 'registry.example.com';
  let dir: string;
  let server: RunningServer;
  const t: Record<string, string> = {};

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ocitrust-attack-scope-gate-'));
    const dataDir = join(dir, 'data');
    const e = registryEnforcement({ registryName: NAME, registryDataDir: join(dataDir, 'registry') });
    server = await start(dataDir, { plugins: [e.plugin], registryOptions: { registryName: NAME, beforeManifestGet: e.beforeManifestGet } });
    const host = new URL(server.url).host;
    t.qualifiedPublisher = await tokenFor(server.app, 'publisher', [`${NAME}/team/app`], 'q-pub');
    t.barePublisher = await tokenFor(server.app, 'publisher', ['team/app'], 'bare-pub');
    t.listenerPublisher = await tokenFor(server.app, 'publisher', [`${host}/team/app`], 'listener-pub');
    await publishCollection(server.app, `${NAME}/team/app`, ['alice']);
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the configured name qualifies repositories: only its tokens push', async () => {
    assert.equal(await push(server.url, 'team/app', makeImage(), t.qualifiedPublisher), 201);
    assert.equal(await push(server.url, 'team/app', makeImage(), t.barePublisher, 'evil'), 403);
    assert.equal(await push(server.url, 'team/app', makeImage(), t.listenerPublisher, 'evil'), 403, 'the listener address is not the name when one is configured');
  });

  it('only a publisher of the qualified name passes the pull gate with an unsigned image', async () => {
    const url = `${server.url}/v2/team/app/manifests/v1`;
    assert.equal(await status(url, undefined), 403, 'unsigned, enforced');
    assert.equal(await status(url, t.barePublisher), 403, 'a host-less publisher token must not bypass verification');
    assert.equal(await status(url, t.listenerPublisher), 403);
    assert.equal(await status(url, t.qualifiedPublisher), 200, 'push-then-sign: the publisher reads what it signs');
  });
});

describe('attack: registry token scope (verifying proxy)', () => {
  let upstream: EmbeddedRegistry;
  let proxy: ProxyServer;
  const t: Record<string, string> = {};

  before(async () => {
    upstream = await startEmbeddedRegistry();
    proxy = await startProxyServer({ upstream: upstream.url });
    await publishCollection(proxy.app, `${upstream.host}/team/app`, ['alice']);
    assert.equal(await push(upstream.url, 'team/app', makeImage(), undefined), 201);
    t.qualifiedPublisher = await tokenFor(proxy.app, 'publisher', [`${upstream.host}/team/app`], 'q-pub');
    t.barePublisher = await tokenFor(proxy.app, 'publisher', ['team/app'], 'bare-pub');
    t.bareWildcard = await tokenFor(proxy.app, 'publisher', ['team/*'], 'bare-wild');
    t.proxyHost = await tokenFor(proxy.app, 'publisher', [`${proxy.host}/team/app`], 'proxy-host');
  });
  after(async () => {
    await proxy?.close();
    await upstream?.close();
  });

  it('only a publisher of the qualified name reads the unsigned image', async () => {
    const url = `${proxy.url}/v2/team/app/manifests/v1`;
    const read = async (token?: string): Promise<number> => {
      const r = await fetch(url, { headers: { accept: OCI_ACCEPT, ...(token ? { 'x-ocitrust-token': token } : {}) } });
      await r.arrayBuffer();
      return r.status;
    };
    assert.equal(await read(), 403);
    for (const who of ['barePublisher', 'bareWildcard', 'proxyHost']) assert.equal(await read(t[who]), 403, who);
    assert.equal(await read(t.qualifiedPublisher), 200);
  });
});

describe('attack: registry token scope (the real `trust sign` against the embedded registry)', () => {
  let ts: TestTrustServer;
  let s: CliSession;
  let repo: string;

  before(async () => {
    ts = await startTrustServer({ registry: true });
    s = new CliSession({ server: ts.url, token: await ts.token() });
    repo = `${new URL(ts.url).host}/team/app`;
    for (const args of [['key', 'generate', 'alice', '--dir', s.home], ['init', repo], ['signer', 'add', '--key', join(s.home, 'alice.pub'), 'alice', repo]]) {
      const r = await s.run(args, { dist: true });
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    }
    assert.equal(await push(ts.url, 'team/app', makeImage(), await ts.token('publisher', [repo])), 201);
  });
  after(async () => {
    await ts?.close();
    s?.cleanup();
  });

  it('a host-less publisher token cannot sign; the token for the collection can, and the image verifies', async () => {
    const bare = await s.run(['sign', `${repo}:v1`], { dist: true, env: { OCITRUST_TOKEN: await ts.token('publisher', ['team/app']) } });
    assert.notEqual(bare.code, 0, bare.stdout);
    assert.match(bare.stderr, /REGISTRY_DENIED|denied/i);
    const signed = await s.run(['sign', `${repo}:v1`], { dist: true, env: { OCITRUST_TOKEN: await ts.token('publisher', [repo]) } });
    assert.equal(signed.code, 0, signed.stderr);
    const verified = await s.run(['verify', `${repo}:v1`], { dist: true });
    assert.equal(verified.code, 0, verified.stderr);
  });
});
