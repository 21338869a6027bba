// `signature.created` from the upstream registry's notifications: a signature artifact pushed
// to the upstream (an embedded registry on 127.0.0.1, signed with the library), then the
// registry's notification envelope posted to the trust server's receiver; the server fetches
// the pushed manifest, sees an ocitrust signature and delivers the event. A plain image push
// produces no event.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomSecretSeed } from '../../lib/crypto/ed25519.js';
import { SeedSigner } from '../../lib/keys/signer.js';
import type { RegistryClient } from '../../lib/oci/client.js';
import { startServer, type RunningServer } from '../../server/main.js';
import { EVENTS_MEDIA_TYPE, notificationRoutes } from '../../server/notifications.js';
import { startEmbeddedRegistry, type EmbeddedRegistry } from '../helpers/embedded-registry.js';
import { makeImage } from '../helpers/oci-layout.js';
import { plainClient } from '../helpers/proxy.js';
import { signImage } from '../../lib/usecases/sign.js';
import { TEST_SCRYPT, TEST_SECRET, call, tokenFor } from '../helpers/trust-server.js';
import { newSecret, startReceiver, type Receiver } from '../helpers/webhook-receiver.js';

const TOKEN = 'notify-token-0123456789abcdef';

describe('signature.created from registry notifications', { timeout: 60_000 }, () => {
  let dir: string;
  let upstream: EmbeddedRegistry;
  let server: RunningServer;
  let receiver: Receiver;
  const client = plainClient();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ocitrust-wh-notify-'));
    upstream = await startEmbeddedRegistry();
    // The notification names repositories without a host; reads go to the upstream.
    const toUpstream = new Proxy(client, {
      get: (t, p) => (p === 'getManifest' ? (r: { path: string }, ref: string) => t.getManifest({ registry: upstream.host, path: r.path }, ref) : (t as unknown as Record<string | symbol, unknown>)[p]),
    }) as unknown as RegistryClient;
    server = await startServer({
      dataDir: dir,
      port: 0,
      secret: TEST_SECRET,
      scrypt: TEST_SCRYPT,
      logger: false,
      handleSignals: false,
      registry: false,
      resignIntervalMs: 0,
      auditPruneIntervalMs: 0,
      webhooks: { pollMs: 50, backoffBaseMs: 50 },
      plugins: [notificationRoutes({ token: TOKEN, registryName: 'registry.test', registry: toUpstream })],
    });
    receiver = await startReceiver([newSecret()]);
  });
  after(async () => {
    await server?.close();
    await upstream?.close();
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers signature.created for a pushed signature, nothing for a plain image', async () => {
    const admin = await tokenFor(server.app, 'admin', ['**'], 'ops');
    assert.equal((await call(`${server.url}/v1/webhooks`, { token: admin, body: { url: receiver.url, secrets: receiver.secrets, events: ['signature.created'] } })).status, 201);
    const repo = { registry: upstream.host, path: 'team/app' };
    const image = makeImage();
    for (const b of image.blobs) await client.pushBlob(repo, b.bytes);
    await client.putManifest(repo, 'v1', image.manifest.bytes, image.manifest.mediaType);
    const signed = await signImage({ reference: `${upstream.host}/team/app:v1`, registry: client, signer: new SeedSigner(randomSecretSeed()), role: 'alice' });
    const sigDigest = signed.signed[0]!.signature.digest;

    const envelope = {
      events: [image.manifest.digest, sigDigest].map((digest, i) => ({
        id: `ev-${i}`,
        timestamp: new Date().toISOString(),
        action: 'push',
        target: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: 1, repository: 'team/app', ...(i === 0 ? { tag: 'v1' } : {}) },
        request: { addr: '127.0.0.1', host: upstream.host, method: 'PUT', useragent: 'test' },
        actor: { name: 'ci' },
      })),
    };
    const r = await fetch(`${server.url}/v1/registry/events`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': EVENTS_MEDIA_TYPE }, body: JSON.stringify(envelope) });
    assert.equal(r.status, 200);
    await receiver.until((rs) => rs.length >= 1, 20_000, 'signature.created');
    const e = receiver.received[0]!;
    assert.deepEqual(e.verifiedBy, [0]);
    assert.equal(e.json.type, 'dev.ocitrust.signature.created');
    assert.equal(e.json.data.via, 'notification');
    assert.equal(e.json.data.digest, image.manifest.digest);
    assert.equal(e.json.data.signatureDigest, sigDigest);
    assert.equal(e.json.data.role, 'alice');
    // The image push made no event: one more (any) delivery would be a second signature.created.
    const d = await call(`${server.url}/v1/webhooks/deliveries`, { token: admin });
    assert.equal(d.json.deliveries.length, 1);
  });
});
