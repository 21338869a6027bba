// Issue 17: save images with their signatures and trust data into one OCI layout tar outside,
// verify from the tar alone inside (another home, no trust server, no registry), and the
// rollback/revocation rules across bundles.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliSession, startTrustServer, type TestTrustServer, type TrustRun } from '../helpers/cli.js';
import { startEmbeddedRegistry, type EmbeddedRegistry } from '../helpers/embedded-registry.js';
import { makeImage, makeIndex } from '../helpers/oci-layout.js';
import { HttpRegistryClient } from '../../lib/oci/client.js';
import { anonymous } from '../../lib/oci/credentials.js';
import { OCI_INDEX, OCI_MANIFEST } from '../../lib/oci/types.js';

function exits(r: TrustRun, code: number, what: string): void {
  assert.equal(r.code, code, `${what}: exit ${r.code}, expected ${code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');
}

interface Result {
  verified: boolean;
  digest: string;
  failures: { code: string }[];
  trustData?: Record<string, { rule: string; admittedUntil: string; versions: Record<string, number> }>;
}
const results = (r: TrustRun): Result[] => (JSON.parse(r.stdout) as { results: Result[] }).results;

describe('trust save / verify oci-layout: (issue 17)', { timeout: 600_000 }, () => {
  let ts: TestTrustServer;
  let reg: EmbeddedRegistry;
  let outside: CliSession;
  let inside: CliSession;
  let work: string;
  let repo: string;
  let multi: string;
  let digest: string;
  const client = new HttpRegistryClient({ credentials: anonymous });

  before(async () => {
    ts = await startTrustServer();
    reg = await startEmbeddedRegistry();
    outside = new CliSession({ server: ts.url, token: await ts.token() });
    // Inside: its own home; the trust server it would name does not exist.
    inside = new CliSession({ server: 'http://127.0.0.1:9' });
    work = await mkdtemp(join(tmpdir(), 'ocitrust-airgap-'));
    exits(await outside.run(['key', 'generate', 'alice', '--dir', work]), 0, 'key generate');
    repo = `${reg.host}/airgap/app`;
    multi = `${reg.host}/airgap/multi`;
    for (const r of [repo, multi]) {
      exits(await outside.run(['init', r]), 0, 'init');
      exits(await outside.run(['signer', 'add', '--key', join(work, 'alice.pub'), 'alice', r]), 0, 'signer add');
    }
    const image = makeImage();
    const ref = { registry: reg.host, path: 'airgap/app' };
    for (const b of image.blobs) await client.pushBlob(ref, b.bytes);
    await client.putManifest(ref, 'v1', image.manifest.bytes, OCI_MANIFEST);
    digest = image.manifest.digest;
    const idx = makeIndex();
    const mref = { registry: reg.host, path: 'airgap/multi' };
    for (const im of idx.images) {
      for (const b of im.blobs) await client.pushBlob(mref, b.bytes);
      await client.putManifest(mref, im.manifest.digest, im.manifest.bytes, OCI_MANIFEST);
    }
    await client.putManifest(mref, 'v1', idx.index.bytes, OCI_INDEX);
    exits(await outside.run(['sign', `${repo}:v1`]), 0, 'sign');
    exits(await outside.run(['sign', '--recursive', `${multi}:v1`]), 0, 'sign multi');
  });

  after(async () => {
    await reg?.close();
    await ts?.close();
    outside?.cleanup();
    inside?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('save → tar → verify --offline from the tar alone, in another home; the output names the freshness rule', async () => {
    const tar = join(work, 'one.tar');
    const s = await outside.run(['save', '--out', tar, `${repo}:v1`, `${multi}:v1`]);
    exits(s, 0, 'save');
    assert.match(s.stderr, /saved .*airgap\/app.*1 signature/);
    assert.match(s.stderr, /saved trust data of .*airgap\/app/);
    const v = await inside.run(['verify', '--offline', '-o', 'json', `oci-layout:${tar}:${repo}:v1`, `oci-layout:${tar}:${multi}:v1`]);
    exits(v, 0, 'verify inside');
    const [a, b] = results(v);
    assert.equal(a!.verified, true);
    assert.equal(a!.digest, digest);
    assert.equal(b!.verified, true);
    assert.equal(a!.trustData?.[repo]?.rule, 'tuf-expiry');
    // First use inside: the bundle's root was pinned, and said so.
    assert.match(v.stderr, /first contact with .*airgap\/app/);
    // Text mode: a short tag works too, and the freshness rule is on stderr.
    const t = await inside.run(['verify', '--offline', `oci-layout:${tar}:v1`.replace(':v1', `:${repo}:v1`)]);
    exits(t, 0, 'verify text');
    assert.match(t.stdout, /verified/);
    assert.match(t.stderr, /TUF expiry/);
  });

  test('a revocation made outside reaches inside with the next bundle; the older bundle cannot roll it back', async () => {
    const home = new CliSession({ server: 'http://127.0.0.1:9' });
    try {
      const before = join(work, 'before.tar');
      exits(await outside.run(['save', '--out', before, `${repo}:v1`]), 0, 'save before');
      exits(await home.run(['verify', '--offline', `oci-layout:${before}:${repo}:v1`]), 0, 'verify before');
      exits(await outside.run(['revoke', '--reason', 'compromised build', `${repo}:v1`]), 0, 'revoke');
      const afterTar = join(work, 'after.tar');
      exits(await outside.run(['save', '--out', afterTar, `${repo}:v1`]), 0, 'save after');
      const v = await home.run(['verify', '--offline', '-o', 'json', `oci-layout:${afterTar}:${repo}:v1`]);
      exits(v, 1, 'verify after revocation');
      assert.ok(results(v)[0]!.failures.some((f) => f.code === 'SIG_REVOKED' || f.code === 'NO_SIGNATURES'), v.stdout);
      const old = await home.run(['verify', '--offline', '-o', 'json', `oci-layout:${before}:${repo}:v1`]);
      exits(old, 1, 'older bundle');
      assert.deepEqual(results(old)[0]!.failures.map((f) => f.code), ['TUF_ROLLBACK']);
    } finally {
      home.cleanup();
    }
  });

  test('bad input: a truncated tar, an altered blob, a missing image: coded errors, exit 2 or 1', async () => {
    const tar = join(work, 'bad.tar');
    exits(await outside.run(['save', '--out', tar, `${multi}:v1`]), 0, 'save');
    const bytes = await readFile(tar);
    await writeFile(join(work, 'cut.tar'), bytes.subarray(0, bytes.length - 3000));
    const cut = await inside.run(['verify', '--offline', '-o', 'json', `oci-layout:${join(work, 'cut.tar')}:${multi}:v1`]);
    exits(cut, 2, 'truncated');
    assert.deepEqual(results(cut)[0]!.failures.map((f) => f.code), ['TAR_TRUNCATED']);
    const missing = await inside.run(['verify', '--offline', '-o', 'json', `oci-layout:${tar}:${repo}:v9`]);
    exits(missing, 2, 'no such image');
    assert.deepEqual(results(missing)[0]!.failures.map((f) => f.code), ['LAYOUT_REFERENCE_INVALID']);
    const exists = await outside.run(['save', '--out', tar, `${multi}:v1`]);
    exits(exists, 2, 'archive exists');
  });
});
