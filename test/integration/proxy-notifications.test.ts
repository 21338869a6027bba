// Docker distribution's notifications (config.yml `notifications.endpoints`) posted to the
// trust server's receiver: push, pull and delete events land in the audit log; deleting a
// signed manifest reports its signatures as left without a subject; the endpoint refuses posts
// without its bearer token and malformed envelopes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RegistryClient, RepositoryRef } from '../../lib/oci/client.js';
import type { AuditEntry } from '../../server/audit.js';
import { startServer, type RunningServer } from '../../server/main.js';
import { EVENTS_MEDIA_TYPE, notificationRoutes, type OrphanReport } from '../../server/notifications.js';
import { startDistribution, type Distribution } from '../helpers/distribution.js';
import { makeImage, missingPrograms, runSkopeo, skopeoPush, writeOciLayout } from '../helpers/oci-layout.js';
import { plainClient, sign } from '../helpers/proxy.js';
import { TEST_SCRYPT, TEST_SECRET } from '../helpers/trust-server.js';
import { randomSecretSeed } from '../../lib/crypto/ed25519.js';
import { SeedSigner } from '../../lib/keys/signer.js';

const skip = missingPrograms('docker-registry', 'skopeo');
const TOKEN = 'notify-token-0123456789abcdef';

/** A client for a registry whose address is known only later (the registry needs our URL first). */
function lateClient(target: () => { client: RegistryClient; host: string }): RegistryClient {
  const at = (r: RepositoryRef): RepositoryRef => ({ registry: target().host, path: r.path });
  return {
    getManifest: (r, ref) => target().client.getManifest(at(r), ref),
    headManifest: (r, ref) => target().client.headManifest(at(r), ref),
    putManifest: (r, ref, b, mt, o) => target().client.putManifest(at(r), ref, b, mt, o),
    deleteManifest: (r, d) => target().client.deleteManifest(at(r), d),
    getBlob: (r, d, o) => target().client.getBlob(at(r), d, o),
    headBlob: (r, d) => target().client.headBlob(at(r), d),
    pushBlob: (r, b, o) => target().client.pushBlob(at(r), b, o),
    listTags: (r) => target().client.listTags(at(r)),
    getReferrers: (r, d, o) => target().client.getReferrers(at(r), d, o),
  };
}

describe('registry notifications into the audit log', { skip }, () => {
  let dir: string;
  let server: RunningServer;
  let upstream: Distribution;
  const orphans: OrphanReport[] = [];

  async function waitFor(what: string, pred: (entries: AuditEntry[]) => boolean): Promise<AuditEntry[]> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const { entries } = await server.app.ocitrust.audit.query({ limit: 1000 });
      if (pred(entries)) return entries;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; audit has: ${entries.map((e) => `${e.action} ${e.detail}`).join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ocitrust-notify-'));
    const client = plainClient();
    server = await startServer({
      dataDir: join(dir, 'data'),
      port: 0,
      secret: TEST_SECRET,
      scrypt: TEST_SCRYPT,
      logger: false,
      handleSignals: false,
      registry: false,
      resignIntervalMs: 0,
      auditPruneIntervalMs: 0,
      plugins: [
        notificationRoutes({
          token: TOKEN,
          registryName: 'registry.test',
          registry: lateClient(() => ({ client, host: upstream.host })),
          onOrphans: (r) => orphans.push(r),
        }),
      ],
    });
    upstream = await startDistribution({
      extraConfig: [
        'notifications:',
        '  endpoints:',
        '    - name: ocitrust',
        `      url: ${server.url}/v1/registry/events`,
        '      headers:',
        `        Authorization: [Bearer ${TOKEN}]`,
        '      timeout: 2s',
        '      threshold: 3',
        '      backoff: 500ms',
      ],
    });
  });
  after(async () => {
    await upstream?.stop();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('records push and pull events with repository, digest, tag and actor', async () => {
    const image = makeImage();
    const src = join(dir, 'src');
    await writeOciLayout(src, [{ tag: 'v1', content: image }]);
    await skopeoPush(src, 'v1', `${upstream.host}/team/app:v1`);
    const r = await runSkopeo(['copy', '--src-tls-verify=false', `docker://${upstream.host}/team/app:v1`, `oci:${join(dir, 'out')}:v1`]);
    assert.equal(r.code, 0, r.stderr);
    const entries = await waitFor('push and pull of the manifest', (es) =>
      es.some((e) => e.action === 'registry.push' && e.detail?.includes(image.manifest.digest)) && es.some((e) => e.action === 'registry.pull' && e.detail?.includes(image.manifest.digest)),
    );
    const push = entries.find((e) => e.action === 'registry.push' && e.detail?.includes(image.manifest.digest))!;
    assert.equal(push.collection, 'registry.test/team/app');
    assert.equal(push.outcome, 'ok');
    assert.match(push.detail!, /tag v1/);
    assert.match(push.actor, /^registry:/);
    assert.ok(push.source !== null, 'the client address is recorded');
    assert.ok(entries.some((e) => e.action === 'registry.push' && e.detail?.includes(image.layers[0]!.digest)), 'blob pushes are recorded too');
  });

  it('reports the signatures left without a subject when a signed manifest is deleted', async () => {
    const image = makeImage();
    const src = join(dir, 'src2');
    await writeOciLayout(src, [{ tag: 'v2', content: image }]);
    await skopeoPush(src, 'v2', `${upstream.host}/team/app:v2`);
    await sign(`${upstream.host}/team/app:v2`, new SeedSigner(randomSecretSeed()), 'alice');
    const del = await fetch(`${upstream.url}/v2/team/app/manifests/${image.manifest.digest}`, { method: 'DELETE' });
    assert.equal(del.status, 202);
    const entries = await waitFor('the orphan report', (es) => es.some((e) => e.action === 'registry.signatures-orphaned' && e.detail?.includes(image.manifest.digest)));
    assert.ok(entries.some((e) => e.action === 'registry.delete' && e.detail?.includes(image.manifest.digest)));
    const report = entries.find((e) => e.action === 'registry.signatures-orphaned')!;
    assert.equal(report.collection, 'registry.test/team/app');
    assert.match(report.detail!, /1 signature\(s\)/);
    assert.equal(orphans.length, 1);
    assert.equal(orphans[0]!.digest, image.manifest.digest);
    assert.equal(orphans[0]!.signatures.length, 1);
  });

  it('refuses posts without the token (audited) and malformed envelopes, and drops redeliveries', async () => {
    const body = JSON.stringify({ events: [{ id: 'dup-1', action: 'push', target: { repository: 'team/x', digest: `sha256:${'a'.repeat(64)}` } }] });
    const noAuth = await fetch(`${server.url}/v1/registry/events`, { method: 'POST', headers: { 'content-type': EVENTS_MEDIA_TYPE }, body });
    assert.equal(noAuth.status, 401);
    assert.equal(((await noAuth.json()) as { code: string }).code, 'NOTIFY_AUTH_FAILED');
    const wrong = await fetch(`${server.url}/v1/registry/events`, { method: 'POST', headers: { 'content-type': EVENTS_MEDIA_TYPE, authorization: 'Bearer nope-nope-nope-nope' }, body });
    assert.equal(wrong.status, 401);
    const denied = (await server.app.ocitrust.audit.query({ outcome: 'denied' })).entries.filter((e) => e.code === 'NOTIFY_AUTH_FAILED');
    assert.equal(denied.length, 2);
    const auth = { 'content-type': EVENTS_MEDIA_TYPE, authorization: `Bearer ${TOKEN}` };
    for (const bad of ['{"events": 3}', '{"events":[{"action":"push"}]}', '{"events":[{"action":"push","target":{}}]}', '{"events":[], "events":[]}', 'not json']) {
      const r = await fetch(`${server.url}/v1/registry/events`, { method: 'POST', headers: auth, body: bad });
      assert.equal(r.status, 400, bad);
      assert.match(((await r.json()) as { code: string }).code, /^(NOTIFY_ENVELOPE_INVALID|JSON_)/, bad);
    }
    const huge = await fetch(`${server.url}/v1/registry/events`, { method: 'POST', headers: auth, body: JSON.stringify({ events: [], pad: 'x'.repeat(2 * 1024 * 1024) }) });
    assert.equal(huge.status, 413);
    const first = await fetch(`${server.url}/v1/registry/events`, { method: 'POST', headers: auth, body });
    assert.deepEqual(await first.json(), { received: 1, recorded: 1 });
    const again = await fetch(`${server.url}/v1/registry/events`, { method: 'POST', headers: auth, body });
    assert.deepEqual(await again.json(), { received: 1, recorded: 0 });
  });
});
