import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer } from 'node:net';
import { lookup } from 'node:dns/promises';
import http from 'node:http';
import { installOfflineGuard, offlineViolation, wantsOfflineGuard } from '../../../cli/offline-guard.js';
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

  it('is asked for by --offline with a layout input only (before --)', () => {
    assert.equal(wantsOfflineGuard(['verify', '--offline', 'oci-layout:x.tar:v1']), true);
    assert.equal(wantsOfflineGuard(['verify-manifests', '--offline', '--layout', 'x.tar', 'd.yaml']), true);
    assert.equal(wantsOfflineGuard(['verify', '--offline', 'reg.example/app:v1']), false);
    assert.equal(wantsOfflineGuard(['verify', 'oci-layout:x.tar:v1']), false);
    assert.equal(wantsOfflineGuard(['verify', '--', '--offline', 'oci-layout:x']), false);
  });
});
