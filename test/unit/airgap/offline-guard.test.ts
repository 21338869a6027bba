import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer } from 'node:net';
import { lookup } from 'node:dns/promises';
import http from 'node:http';
import { allowOfflineRegistry, installOfflineGuard, offlineGuardMode, offlineRegistryFetch, offlineViolation } from '../../../cli/offline-guard.js';
import { OfflineAllowlist } from '../../../cli/offline-allowlist.js';
import { defaultFetch } from '../../../lib/http/fetch.js';
import { HttpRegistryClient } from '../../../lib/oci/client.js';
import { anonymous } from '../../../lib/oci/credentials.js';
import { isOcitrustError } from '../../../lib/errors/index.js';

describe('cli/offline-guard', () => {
  it('refuses connects (fetch, http), DNS lookups and UDP with OFFLINE_NETWORK_ATTEMPT, records them, and uninstalls', async () => {
    const srv = createServer((s) => s.end());
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    let accepted = 0;
    srv.on('connection', () => accepted++);
    const g = installOfflineGuard();
    try {
      await assert.rejects(fetch(`http://127.0.0.1:${port}/`), (e) => isOcitrustError((e as Error).cause, 'OFFLINE_NETWORK_ATTEMPT'));
      await assert.rejects(
        new Promise((_, reject) => http.get(`http://127.0.0.1:${port}/`).on('error', reject)),
        (e) => isOcitrustError(e, 'OFFLINE_NETWORK_ATTEMPT'),
      );
      await assert.rejects(lookup('example.com'), (e) => isOcitrustError(e, 'OFFLINE_NETWORK_ATTEMPT'));
      const dgram = await import('node:dgram');
      const udp = dgram.createSocket('udp4');
      try {
        assert.throws(() => udp.send('x', 53, '127.0.0.1'), (e) => isOcitrustError(e, 'OFFLINE_NETWORK_ATTEMPT'));
      } finally {
        udp.close();
      }
      assert.ok(g.attempts.some((a) => a === `connect 127.0.0.1:${port}`), g.attempts.join(', '));
      assert.ok(g.attempts.some((a) => a.startsWith('lookup example.com')));
      assert.equal(offlineViolation(g)?.code, 'OFFLINE_NETWORK_ATTEMPT');
    } finally {
      g.uninstall();
    }
    assert.equal(accepted, 0, 'no connection reached the server');
    // After uninstalling, the network works again.
    await new Promise<void>((resolve, reject) => {
      const c = connect(port, '127.0.0.1', () => {
        c.destroy();
        resolve();
      });
      c.on('error', reject);
    });
    assert.equal(accepted, 1);
    await new Promise<void>((r) => srv.close(() => r()));
  });

  it('mode: nothing with a layout input, the images\' registries otherwise, none without --offline (before --)', () => {
    assert.equal(offlineGuardMode(['verify', '--offline', 'oci-layout:x.tar:v1']), 'nothing');
    assert.equal(offlineGuardMode(['verify-manifests', '--offline', '--layout', 'x.tar', 'd.yaml']), 'nothing');
    assert.equal(offlineGuardMode(['verify', '--offline', 'oci-layout:x.tar:v1', 'reg.example/app:v1']), 'nothing');
    assert.equal(offlineGuardMode(['verify', '--offline', 'reg.example/app:v1']), 'registries');
    assert.equal(offlineGuardMode(['root', 'export', '--offline', 'reg.example/app']), 'registries');
    assert.equal(offlineGuardMode(['verify', 'oci-layout:x.tar:v1']), undefined);
    assert.equal(offlineGuardMode(['verify', '--', '--offline', 'oci-layout:x']), undefined);
  });

  it('with an allowlist: the allowed host:port and its DNS name pass, anything else is refused naming the host and what was allowed', async () => {
    const servers = await Promise.all([listen(), listen()]);
    const [allowed, other] = servers;
    const g = installOfflineGuard({ allowlist: new OfflineAllowlist() });
    try {
      // The registry client's own base URL for a loopback registry: http://localhost:<port>.
      allowOfflineRegistry(`localhost:${allowed!.port}`, new HttpRegistryClient({ credentials: anonymous }));
      assert.equal(g.allowlist!.describe(), `localhost:${allowed!.port} (registry of localhost:${allowed!.port})`);
      const ok = await defaultFetch(`http://localhost:${allowed!.port}/v2/`, {});
      assert.equal(ok.status, 200);
      await ok.text();
      assert.ok((await lookup('localhost')).address, 'the registry host name resolves');
      await assert.rejects(lookup('trust.example'), (e) => isOcitrustError(e, 'OFFLINE_NETWORK_ATTEMPT'));
      await assert.rejects(defaultFetch(`http://127.0.0.1:${other!.port}/`, {}), (e) => {
        const c = (e as Error).cause as Error;
        assert.ok(isOcitrustError(c, 'OFFLINE_NETWORK_ATTEMPT'));
        assert.match(c.message, new RegExp(`refused connect 127\\.0\\.0\\.1:${other!.port}; allowed: localhost:${allowed!.port} \\(registry of`));
        return true;
      });
      // Another port of the allowed host is another endpoint.
      await assert.rejects(defaultFetch(`http://localhost:${other!.port}/`, {}));
      assert.deepEqual(g.attempts, ['lookup trust.example', `connect 127.0.0.1:${other!.port}`, `connect localhost:${other!.port}`]);
      assert.match(offlineViolation(g)!.message, /refused 3 network access\(es\), first: lookup trust\.example; allowed: localhost:/);
    } finally {
      g.uninstall();
    }
    assert.equal(allowed!.accepted(), 1);
    assert.equal(other!.accepted(), 0);
    await Promise.all(servers.map((s) => s.close()));
  });

  it('a registry\'s bearer realm and first redirect hop join the allowlist; what they answer allows nothing more', async () => {
    const realm = await listen((req, res) => {
      if (req.url!.startsWith('/token')) return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"t"}');
      res.writeHead(307, { location: `http://127.0.0.1:${elsewhere.port}/x` }).end();
    });
    const storage = await listen((req, res) => {
      if (req.url === '/blob') return void res.writeHead(200).end('bytes');
      res.writeHead(307, { location: `http://127.0.0.1:${elsewhere.port}/x` }).end();
    });
    const elsewhere = await listen();
    const registry = await listen((req, res) => {
      if (req.headers.authorization !== 'Bearer t') return void res.writeHead(401, { 'www-authenticate': `Bearer realm="http://127.0.0.1:${realm.port}/token",service="reg"` }).end();
      res.writeHead(307, { location: `http://127.0.0.1:${storage.port}${req.url === '/v2/a/blobs/1' ? '/blob' : '/next'}` }).end();
    });
    const g = installOfflineGuard({ allowlist: new OfflineAllowlist() });
    try {
      const reg = `127.0.0.1:${registry.port}`;
      allowOfflineRegistry(reg, new HttpRegistryClient({ credentials: anonymous }));
      const f = offlineRegistryFetch(defaultFetch);
      const challenged = await f(`http://${reg}/v2/a/blobs/1`, {});
      assert.equal(challenged.status, 401);
      await challenged.text();
      const token = await f(`http://127.0.0.1:${realm.port}/token?service=reg`, {});
      assert.equal(await token.text(), '{"token":"t"}');
      const blob = await f(`http://${reg}/v2/a/blobs/1`, { headers: { authorization: 'Bearer t' } });
      assert.equal(await blob.text(), 'bytes');
      assert.deepEqual(g.allowlist!.entries.map((e) => e.why), [`registry of ${reg}`, `token realm of ${reg}`, `redirect of ${reg}`]);
      // The realm's and the storage's own redirects are not the registry's: refused.
      await assert.rejects(f(`http://127.0.0.1:${realm.port}/other`, {}));
      await assert.rejects(f(`http://${reg}/v2/a/blobs/2`, { headers: { authorization: 'Bearer t' } }));
      assert.deepEqual(g.attempts, [`connect 127.0.0.1:${elsewhere.port}`, `connect 127.0.0.1:${elsewhere.port}`]);
    } finally {
      g.uninstall();
    }
    assert.equal(elsewhere.accepted(), 0);
    await Promise.all([realm, storage, elsewhere, registry].map((s) => s.close()));
  });
});

/** A real HTTP server on 127.0.0.1 counting the connections it accepts. */
async function listen(handler: http.RequestListener = (_req, res) => void res.end('ok')): Promise<{ port: number; accepted: () => number; close: () => Promise<void> }> {
  const srv = http.createServer(handler);
  let n = 0;
  srv.on('connection', () => n++);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: (srv.address() as { port: number }).port,
    accepted: () => n,
    close: () => new Promise<void>((r) => {
      srv.closeAllConnections();
      srv.close(() => r());
    }),
  };
}
