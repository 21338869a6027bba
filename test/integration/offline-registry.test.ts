// Issue 17: `--offline` with registry references is enforced at the socket (cli/offline-guard.ts):
// the `trust` process may reach the registries of the images it verifies (and their token
// realm) and nothing else. A signed world on a real trust server and registry; then the trust
// server goes away and a listener that records connections takes its port: `verify --offline`
// verifies from the persisted trust data and that listener sees no connection; a registry
// whose token service sends the client on to a third host gets OFFLINE_NETWORK_ATTEMPT, and
// the third host sees nothing either.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createServer, type Server } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliSession, startTrustServer, type TestTrustServer, type TrustRun } from '../helpers/cli.js';
import { startEmbeddedRegistry, type EmbeddedRegistry } from '../helpers/embedded-registry.js';
import { makeImage } from '../helpers/oci-layout.js';
import { HttpRegistryClient } from '../../lib/oci/client.js';
import { anonymous } from '../../lib/oci/credentials.js';
import { OCI_MANIFEST } from '../../lib/oci/types.js';

function exits(r: TrustRun, code: number, what: string): void {
  assert.equal(r.code, code, `${what}: exit ${r.code}, expected ${code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');
}

/** A TCP listener on 127.0.0.1 (`port` 0: any) that counts and drops connections. */
async function recorder(port = 0): Promise<{ port: number; accepted: () => number; close: () => Promise<void> }> {
  const sockets = new Set<import('node:net').Socket>();
  let n = 0;
  const srv: Server = createServer((s) => {
    n++;
    sockets.add(s);
    s.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', resolve);
  });
  return {
    port: (srv.address() as { port: number }).port,
    accepted: () => n,
    close: () => new Promise<void>((r) => srv.close(() => r())),
  };
}

describe('--offline with registry references: only the images\' registries (issue 17)', { timeout: 600_000 }, () => {
  let ts: TestTrustServer;
  let reg: EmbeddedRegistry;
  let s: CliSession;
  let work: string;
  let repo: string;
  let trustPort: number;

  before(async () => {
    ts = await startTrustServer();
    reg = await startEmbeddedRegistry();
    s = new CliSession({ server: ts.url, token: await ts.token() });
    trustPort = Number(new URL(ts.url).port);
    work = await mkdtemp(join(tmpdir(), 'ocitrust-offreg-'));
    repo = `${reg.host}/offreg/app`;
    const run = async (args: string[]) => exits(await s.run(args), 0, args.join(' '));
    await run(['key', 'generate', 'alice', '--dir', work]);
    await run(['init', repo]);
    await run(['signer', 'add', '--key', join(work, 'alice.pub'), 'alice', repo]);
    const image = makeImage();
    const client = new HttpRegistryClient({ credentials: anonymous });
    const ref = { registry: reg.host, path: 'offreg/app' };
    for (const b of image.blobs) await client.pushBlob(ref, b.bytes);
    await client.putManifest(ref, 'v1', image.manifest.bytes, OCI_MANIFEST);
    await run(['sign', `${repo}:v1`]);
    // Online once: the trust data is persisted in this home.
    await run(['verify', `${repo}:v1`]);
  });

  after(async () => {
    await reg?.close();
    await ts?.close();
    s?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('the trust server\'s port answered by a recorder: verify --offline verifies from persisted trust data and the recorder sees no connection', async () => {
    await ts.close();
    const rec = await recorder(trustPort);
    try {
      const off = await s.run(['verify', '--offline', '-o', 'json', `${repo}:v1`]);
      exits(off, 0, 'verify --offline');
      assert.equal((JSON.parse(off.stdout) as { results: { verified: boolean }[] }).results[0]!.verified, true);
      assert.match(off.stderr, /warning: offline \(--offline\); using cached trust data of /);
      const m = await s.run(['inspect', '--offline', `${repo}:v1`]);
      exits(m, 0, 'inspect --offline');
      assert.equal(rec.accepted(), 0, 'the trust server\'s port saw no connection');
      // The control: without --offline the same command does reach that port (and fails closed).
      const on = await s.run(['verify', `${repo}:v1`]);
      exits(on, 3, 'verify online, trust server gone');
      assert.ok(rec.accepted() > 0, 'the recorder records what reaches it');
    } finally {
      await rec.close();
    }
  });

  test('a registry whose token service redirects to a third host: the registry and its realm are reached, the third host is refused (OFFLINE_NETWORK_ATTEMPT, exit 3) and sees nothing', async () => {
    const third = await recorder();
    // The token realm: sends the client on to the third host.
    const realm = http.createServer((_req, res) => void res.writeHead(307, { location: `http://127.0.0.1:${third.port}/token` }).end());
    let realmHits = 0;
    realm.on('request', () => realmHits++);
    await new Promise<void>((r) => realm.listen(0, '127.0.0.1', r));
    const realmPort = (realm.address() as { port: number }).port;
    // The registry: every request needs a bearer token from that realm.
    const gated = http.createServer((_req, res) => void res.writeHead(401, { 'www-authenticate': `Bearer realm="http://127.0.0.1:${realmPort}/token",service="gated"` }).end());
    await new Promise<void>((r) => gated.listen(0, '127.0.0.1', r));
    const gatedHost = `127.0.0.1:${(gated.address() as { port: number }).port}`;
    try {
      const r = await s.run(['verify', '--offline', '--mirror-of', repo, `${gatedHost}/offreg/app:v1`]);
      exits(r, 3, 'verify --offline via a redirecting realm');
      assert.match(r.stderr, new RegExp(`refused .*connect 127\\.0\\.0\\.1:${third.port}; allowed: ${gatedHost.replace(/\./g, '\\.')} \\(registry of ${gatedHost.replace(/\./g, '\\.')}\\), 127\\.0\\.0\\.1:${realmPort} \\(token realm of `));
      assert.match(r.stderr, /\[OFFLINE_NETWORK_ATTEMPT\]/);
      assert.ok(realmHits > 0, 'the registry\'s own token realm was reached');
      assert.equal(third.accepted(), 0, 'the third host saw no connection');
    } finally {
      await third.close();
      await new Promise<void>((r) => realm.close(() => r()));
      await new Promise<void>((r) => gated.close(() => r()));
    }
  });
});
