// Issue 17, the whole transfer: an outside trust server + registry, a separate inside trust
// server + registry. Outside: sign, save a tar. Inside: `trust server import` (read-only
// mirror) and `trust load`, then verify through the CLI against the inside server. A
// revocation made outside reaches inside with the next bundle; the older bundle cannot roll it
// back; a bundle relabelled as another collection and publishes to a mirror are refused.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliSession, startTrustServer, type TestTrustServer, type TrustRun } from '../helpers/cli.js';
import { startEmbeddedRegistry, type EmbeddedRegistry } from '../helpers/embedded-registry.js';
import { makeImage } from '../helpers/oci-layout.js';
import { HttpRegistryClient } from '../../lib/oci/client.js';
import { anonymous } from '../../lib/oci/credentials.js';
import { OciLayout } from '../../lib/oci/layout.js';
import { readTrustBundle, writeTrustBundle } from '../../lib/oci/trust-bundle.js';
import { OCI_MANIFEST } from '../../lib/oci/types.js';

function exits(r: TrustRun, code: number, what: string): void {
  assert.equal(r.code, code, `${what}: exit ${r.code}, expected ${code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');
}

describe('air-gapped transfer to a second trust server + registry (issue 17)', { timeout: 600_000 }, () => {
  let outTs: TestTrustServer;
  let outReg: EmbeddedRegistry;
  let inTs: TestTrustServer;
  let inReg: EmbeddedRegistry;
  let outside: CliSession;
  let inside: CliSession;
  let work: string;
  let repo: string;
  let other: string;
  const client = new HttpRegistryClient({ credentials: anonymous });

  const importInside = (path: string, extra: string[] = []) => inside.run(['server', 'import', '--data', inTs.dataDir, ...extra, path]);
  const verifyInside = (ref: string) => inside.run(['verify', '-o', 'json', '--mirror-of', repo, ref]);

  before(async () => {
    outTs = await startTrustServer();
    outReg = await startEmbeddedRegistry();
    inTs = await startTrustServer();
    inReg = await startEmbeddedRegistry();
    outside = new CliSession({ server: outTs.url, token: await outTs.token() });
    inside = new CliSession({ server: inTs.url, token: await inTs.token() });
    work = await mkdtemp(join(tmpdir(), 'ocitrust-import-'));
    exits(await outside.run(['key', 'generate', 'alice', '--dir', work]), 0, 'key');
    repo = `${outReg.host}/team/app`;
    other = `${outReg.host}/team/other`;
    for (const r of [repo, other]) {
      exits(await outside.run(['init', r]), 0, 'init');
      exits(await outside.run(['signer', 'add', '--key', join(work, 'alice.pub'), 'alice', r]), 0, 'signer add');
      const image = makeImage();
      const ref = { registry: outReg.host, path: r.slice(outReg.host.length + 1) };
      for (const b of image.blobs) await client.pushBlob(ref, b.bytes);
      await client.putManifest(ref, 'v1', image.manifest.bytes, OCI_MANIFEST);
      exits(await outside.run(['sign', `${r}:v1`]), 0, 'sign');
    }
  });

  after(async () => {
    for (const x of [outReg, inReg]) await x?.close();
    for (const x of [outTs, inTs]) await x?.close();
    outside?.cleanup();
    inside?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('import + load inside, verify against the inside server; a revocation arrives with the next bundle; the old bundle cannot roll it back', async () => {
    const first = join(work, 'first.tar');
    exits(await outside.run(['save', '--out', first, `${repo}:v1`]), 0, 'save');
    const imp = await importInside(first);
    exits(imp, 0, 'import');
    assert.match(imp.stdout, /Created mirror .*team\/app: root v1/);
    exits(await inside.run(['load', first, '--to', `${inReg.host}/mirror`]), 0, 'load');
    const loaded = `${inReg.host}/mirror/team/app:v1`;
    const v1 = await verifyInside(loaded);
    exits(v1, 0, 'verify inside');
    // The same bundle again: nothing newer.
    const again = await importInside(first);
    exits(again, 0, 'import again');
    assert.match(again.stdout, /nothing newer/);

    exits(await outside.run(['revoke', '--reason', 'leaked build key', `${repo}:v1`]), 0, 'revoke outside');
    const second = join(work, 'second.tar');
    exits(await outside.run(['save', '--out', second, `${repo}:v1`]), 0, 'save after revoke');
    const adv = await importInside(second);
    exits(adv, 0, 'import the revocation');
    assert.match(adv.stdout, /Advanced mirror/);
    const v2 = await verifyInside(loaded);
    exits(v2, 1, 'revoked inside');
    assert.ok((JSON.parse(v2.stdout) as { results: { failures: { code: string }[] }[] }).results[0]!.failures.some((f) => f.code === 'SIG_REVOKED'), v2.stdout);

    const back = await importInside(first);
    exits(back, 1, 'older bundle');
    assert.match(back.stderr, /\[TUF_ROLLBACK\]/);
    exits(await verifyInside(loaded), 1, 'still revoked');
  });

  test('bad input: another collection\'s trust data, a publish to a mirror, a truncated tar: coded errors, nothing imported', async () => {
    // The trust data of `other` relabelled as `repo` (a mix-up, or an attack on the label).
    const dir = join(work, 'relabelled');
    exits(await outside.run(['save', '--out', dir, `${other}:v1`]), 0, 'save other');
    const layout = await OciLayout.open(dir);
    const b = await readTrustBundle(layout, other);
    await writeTrustBundle(layout, { ...b, collection: repo });
    const r = await importInside(dir, ['--collection', repo]);
    exits(r, 1, 'relabelled bundle');
    assert.match(r.stderr, /\[BUNDLE_COLLECTION_MISMATCH\]/);

    // A publish to the mirror (the bundle's own targets, as an owner would send it): refused.
    const targets = JSON.parse(Buffer.from(b.files.get([...b.files.keys()].find((n) => n.endsWith('.targets.json'))!)!).toString('utf8')) as unknown;
    const pub = await fetch(`${inTs.url}/v1/collections/${repo}/metadata`, { method: 'POST', headers: { authorization: `Bearer ${await inTs.token()}`, 'content-type': 'application/json' }, body: JSON.stringify({ targets }) });
    assert.equal(pub.status, 409);
    assert.equal(((await pub.json()) as { code: string }).code, 'MIRROR_READ_ONLY');

    const cut = join(work, 'cut.tar');
    const { readFile, writeFile } = await import('node:fs/promises');
    const bytes = await readFile(join(work, 'first.tar'));
    await writeFile(cut, bytes.subarray(0, bytes.length - 4096));
    const t = await importInside(cut);
    exits(t, 2, 'truncated');
    assert.match(t.stderr, /\[TAR_TRUNCATED\]/);
  });
});
