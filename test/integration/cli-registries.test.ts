// The `trust` CLI against the trust server's embedded OCI registry (referrers API) and Debian's
// docker-registry (tag fallback): multi-arch signing and the multi-arch policy knob, copying an
// image with its signatures from one to the other and verifying the copy, and
// `verify-manifests` on Kubernetes YAML.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDistribution, type Distribution } from '../helpers/distribution.js';
import { makeImage, makeIndex, missingPrograms, skopeoPush, writeOciLayout, type TestImage, type TestIndex } from '../helpers/oci-layout.js';
import { CliSession, failureCodes, startTrustServer, type TestTrustServer } from '../helpers/cli.js';

const skip = missingPrograms('docker-registry', 'skopeo');

describe('trust CLI with the embedded registry and docker-registry', { skip, timeout: 600_000 }, () => {
  let ts: TestTrustServer;
  let reg: Distribution;
  let s: CliSession;
  let work: string;
  let token: string;
  let embedded: string;

  before(async () => {
    ts = await startTrustServer({ registry: true });
    reg = await startDistribution();
    token = await ts.token();
    embedded = new URL(ts.url).host;
    s = new CliSession({ server: ts.url, token });
    work = await mkdtemp(join(tmpdir(), 'ocitrust-cli-reg-'));
    const k = await s.run(['key', 'generate', 'alice', '--dir', work]);
    assert.equal(k.code, 0, k.stderr);
  });
  after(async () => {
    await reg?.stop();
    await ts?.close();
    s?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  let n = 0;
  async function push(dest: string, content: TestImage | TestIndex, creds?: string): Promise<void> {
    const dir = join(work, `layout-${++n}`);
    await writeOciLayout(dir, [{ tag: 'v1', content }]);
    await skopeoPush(dir, 'v1', dest, creds);
  }
  async function collectionWithAlice(repo: string): Promise<void> {
    const init = await s.run(['init', repo]);
    assert.equal(init.code, 0, init.stderr);
    const add = await s.run(['signer', 'add', '--key', join(work, 'alice.pub'), 'alice', repo]);
    assert.equal(add.code, 0, add.stderr);
  }
  function ok(r: { code: number | null; stdout: string; stderr: string }, what: string): void {
    assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  }

  test('multi-arch: verify reports the index and each child; sign --recursive; the policy knob decides', async () => {
    const repo = `${embedded}/cli/multi`;
    const index = makeIndex();
    await push(`${repo}:v1`, index, `ocitrust:${token}`);
    await collectionWithAlice(repo);

    const sign = await s.run(['sign', '-o', 'json', `${repo}:v1`]);
    ok(sign, 'sign the index');
    const signed = JSON.parse(sign.stdout);
    assert.equal(signed.digest, index.index.digest);
    assert.equal(signed.signed.length, 1);
    assert.equal(signed.signed[0].signature.mode, 'api', 'the embedded registry has the referrers API');

    const def = await s.run(['verify', '-o', 'json', `${repo}:v1`]);
    ok(def, 'index mode: the index signature suffices');
    const r = JSON.parse(def.stdout).results[0];
    assert.equal(r.verified, true);
    assert.deepEqual(
      r.children.map((c: { digest: string; verified: boolean; platform: string }) => [c.digest, c.verified, c.platform]),
      [
        [index.images[0]!.manifest.digest, false, 'linux/amd64'],
        [index.images[1]!.manifest.digest, false, 'linux/arm64/v8'],
      ],
    );
    const all = await s.run(['verify', '-o', 'json', '--multi-arch', 'all-children', `${repo}:v1`]);
    assert.equal(all.code, 1, all.stdout);
    assert.ok(failureCodes(all).includes('CHILD_NOT_VERIFIED'));

    const rec = await s.run(['sign', '-o', 'json', '--recursive', `${repo}:v1`]);
    ok(rec, 'sign --recursive');
    assert.deepEqual(
      JSON.parse(rec.stdout).signed.map((x: { digest: string }) => x.digest),
      [index.index.digest, index.images[0]!.manifest.digest, index.images[1]!.manifest.digest],
    );
    const all2 = await s.run(['verify', '-o', 'json', '--multi-arch', 'all-children', `${repo}:v1`]);
    ok(all2, 'all-children after sign --recursive');
    assert.deepEqual(JSON.parse(all2.stdout).results[0].children.map((c: { verified: boolean }) => c.verified), [true, true]);
    ok(await s.run(['verify', '--multi-arch', 'platform', '--platform', 'linux/arm64', `${repo}:v1`]), 'platform mode');
    const noPlatform = await s.run(['verify', '-o', 'json', '--multi-arch', 'platform', '--platform', 'windows/amd64', `${repo}:v1`]);
    assert.equal(noPlatform.code, 1);
    assert.ok(failureCodes(noPlatform).includes('CHILD_MISSING'));
  });

  test('copy from the embedded registry (referrers API) to docker-registry (tag fallback), then verify the copy', async () => {
    const src = `${embedded}/cli/copied`;
    const image = makeImage();
    await push(`${src}:v1`, image, `ocitrust:${token}`);
    await collectionWithAlice(src);
    ok(await s.run(['sign', `${src}:v1`]), 'sign');
    ok(await s.run(['sign', '--signer', 'releases', `${src}:v1`]), 'sign as releases too');

    const dst = `${reg.host}/mirror/copied`;
    const copy = await s.run(['copy', '-o', 'json', `${src}:v1`, dst]);
    ok(copy, 'copy');
    const c = JSON.parse(copy.stdout);
    assert.equal(c.digest, image.manifest.digest);
    assert.equal(c.destination, `${dst}:v1@${image.manifest.digest}`);
    assert.equal(c.signatures.length, 2);
    assert.ok(c.signatures.every((x: { mode: string }) => x.mode === 'fallback'), 'docker-registry has no referrers API');

    // The copy is verified as what it is a copy of: the source's collection and statements.
    const mirror = await s.run(['verify', '-o', 'json', '--mirror-of', src, `${dst}:v1`]);
    ok(mirror, 'verify --mirror-of');
    assert.deepEqual(JSON.parse(mirror.stdout).results[0].signatures.map((x: { role: string }) => x.role).sort(), ['alice', 'releases']);

    const policy = join(work, 'mirror-policy.yaml');
    await writeFile(
      policy,
      [
        'version: 1',
        'defaults:',
        `  server: ${ts.url}`,
        'rules:',
        '  - name: mirror',
        `    images: ["${reg.host}/mirror/**"]`,
        `    identityRemap: {from: "${reg.host}/mirror", to: "${embedded}/cli"}`,
        '    requiredRoles: {allOf: [alice]}',
        '',
      ].join('\n'),
    );
    const byPolicy = await s.run(['verify', '-o', 'json', '--policy', policy, `${dst}:v1`]);
    ok(byPolicy, 'verify --policy with identity remap');
    const pr = JSON.parse(byPolicy.stdout).results[0];
    assert.equal(pr.verified, true);
    assert.deepEqual(pr.policy, { rule: 'mirror', mode: 'enforce' });

    // Without the remap the copy's statements name another repository, and it has no collection.
    const plain = await s.run(['verify', `${dst}:v1`]);
    assert.equal(plain.code, 1, plain.stdout + plain.stderr);
    assert.match(plain.stdout, /NOT verified: not signed: .*\[NOT_SIGNED\]/);
    // An image no rule matches is refused (unmatched: deny by default).
    const unmatched = await s.run(['verify', '-o', 'json', '--policy', policy, `${src}:v1`]);
    assert.equal(unmatched.code, 1);
    assert.deepEqual(failureCodes(unmatched), ['POLICY_FILE_NO_MATCH']);
  });

  test('a prefix collection: one collection for every repository under it (--collection, --paths)', async () => {
    const prefix = `${embedded}/team`;
    const repo = `${prefix}/api`;
    await push(`${repo}:v1`, makeImage(), `ocitrust:${token}`);
    ok(await s.run(['init', prefix]), 'init the prefix collection');
    ok(await s.run(['signer', 'add', '--key', join(work, 'alice.pub'), '--paths', `${prefix}/*:*`, '--paths', `${prefix}/*@*`, 'alice', prefix]), 'signer add');
    ok(await s.run(['sign', '--collection', prefix, `${repo}:v1`]), 'sign');
    const v = await s.run(['verify', '-o', 'json', '--collection', prefix, `${repo}:v1`]);
    ok(v, 'verify');
    assert.equal(JSON.parse(v.stdout).results[0].signatures[0].role, 'alice');
    const own = await s.run(['verify', `${repo}:v1`]);
    assert.equal(own.code, 1, 'the repository has no collection of its own: not signed');
    assert.match(own.stdout, /\[NOT_SIGNED\]/);
  });

  test('verify-manifests: lists images with their places, verifies each once, pins verified digests', async () => {
    const signedRepo = `${embedded}/cli/web`;
    const unsignedRepo = `${embedded}/cli/sidecar`;
    const web = makeImage();
    await push(`${signedRepo}:v1`, web, `ocitrust:${token}`);
    await push(`${unsignedRepo}:v1`, makeImage(), `ocitrust:${token}`);
    await collectionWithAlice(signedRepo);
    await collectionWithAlice(unsignedRepo);
    ok(await s.run(['sign', `${signedRepo}:v1`]), 'sign');

    const deployment = (sidecar: boolean): string =>
      [
        '# the web tier',
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata: {name: web}',
        'spec:',
        '  template:',
        '    spec:',
        '      initContainers:',
        `        - {name: init, image: "${signedRepo}:v1"}`,
        '      containers:',
        `        - name: web`,
        `          image: ${signedRepo}:v1   # pinned by trust`,
        ...(sidecar ? ['        - name: sidecar', `          image: ${unsignedRepo}:v1`] : []),
        '',
      ].join('\n');
    const bad = join(work, 'bad.yaml');
    const good = join(work, 'good.yaml');
    await writeFile(bad, deployment(true));
    await writeFile(good, deployment(false));

    const list = await s.run(['verify-manifests', '--list', '-o', 'json', bad]);
    ok(list, 'list');
    assert.deepEqual(
      JSON.parse(list.stdout).images.map((i: { kind: string; name: string; path: string; image: string }) => [i.kind, i.name, i.path, i.image]),
      [
        ['Deployment', 'web', 'spec.template.spec.initContainers[0]', `${signedRepo}:v1`],
        ['Deployment', 'web', 'spec.template.spec.containers[0]', `${signedRepo}:v1`],
        ['Deployment', 'web', 'spec.template.spec.containers[1]', `${unsignedRepo}:v1`],
      ],
    );

    const v = await s.run(['verify-manifests', '-o', 'json', bad]);
    assert.equal(v.code, 1, v.stdout + v.stderr);
    const results = JSON.parse(v.stdout).results as { image: string; verified: boolean; places: unknown[]; failures: { code: string }[] }[];
    assert.equal(results.length, 2, 'each distinct image once');
    assert.deepEqual(results.map((r) => [r.image, r.verified, r.places.length]), [
      [`${signedRepo}:v1`, true, 2],
      [`${unsignedRepo}:v1`, false, 1],
    ]);
    assert.deepEqual(results[1]!.failures.map((f) => f.code), ['NO_SIGNATURES']);
    const refused = await s.run(['verify-manifests', '--pin', bad]);
    assert.equal(refused.code, 1);
    assert.equal(refused.stdout, '', 'no YAML when an image fails');

    const pinned = await s.run(['verify-manifests', '--pin'], { input: deployment(false) });
    ok(pinned, 'pin from stdin');
    assert.equal(pinned.stdout, deployment(false).replaceAll(`${signedRepo}:v1`, `${signedRepo}:v1@${web.manifest.digest}`));
    assert.match(pinned.stderr, /verified/);
  });
});
