// Every webhook event type, each produced by the real action that causes it (the `trust` CLI,
// skopeo pushing to the embedded registry, an AdmissionReview, a pull through the verifying
// proxy, the re-sign job failing), delivered to a real receiver on 127.0.0.1 that checks the
// Standard Webhooks signature with its own HMAC code.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { digestOf } from '../../lib/crypto/hash.js';
import { parsePolicy } from '../../lib/policy/index.js';
import { startServer, type RunningServer } from '../../server/main.js';
import { CliSession } from '../helpers/cli.js';
import { makeImage, missingPrograms, skopeoPush, writeOciLayout } from '../helpers/oci-layout.js';
import { podReview } from '../helpers/admission-review.js';
import { publishCollection, startProxyServer, type ProxyServer } from '../helpers/proxy.js';
import { TEST_SCRYPT, TEST_SECRET, tokenFor } from '../helpers/trust-server.js';
import { newSecret, startReceiver, type Receiver } from '../helpers/webhook-receiver.js';

const FAST = { pollMs: 50, backoffBaseMs: 50, backoffMaxMs: 200, timeoutMs: 3000 };

function types(r: Receiver): string[] {
  return r.received.map((x) => x.json?.type as string);
}

describe('webhook events from real actions', { skip: missingPrograms('skopeo'), timeout: 300_000 }, () => {
  let dir: string;
  let server: RunningServer;
  let receiver: Receiver;
  let admin: string;
  let s: CliSession;
  let host: string;
  let subscription: string;
  let offsetMs = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ocitrust-webhooks-'));
    receiver = await startReceiver([newSecret()]);
    server = await startServer({
      dataDir: join(dir, 'data'),
      port: 0,
      secret: TEST_SECRET,
      scrypt: TEST_SCRYPT,
      logger: false,
      handleSignals: false,
      resignIntervalMs: 0,
      auditPruneIntervalMs: 0,
      cacheTtlMs: 0,
      clock: { now: () => new Date(Date.now() + offsetMs) },
      admission: { policy: parsePolicy('{"version": 1, "rules": [], "unmatched": "deny"}') },
      webhooks: FAST,
    });
    admin = await tokenFor(server.app, 'admin', ['**'], 'ops');
    host = new URL(server.url).host;
    s = new CliSession({ server: server.url, token: admin });
  });
  after(async () => {
    await server?.close();
    await receiver?.close();
    s?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('subscribes with `trust server webhook add` and refuses an event-list typo', async () => {
    writeFileSync(join(dir, 'hook.secret'), receiver.secrets[0] + '\n', { mode: 0o600 });
    const typo = await s.run(['server', 'webhook', 'add', '--url', receiver.url, '--events', 'signer.added,signture.revoked', '--secret-file', join(dir, 'hook.secret')]);
    assert.equal(typo.code, 2, typo.stderr);
    assert.match(typo.stderr, /WEBHOOK_EVENTS_INVALID/);
    assert.match(typo.stderr, /did you mean signature\.revoked/);
    const add = await s.run(['server', 'webhook', 'add', '--url', receiver.url, '--secret-file', join(dir, 'hook.secret')]);
    assert.equal(add.code, 0, add.stderr);
    subscription = add.stdout.trim();
    assert.match(subscription, /^whk_[0-9a-f]{16}$/);
    const list = await s.run(['-o', 'json', 'server', 'webhook', 'list']);
    assert.equal(list.code, 0, list.stderr);
    const subs = JSON.parse(list.stdout).subscriptions as { id: string; url: string; secrets: number; events: string[] }[];
    assert.deepEqual(subs.map((x) => [x.id, x.url, x.secrets, x.events]), [[subscription, receiver.url, 1, ['*']]]);
    assert.ok(!list.stdout.includes('whsec_'), 'secrets never leave the server');
    const audit = await server.app.ocitrust.audit.query({ actor: 'ops' });
    assert.ok(audit.entries.some((e) => e.action === 'webhook.create' && e.outcome === 'ok'), 'subscribing is audited');
  });

  it('delivers a test event with `trust server webhook test`', async () => {
    const t = await s.run(['server', 'webhook', 'test', subscription]);
    assert.equal(t.code, 0, t.stderr);
    const id = t.stdout.trim();
    await receiver.until((r) => r.some((x) => x.id === id), 20_000, 'the test event');
    const got = receiver.received.find((x) => x.id === id)!;
    assert.equal(got.json.type, 'dev.ocitrust.webhook.test');
    assert.deepEqual(got.verifiedBy, [0]);
  });

  it('reports collection, signer, key, publish, signature and revocation events from the CLI workflow', async () => {
    const repo = `${host}/team/app`;
    const work = mkdtempSync(join(dir, 'work-'));
    const run = async (args: string[]): Promise<void> => {
      const r = await s.run(args);
      assert.equal(r.code, 0, `trust ${args.join(' ')}: ${r.stderr}`);
    };
    await run(['key', 'generate', 'alice', '--dir', work]);
    await run(['init', repo]);
    await run(['signer', 'add', '--key', join(work, 'alice.pub'), 'alice', repo]);
    const image = makeImage();
    await writeOciLayout(join(work, 'layout'), [{ tag: 'v1', content: image }]);
    await skopeoPush(join(work, 'layout'), 'v1', `${repo}:v1`, `ops:${admin}`);
    await run(['sign', `${repo}:v1`]);
    await run(['key', 'rotate', repo, 'targets']);
    await run(['revoke', '--reason', 'key leaked in CI logs', `${repo}:v1`]);
    await run(['signer', 'remove', 'alice', repo]);
    const want = ['collection.created', 'targets.published', 'signer.added', 'signature.created', 'key.rotated', 'signature.revoked', 'signer.removed'].map((t) => `dev.ocitrust.${t}`);
    await receiver.until((r) => want.every((t) => r.some((x) => x.json?.type === t)) && r.filter((x) => x.json?.type === 'dev.ocitrust.signer.removed').length > 0, 30_000, want.join(', '));

    const of = (t: string) => receiver.received.filter((x) => x.json?.type === `dev.ocitrust.${t}`).map((x) => x.json);
    assert.equal(of('collection.created')[0].subject, repo);
    assert.equal(of('collection.created')[0].data.createdBy, 'ops');
    const added = of('signer.added').find((e) => e.data.signer === 'alice');
    assert.ok(added, 'signer.added names alice');
    assert.equal(added.data.keyids.length, 1);
    const sig = of('signature.created')[0];
    assert.equal(sig.data.digest, image.manifest.digest);
    assert.equal(sig.data.role, 'alice');
    assert.equal(sig.data.tag, 'v1');
    assert.equal(sig.data.via, 'registry');
    assert.ok(of('key.rotated').some((e) => e.data.role === 'targets' && e.data.keyidsAdded.length === 1 && e.data.keyidsRemoved.length === 1));
    const revoked = of('signature.revoked')[0];
    assert.equal(revoked.data.digest, image.manifest.digest);
    assert.equal(revoked.data.reason, 'key leaked in CI logs');
    assert.ok(of('signer.removed').some((e) => e.data.signer === 'alice'));
    const published = of('targets.published');
    assert.ok(published.length >= 4);
    assert.ok(published.every((e) => e.data.publishedBy === 'ops' && Number.isInteger(e.data.version)));
    // Payloads link to the audit entry and never carry secrets or envelopes.
    for (const r of receiver.received) {
      assert.deepEqual(r.verifiedBy, [0], `signature of ${r.json?.type}`);
      assert.equal(r.json.specversion, '1.0');
      assert.equal(r.json.id, r.id, 'CloudEvents id = webhook-id');
      assert.equal(r.contentType, 'application/cloudevents+json');
      assert.ok(!r.body.includes(admin) && !r.body.includes('whsec_') && !r.body.includes('"signatures"'), `no secrets in ${r.json.type}`);
    }
    assert.ok(Number.isInteger(revoked.data.audit.id));
    // Per collection, events arrive in commit order: the targets versions only go up.
    const versions = receiver.received.filter((x) => x.json?.type === 'dev.ocitrust.targets.published' && x.json.subject === repo).map((x) => x.json.data.version as number);
    assert.deepEqual(versions, [...versions].sort((a, b) => a - b));
  });

  it('reports token creation and revocation (API and CLI)', async () => {
    const c = await fetch(`${server.url}/v1/tokens`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ role: 'reader', patterns: ['team/*'], name: 'viewer' }) });
    assert.equal(c.status, 201);
    const created = (await c.json()) as { secret: string; token: { id: string } };
    const d = await fetch(`${server.url}/v1/tokens/${created.token.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${admin}` } });
    assert.equal(d.status, 200);
    const cli = await s.run(['server', 'token', 'create', '--data', join(dir, 'data'), '--role', 'publisher', '--collections', 'team/*', '--name', 'ci']);
    assert.equal(cli.code, 0, cli.stderr);
    await receiver.until((r) => r.filter((x) => x.json?.type === 'dev.ocitrust.token.created').length >= 2 && r.some((x) => x.json?.type === 'dev.ocitrust.token.revoked'), 20_000, 'token events');
    const createdEvents = receiver.received.filter((x) => x.json?.type === 'dev.ocitrust.token.created');
    assert.deepEqual(createdEvents.map((x) => x.json.data.name).sort(), ['ci', 'viewer']);
    const rev = receiver.received.find((x) => x.json?.type === 'dev.ocitrust.token.revoked')!;
    assert.equal(rev.json.data.tokenId, created.token.id);
    for (const x of [...createdEvents, rev]) assert.ok(!x.body.includes(created.secret) && !x.body.includes('ocit_'), 'no token secret in the event');
  });

  it('reports an admission denial (namespace, object, image, codes)', async () => {
    const image = `${host}/team/other:v9`;
    const r = await fetch(`${server.url}/admission/validate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(podReview({ namespace: 'prod', images: [image], name: 'web-1', uid: 'u-77' })) });
    assert.equal(r.status, 200);
    assert.equal(((await r.json()) as { response: { allowed: boolean } }).response.allowed, false);
    await receiver.until((rs) => rs.some((x) => x.json?.type === 'dev.ocitrust.admission.denied'), 20_000, 'admission.denied');
    const e = receiver.received.find((x) => x.json?.type === 'dev.ocitrust.admission.denied')!.json;
    assert.equal(e.data.namespace, 'prod');
    assert.equal(e.data.object, 'web-1');
    assert.equal(e.data.kind, 'Pod');
    assert.equal(e.data.image, image);
    assert.equal(e.data.uid, 'u-77');
    assert.ok(e.data.codes.length >= 1);
    assert.equal(e.subject, `${host}/team/other`);
  });

  it('reports trust data going stale when the re-sign job fails', async () => {
    const repo = `${host}/team/app`;
    // The database lost the snapshot and targets rows: re-signing cannot work, and the timestamp will expire.
    await server.app.ocitrust.db.exec("DELETE FROM trust_metadata WHERE collection = $1 AND role IN ('snapshot', 'targets')", [repo]);
    offsetMs = 23 * 3600 * 1000;
    await server.app.ocitrust.trust.resignDue();
    await receiver.until((rs) => rs.some((x) => x.json?.type === 'dev.ocitrust.trust.stale'), 20_000, 'trust.stale');
    const e = receiver.received.find((x) => x.json?.type === 'dev.ocitrust.trust.stale')!.json;
    assert.equal(e.subject, repo);
    assert.equal(e.data.reason, 'resign-failed');
    assert.equal(e.data.code, 'INTERNAL');
    offsetMs = 0;
  });
});

describe('webhook event of the verifying proxy', { timeout: 60_000 }, () => {
  let upstream: Server;
  let proxy: ProxyServer;
  let receiver: Receiver;
  const manifest = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${'c'.repeat(64)}`, size: 2 }, layers: [] }));

  before(async () => {
    upstream = createServer((req, res) => {
      if (req.url === '/v2/team/app/manifests/v1' || req.url === `/v2/team/app/manifests/${digestOf(manifest)}`) {
        res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'content-length': manifest.length }).end(req.method === 'HEAD' ? undefined : manifest);
      } else res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"unknown"}]}');
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    receiver = await startReceiver([newSecret()]);
    proxy = await startProxyServer({ upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, registryName: 'registry.example.com', app: { webhooks: FAST } });
    await publishCollection(proxy.app, 'registry.example.com/team/app', ['alice']);
  });
  after(async () => {
    await proxy?.close();
    await receiver?.close();
    await new Promise<void>((r) => upstream.close(() => r()));
  });

  it('reports a pull the proxy refuses', async () => {
    const admin = await tokenFor(proxy.app, 'admin', ['**'], 'ops');
    const sub = await fetch(`${proxy.url}/v1/webhooks`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ url: receiver.url, events: ['proxy.denied'], collections: ['registry.example.com/team/*'], secrets: receiver.secrets }) });
    assert.equal(sub.status, 201, await sub.clone().text());
    const pull = await fetch(`${proxy.url}/v2/team/app/manifests/v1`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(pull.status, 403);
    await receiver.until((rs) => rs.some((x) => x.json?.type === 'dev.ocitrust.proxy.denied'), 20_000, 'proxy.denied');
    const got = receiver.received.find((x) => x.json?.type === 'dev.ocitrust.proxy.denied')!;
    assert.deepEqual(got.verifiedBy, [0]);
    assert.equal(got.json.subject, 'registry.example.com/team/app');
    assert.equal(got.json.data.digest, digestOf(manifest));
    assert.ok(typeof got.json.data.code === 'string' && got.json.data.code.length > 0);
  });
});
