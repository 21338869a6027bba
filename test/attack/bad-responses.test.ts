// Issue 12 item 5, "exit codes that lie": garbage, cut-off and endless bodies from the registry
// or the trust server, and a --server that is not a trust server at all, run through the real
// `trust` command. The user's input is fine in every case, so none of them may be exit 2 (an
// input error): the command could not decide (exit 3) and names the bad answer with a
// bad-response code — except where a signed parent pins the bytes (a snapshot or targets file
// whose hash the signed timestamp/snapshot records, a manifest asked for by digest): bytes that
// differ from the pin are tampering, a verdict (exit 1), as they always were.
//
// Setup: a real trust server and the embedded registry, each behind a hostile front (a
// reverse proxy that forwards everything but the requests a test picks). A collection is
// created and an image signed through the fronts; each test then attacks one kind of request.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { CliSession, startTrustServer, type TestTrustServer, type TrustRun } from '../helpers/cli.js';
import { startEmbeddedRegistry, type EmbeddedRegistry } from '../helpers/embedded-registry.js';
import { answers, startHostileFront, type FrontAnswer, type HostileFront } from '../helpers/hostile-front.js';
import { startHostileRegistry, type HostileRegistry } from '../helpers/hostile-registry.js';
import { startDistribution, type Distribution } from '../helpers/distribution.js';
import { testApp } from '../helpers/trust-server.js';
import { makeImage, missingPrograms } from '../helpers/oci-layout.js';
import { HttpRegistryClient } from '../../lib/oci/client.js';
import { anonymous } from '../../lib/oci/credentials.js';
import { ENVELOPE_ANNOTATION, OCI_MANIFEST, SIGNATURE_ARTIFACT_TYPE } from '../../lib/oci/types.js';
import { TRUST_SERVER_API_VERSION, TRUST_SERVER_HEADER } from '../../lib/trust-server-id.js';

/** The `[CODE]` the command reported (stderr line, or the verify result line). */
function reported(r: TrustRun): string[] {
  return [...`${r.stdout}\n${r.stderr}`.matchAll(/\[([A-Z][A-Z0-9_]+)\]/g)].map((m) => m[1]!);
}

function expectExit(r: TrustRun, exit: number, code: string, what: string): void {
  const shown = `${what}: exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
  assert.equal(r.code, exit, shown);
  assert.ok(reported(r).includes(code), `${what}: expected [${code}]\n${shown}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /, `${what}: no stack trace`);
}

/** Matches requests whose path (without query) satisfies `test`, for GETs only. */
function on(test: (path: string) => boolean, answer: FrontAnswer): (req: IncomingMessage) => FrontAnswer | undefined {
  return (req) => (req.method === 'GET' && test((req.url ?? '').split('?')[0]!) ? answer : undefined);
}

describe('bad responses from the registry and the trust server → exit 3 with a bad-response code', { timeout: 600_000 }, () => {
  let ts: TestTrustServer;
  let reg: EmbeddedRegistry;
  let tsFront: HostileFront;
  let regFront: HostileFront;
  let token: string;
  let work: string;
  let repo: string;
  let ref: string;
  let owner: CliSession;
  const sessions: CliSession[] = [];

  /** A session with a fresh home (no pin, no cache), talking to the trust server through its front. */
  function fresh(server = tsFront.url): CliSession {
    const s = new CliSession({ server, token });
    sessions.push(s);
    return s;
  }

  before(async () => {
    ts = await startTrustServer();
    reg = await startEmbeddedRegistry();
    tsFront = await startHostileFront(ts.url);
    // A broken trust server is still a trust server: its answers keep the identifying header.
    tsFront.answerHeaders = { [TRUST_SERVER_HEADER]: TRUST_SERVER_API_VERSION };
    regFront = await startHostileFront(reg.url);
    token = await ts.token();
    work = await mkdtemp(join(tmpdir(), 'ocitrust-badresp-'));
    owner = fresh();
    repo = `${regFront.host}/bad/app`;
    ref = `${repo}:v1`;
    const client = new HttpRegistryClient({ credentials: anonymous });
    const image = makeImage();
    const r = { registry: regFront.host, path: 'bad/app' };
    for (const b of image.blobs) await client.pushBlob(r, b.bytes);
    await client.putManifest(r, 'v1', image.manifest.bytes, OCI_MANIFEST);
    for (const args of [['key', 'generate', 'alice', '--dir', work], ['init', repo], ['signer', 'add', '--key', join(work, 'alice.pub'), 'alice', repo], ['sign', ref]]) {
      const run = await owner.run(args);
      assert.equal(run.code, 0, `${args.join(' ')}: ${run.stderr}`);
    }
    const v = await fresh().run(['verify', ref]);
    assert.equal(v.code, 0, `baseline verify through the fronts: ${v.stdout}${v.stderr}`);
  });
  beforeEach(() => {
    tsFront.rule = undefined;
    regFront.rule = undefined;
  });
  after(async () => {
    await tsFront?.close();
    await regFront?.close();
    await reg?.close();
    await ts?.close();
    for (const s of sessions) s.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  describe('registry', () => {
    const manifestByTag = (p: string): boolean => p.endsWith('/manifests/v1');
    const referrers = (p: string): boolean => p.includes('/referrers/');

    test('manifest that is not JSON → exit 3 REGISTRY_BAD_RESPONSE naming what came back', async () => {
      regFront.rule = on(manifestByTag, answers.fixed('<html>hello</html>', OCI_MANIFEST));
      const r = await fresh().run(['verify', ref]);
      expectExit(r, 3, 'REGISTRY_BAD_RESPONSE', 'verify, garbage manifest');
      assert.match(r.stdout + r.stderr, /expected .*manifest.*got/i);
      assert.match(r.stdout + r.stderr, /MANIFEST_INVALID|JSON/, 'the original cause is kept');
    });

    test('manifest cut off mid-JSON (complete chunked encoding) → exit 3 REGISTRY_BAD_RESPONSE', async () => {
      regFront.rule = on(manifestByTag, answers.halfJson(OCI_MANIFEST));
      expectExit(await fresh().run(['verify', ref]), 3, 'REGISTRY_BAD_RESPONSE', 'verify, half a manifest');
    });

    test('manifest whose connection closes mid-body (chunked) → exit 3 REGISTRY_UNREACHABLE', async () => {
      regFront.rule = on(manifestByTag, answers.cutChunked(OCI_MANIFEST));
      expectExit(await fresh().run(['verify', ref]), 3, 'REGISTRY_UNREACHABLE', 'verify, cut manifest');
    });

    test('endless manifest → bounded, stopped, exit 3 REGISTRY_RESPONSE_TOO_LARGE', async () => {
      const before = regFront.bytesWritten();
      regFront.rule = on(manifestByTag, answers.endless(OCI_MANIFEST));
      expectExit(await fresh().run(['verify', ref]), 3, 'REGISTRY_RESPONSE_TOO_LARGE', 'verify, endless manifest');
      // The client stopped: far less than a runaway read (socket buffers add a few MiB at most).
      assert.ok(regFront.bytesWritten() - before < 64 * 1024 * 1024, `wrote ${regFront.bytesWritten() - before} bytes`);
    });

    test('referrers listing that is not JSON → exit 3 REGISTRY_BAD_RESPONSE', async () => {
      regFront.rule = on(referrers, answers.fixed('{"manifests": [', 'application/vnd.oci.image.index.v1+json'));
      expectExit(await fresh().run(['verify', ref]), 3, 'REGISTRY_BAD_RESPONSE', 'verify, garbage referrers');
      expectExit(await fresh().run(['inspect', ref]), 3, 'REGISTRY_BAD_RESPONSE', 'inspect, garbage referrers');
    });

    test('referrers listing of the wrong shape → exit 3 REGISTRY_BAD_RESPONSE', async () => {
      regFront.rule = on(referrers, answers.fixed('{"schemaVersion":2,"manifests":"none"}', 'application/vnd.oci.image.index.v1+json'));
      expectExit(await fresh().run(['verify', ref]), 3, 'REGISTRY_BAD_RESPONSE', 'verify, wrong-shape referrers');
    });

    test('endless referrers listing → stopped, exit 3 REGISTRY_RESPONSE_TOO_LARGE', async () => {
      regFront.rule = on(referrers, answers.endless('application/vnd.oci.image.index.v1+json'));
      expectExit(await fresh().run(['verify', ref]), 3, 'REGISTRY_RESPONSE_TOO_LARGE', 'verify, endless referrers');
    });

    test('signature envelope blob (pinned by digest and size): cut off → exit 3 REGISTRY_UNREACHABLE; endless or other bytes → that signature fails (exit 1)', async () => {
      // Listing entries without the envelope annotation make the client fetch manifest and layer.
      const listing = (blob: FrontAnswer) => (req: IncomingMessage): FrontAnswer | undefined => {
        const p = (req.url ?? '').split('?')[0]!;
        if (req.method === 'GET' && p.includes('/blobs/')) return blob;
        if (req.method !== 'GET' || !p.includes('/referrers/')) return undefined;
        return (_req, res) => {
          void fetch(`${reg.url}${req.url}`).then(async (up) => {
            const doc = (await up.json()) as { manifests: { annotations?: unknown; artifactType?: unknown }[] };
            for (const m of doc.manifests) delete m.annotations;
            const b = Buffer.from(JSON.stringify(doc));
            res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json', 'content-length': String(b.length) });
            res.end(b);
          });
        };
      };
      regFront.rule = listing(answers.cutChunked('application/octet-stream'));
      expectExit(await fresh().run(['verify', ref]), 3, 'REGISTRY_UNREACHABLE', 'verify, cut envelope blob');
      regFront.rule = listing(answers.endless('application/octet-stream'));
      const endless = await fresh().run(['verify', '-o', 'json', ref]);
      assert.equal(endless.code, 1, `verify, endless envelope blob: ${endless.stdout}${endless.stderr}`);
      regFront.rule = listing(answers.fixed('garbage', 'application/octet-stream'));
      const garbage = await fresh().run(['verify', '-o', 'json', ref]);
      assert.equal(garbage.code, 1, `verify, garbage envelope blob: ${garbage.stdout}${garbage.stderr}`);
    });

    test('sign on a garbage manifest → exit 3 REGISTRY_BAD_RESPONSE', async () => {
      regFront.rule = on(manifestByTag, answers.fixed('not json at all', 'application/json'));
      expectExit(await owner.run(['sign', ref]), 3, 'REGISTRY_BAD_RESPONSE', 'sign, garbage manifest');
    });

    test('garbage referrers next to a valid signature do not turn a verified image into exit 3', async () => {
      // The listing names two extra "signatures": one whose manifest is garbage, one whose
      // annotated envelope is junk. Each is a per-signature failure; the valid one still counts.
      const bogus = `sha256:${'ab'.repeat(32)}`;
      const junkEnvelope = `sha256:${'cd'.repeat(32)}`;
      regFront.rule = (req) => {
        const p = (req.url ?? '').split('?')[0]!;
        if (req.method === 'GET' && p.endsWith(`/manifests/${bogus}`)) return answers.fixed('garbage', OCI_MANIFEST);
        if (req.method !== 'GET' || !p.includes('/referrers/')) return undefined;
        return (_req, res) => {
          // Forward the real listing with one bogus entry (no artifactType: the client must fetch it).
          void fetch(`${reg.url}${req.url}`).then(async (up) => {
            const doc = (await up.json()) as { manifests: unknown[] };
            doc.manifests.unshift({ mediaType: OCI_MANIFEST, digest: bogus, size: 7 });
            doc.manifests.unshift({ mediaType: OCI_MANIFEST, digest: junkEnvelope, size: 9, artifactType: SIGNATURE_ARTIFACT_TYPE, annotations: { [ENVELOPE_ANNOTATION]: Buffer.from('{"payload": nope').toString('base64') } });
            const b = Buffer.from(JSON.stringify(doc));
            res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json', 'content-length': String(b.length) });
            res.end(b);
          });
        };
      };
      const r = await fresh().run(['verify', '-o', 'json', ref]);
      assert.equal(r.code, 0, `verify with garbage referrers beside a valid signature: ${r.stdout}${r.stderr}`);
      assert.equal(JSON.parse(r.stdout).results[0].verified, true);
      // Alone, they are signatures that do not verify: exit 1, not an input or environment error.
      regFront.rule = (req) => {
        const p = (req.url ?? '').split('?')[0]!;
        if (req.method !== 'GET' || !p.includes('/referrers/')) return undefined;
        return answers.fixed(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ mediaType: OCI_MANIFEST, digest: junkEnvelope, size: 9, artifactType: SIGNATURE_ARTIFACT_TYPE, annotations: { [ENVELOPE_ANNOTATION]: Buffer.from('{"payload": nope').toString('base64') } }] }), 'application/vnd.oci.image.index.v1+json');
      };
      const alone = await fresh().run(['verify', ref]);
      assert.equal(alone.code, 1, `verify with only a junk envelope: ${alone.stdout}${alone.stderr}`);
    });
  });

  describe('trust server', () => {
    const file = (name: RegExp) => (p: string): boolean => name.test(p.slice(p.lastIndexOf('/') + 1));

    test('root (first contact) that is not JSON → exit 3 TUF_SOURCE_BAD_RESPONSE', async () => {
      tsFront.rule = on(file(/^1\.root\.json$/), answers.fixed('{"signed": nope', 'application/json'));
      const r = await fresh().run(['verify', ref]);
      expectExit(r, 3, 'TUF_SOURCE_BAD_RESPONSE', 'verify, garbage 1.root.json');
      assert.match(r.stdout + r.stderr, /JSON_MALFORMED|not JSON|JSON/);
    });

    test('next root in the walk that is not JSON, or cut off, or endless → exit 3', async () => {
      const s = fresh();
      assert.equal((await s.run(['verify', ref])).code, 0, 'pins the root');
      tsFront.rule = on(file(/^2\.root\.json$/), answers.halfJson());
      expectExit(await fresh().run(['verify', '--root', await pinnedRoot(ts.url, repo, work), ref]), 3, 'TUF_SOURCE_BAD_RESPONSE', 'verify, half 2.root.json');
      tsFront.rule = on(file(/^2\.root\.json$/), answers.cutLength());
      expectExit(await fresh().run(['verify', '--root', await pinnedRoot(ts.url, repo, work), ref]), 3, 'TUF_SOURCE_UNREACHABLE', 'verify, cut 2.root.json');
      tsFront.rule = on(file(/^2\.root\.json$/), answers.endless());
      expectExit(await fresh().run(['verify', '--root', await pinnedRoot(ts.url, repo, work), ref]), 3, 'TUF_SOURCE_BAD_RESPONSE', 'verify, endless 2.root.json');
    });

    test('timestamp that is not JSON / wrong shape / endless / cut → exit 3', async () => {
      tsFront.rule = on(file(/^timestamp\.json$/), answers.fixed('garbage', 'application/json'));
      expectExit(await fresh().run(['verify', ref]), 3, 'TUF_SOURCE_BAD_RESPONSE', 'verify, garbage timestamp');
      tsFront.rule = on(file(/^timestamp\.json$/), answers.fixed('{"signed":{"_type":"timestamp"},"signatures":[]}', 'application/json'));
      expectExit(await fresh().run(['verify', ref]), 3, 'TUF_SOURCE_BAD_RESPONSE', 'verify, wrong-shape timestamp');
      const before = tsFront.bytesWritten();
      tsFront.rule = on(file(/^timestamp\.json$/), answers.endless());
      expectExit(await fresh().run(['verify', ref]), 3, 'TUF_SOURCE_BAD_RESPONSE', 'verify, endless timestamp');
      assert.ok(tsFront.bytesWritten() - before < 64 * 1024 * 1024, `the client stopped reading (wrote ${tsFront.bytesWritten() - before} bytes)`);
      tsFront.rule = on(file(/^timestamp\.json$/), answers.cutChunked());
      expectExit(await fresh().run(['verify', ref]), 3, 'TUF_SOURCE_UNREACHABLE', 'verify, cut timestamp');
      tsFront.rule = on(file(/^timestamp\.json$/), answers.fixed('garbage', 'application/json'));
      expectExit(await fresh().run(['inspect', ref]), 3, 'TUF_SOURCE_BAD_RESPONSE', 'inspect, garbage timestamp');
      expectExit(await fresh().run(['sign', ref]), 3, 'TUF_SOURCE_BAD_RESPONSE', 'sign, garbage timestamp');
    });

    test('endless or cut snapshot and targets → exit 3; other bytes than the signed hash pins → exit 1 (tampered)', async () => {
      for (const name of [/^\d+\.snapshot\.json$/, /^\d+\.targets\.json$/]) {
        tsFront.rule = on(file(name), answers.endless());
        expectExit(await fresh().run(['verify', ref]), 3, 'TUF_SOURCE_BAD_RESPONSE', `verify, endless ${name}`);
        tsFront.rule = on(file(name), answers.cutChunked());
        expectExit(await fresh().run(['verify', ref]), 3, 'TUF_SOURCE_UNREACHABLE', `verify, cut ${name}`);
        tsFront.rule = on(file(name), answers.fixed('garbage', 'application/json'));
        const r = await fresh().run(['verify', ref]);
        assert.equal(r.code, 1, `verify, garbage ${name}: ${r.stdout}${r.stderr}`);
        assert.ok(reported(r).some((c) => c === 'TUF_LENGTH_MISMATCH' || c === 'TUF_HASH_MISMATCH'), `${r.stdout}${r.stderr}`);
      }
    });

    test('the same garbage given by the user (a --root file) is still an input error: exit 2', async () => {
      const file = join(work, 'garbage-root.json');
      await writeFile(file, '{"signed": nope');
      const r = await fresh().run(['verify', '--root', file, ref]);
      assert.equal(r.code, 2, `${r.stdout}${r.stderr}`);
      assert.ok(reported(r).includes('JSON_MALFORMED'), `${r.stdout}${r.stderr}`);
    });

    test('write API answering garbage → exit 3 TRUST_SERVER_BAD_RESPONSE', async () => {
      const publish = (a: FrontAnswer) => (req: IncomingMessage): FrontAnswer | undefined => (req.method === 'POST' && (req.url ?? '').endsWith('/metadata') ? a : undefined);
      tsFront.rule = publish(answers.fixed('{"versions":', 'application/json'));
      expectExit(await owner.run(['signer', 'add', '--key', join(work, 'alice.pub'), 'alice2', repo]), 3, 'TRUST_SERVER_BAD_RESPONSE', 'signer add, garbage publish answer');
      tsFront.rule = publish(answers.endless());
      expectExit(await owner.run(['signer', 'add', '--key', join(work, 'alice.pub'), 'alice2', repo]), 3, 'TRUST_SERVER_BAD_RESPONSE', 'signer add, endless publish answer');
    });
  });

  describe('a --server that is not an ocitrust trust server → exit 3 TRUST_SERVER_NOT_OCITRUST', () => {
    let html: HostileRegistry;
    let html404: HostileRegistry;
    let otherJson: HostileRegistry;
    let dist: Distribution | undefined;
    const skipDist = missingPrograms('docker-registry');
    before(async () => {
      html = await startHostileRegistry((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(`<!DOCTYPE html><html><body>Welcome to nginx!${'<p>lorem ipsum</p>'.repeat(2000)}</body></html>`);
      });
      html404 = await startHostileRegistry((_req, res) => {
        res.writeHead(404, { 'content-type': 'text/html' });
        res.end('<html><body><h1>404 Not Found</h1></body></html>');
      });
      otherJson = await startHostileRegistry((_req, res) => {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end('{"error":"not found","status":404}');
      });
      if (!skipDist) dist = await startDistribution();
    });
    after(async () => {
      await html?.stop();
      await html404?.stop();
      await otherJson?.stop();
      await dist?.stop();
    });

    async function notTrust(server: string, what: string, shows: RegExp): Promise<void> {
      for (const cmd of [['verify', ref], ['inspect', ref]]) {
        const r = await fresh(server).run(cmd);
        expectExit(r, 3, 'TRUST_SERVER_NOT_OCITRUST', `${cmd[0]} on ${what} (first contact)`);
        assert.match(r.stdout + r.stderr, /is not an ocitrust trust server/);
        assert.match(r.stdout + r.stderr, shows, 'says what it answered');
        assert.doesNotMatch(r.stdout + r.stderr, /trust init|NOT verified/);
      }
      // With a pinned root (the walk probes N+1.root.json, then timestamp.json).
      const pinned = await fresh(server).run(['verify', '--root', await pinnedRoot(ts.url, repo, work), ref]);
      expectExit(pinned, 3, 'TRUST_SERVER_NOT_OCITRUST', `verify --root on ${what}`);
      assert.doesNotMatch(pinned.stdout + pinned.stderr, /NOT verified/);
      // The write API.
      const add = await fresh(server).run(['signer', 'add', '--key', join(work, 'alice.pub'), 'alice3', repo]);
      assert.equal(add.code, 3, `signer add on ${what}: ${add.stdout}${add.stderr}`);
      const init = await fresh(server).run(['init', `${regFront.host}/bad/other`]);
      expectExit(init, 3, 'TRUST_SERVER_NOT_OCITRUST', `init on ${what}`);
    }

    test('docker-registry (answers /v2/, 404 text/plain elsewhere)', { skip: skipDist }, async () => {
      await notTrust(dist!.url, 'docker-registry', /HTTP 404, text\/plain: "404 page not found"; it looks like a container registry/);
    });
    test('a web page answering 200 text/html for every path', async () => {
      await notTrust(html.url, 'an HTML page', /HTTP 200, text\/html: "<!DOCTYPE html><html><body>Welcome to nginx!/);
    });
    test('a web server answering 404 text/html', async () => {
      await notTrust(html404.url, 'a 404 HTML page', /HTTP 404, text\/html: "<html><body><h1>404 Not Found/);
    });
    test('another JSON API (404 without an ocitrust error code)', async () => {
      await notTrust(otherJson.url, 'another JSON API', /HTTP 404, application\/json: "\{\\"error\\":\\"not found\\"/);
    });
    test('the real trust server: a missing collection is still told apart (not TRUST_SERVER_NOT_OCITRUST)', async () => {
      const r = await fresh(ts.url).run(['verify', `${regFront.host}/bad/none:v1`]);
      assert.notEqual(r.code, 0);
      assert.ok(!reported(r).includes('TRUST_SERVER_NOT_OCITRUST'), `${r.stdout}${r.stderr}`);
    });
  });
});

describe('the trust server identifies itself on every answer', () => {
  test('Ocitrust-Api-Version on success, 404, unknown routes and refusals', async () => {
    const t = await testApp();
    try {
      for (const [url, status] of [['/healthz', 200], ['/nope', 404], ['/v1/collections/r.example/none/1.root.json', 404], ['/v1/audit', 401]] as const) {
        const res = await t.app.inject({ url });
        assert.equal(res.statusCode, status, `${url}: ${res.body}`);
        assert.equal(res.headers[TRUST_SERVER_HEADER], TRUST_SERVER_API_VERSION, url);
      }
    } finally {
      await t.close();
    }
  });
});

let rootFile: string | undefined;
/** The collection's root v1 as a file (for --root), read straight from the real trust server. */
async function pinnedRoot(server: string, collection: string, dir: string): Promise<string> {
  if (rootFile) return rootFile;
  const res = await fetch(`${server}/v1/collections/${collection.split('/').map(encodeURIComponent).join('/')}/1.root.json`);
  assert.equal(res.status, 200);
  rootFile = join(dir, 'root-v1.json');
  await writeFile(rootFile, new Uint8Array(await res.arrayBuffer()));
  return rootFile;
}
