// SSRF through webhooks: a subscription that was allowed once (the operator had
// --webhook-allow-private on) must not keep the server calling internal addresses after the
// setting is gone: every delivery checks the address it is about to connect to. No request
// ever leaves for the internal address (the check happens before connecting).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../server/main.js';
import { TEST_SCRYPT, TEST_SECRET, call, tokenFor } from '../helpers/trust-server.js';
import { newSecret } from '../helpers/webhook-receiver.js';

const base = { port: 0, secret: TEST_SECRET, scrypt: TEST_SCRYPT, logger: false, handleSignals: false, registry: false, resignIntervalMs: 0, auditPruneIntervalMs: 0 } as const;

describe('webhook SSRF: the address is checked on every delivery', () => {
  let dir: string;
  let server: RunningServer | undefined;
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('parks a delivery to an internal address once private receivers are no longer allowed', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ocitrust-wh-ssrf-'));
    // The operator allowed internal receivers (this instance writes but does not deliver).
    server = await startServer({ ...base, dataDir: dir, webhooks: { allowPrivate: true, deliver: false } });
    const admin = await tokenFor(server.app, 'admin', ['**'], 'ops');
    const sub = await call(`${server.url}/v1/webhooks`, { token: admin, body: { url: 'http://10.255.255.1/metadata', secrets: [newSecret()] } });
    assert.equal(sub.status, 201);
    await server.close();

    // The setting is gone: the stored subscription must not reach the internal address.
    server = await startServer({ ...base, dataDir: dir, webhooks: { pollMs: 50, backoffBaseMs: 50, timeoutMs: 500 } });
    assert.equal((await call(`${server.url}/v1/collections`, { token: admin, body: { name: 'reg.example.com/ssrf/app' } })).status, 201);
    let dead: { status: string; lastError: string | null; attempts: number }[] = [];
    for (let i = 0; i < 200 && dead.length === 0; i++) {
      dead = (await call(`${server.url}/v1/webhooks/deliveries?status=dead`, { token: admin })).json.deliveries;
      if (dead.length === 0) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(dead.length, 1, 'parked at once: retrying cannot make the address acceptable');
    assert.equal(dead[0]!.attempts, 1);
    assert.match(dead[0]!.lastError ?? '', /^WEBHOOK_ADDRESS_REFUSED: .*10\.255\.255\.1/);
  });
});
