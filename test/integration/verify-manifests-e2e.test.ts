// `trust verify-manifests` end to end: the real CLI in a child process against a real trust
// server with its embedded registry, on Kubernetes YAML (comments, several documents, a List,
// init and ephemeral containers) naming signed and unsigned images pushed and signed for the test.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { CliSession } from '../helpers/cli.js';
import { startAdmissionWorld, type AdmissionWorld } from '../helpers/admission-world.js';

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe('trust verify-manifests (CLI process, trust server, embedded registry)', () => {
  let w: AdmissionWorld;
  let cli: CliSession;
  const digests = new Map<string, string>();
  let goodYaml: string;
  let badYaml: string;
  let policyFile: string;
  const f = (name: string): string => join(w.dir, name);

  before(async () => {
    w = await startAdmissionWorld();
    const h = w.host;
    const root = await w.createCollection(`${h}/team`, [`${h}/*/*`]);
    for (const [path, tag, sign] of [
      ['team/app', '1.2.3', true],
      ['team/migrate', '1.4', true],
      ['team/report', '2024.1', true],
      ['library/busybox', '1.36', true],
      ['team/unsigned', '1', false],
    ] as const) {
      const { reference, digest } = await w.pushImage(path, tag);
      digests.set(reference, digest);
      if (sign) await w.sign(reference);
    }
    const down = await closedPort();
    policyFile = f('policy.yaml');
    writeFileSync(
      policyFile,
      [
        '# deploy policy',
        'version: 1',
        'rules:',
        '  - name: team',
        `    images: ["${h}/team/*", "${h}/library/*"]`,
        `    collection: ${h}/team`,
        `    root: ${root}`,
        '  - name: down',
        `    images: ["127.0.0.1:${down}/**"]`,
        `    collection: ${h}/team`,
        `    root: ${root}`,
        '',
      ].join('\n'),
    );
    goodYaml = [
      '# The web tier. Comments and layout survive --pin.',
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata:',
      '  name: web',
      '  namespace: prod',
      'spec:',
      '  template:',
      '    spec:',
      '      initContainers:',
      '        - name: migrate',
      `          image: ${h}/team/migrate:1.4   # schema migrations first`,
      '      containers:',
      '        - name: app',
      `          image: "${h}/team/app:1.2.3"`,
      '---',
      'apiVersion: batch/v1',
      'kind: CronJob',
      'metadata: {name: report}',
      'spec:',
      '  schedule: "0 2 * * *"',
      '  jobTemplate:',
      '    spec:',
      '      template:',
      '        spec:',
      '          containers:',
      `            - {name: report, image: '${h}/team/report:2024.1'}`,
      '---',
      'apiVersion: v1',
      'kind: List',
      'items:',
      '  - apiVersion: v1',
      '    kind: Pod',
      '    metadata: {name: debug}',
      '    spec:',
      '      containers:',
      '        - name: app',
      `          image: ${h}/team/app:1.2.3      # the same image again: verified once`,
      '      ephemeralContainers:',
      '        - name: shell',
      `          image: ${h}/library/busybox:1.36`,
      '',
    ].join('\n');
    writeFileSync(f('good.yaml'), goodYaml);
    badYaml = goodYaml.replace(`image: "${h}/team/app:1.2.3"`, `image: "${h}/team/unsigned:1"`);
    writeFileSync(f('bad.yaml'), badYaml);
    writeFileSync(f('down.yaml'), `apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - {name: a, image: "127.0.0.1:${down}/team/app:1"}\n`);
    writeFileSync(f('ko.yaml'), `apiVersion: v1\nkind: Pod\nmetadata: {name: ko}\nspec:\n  containers:\n    - {name: a, image: ko://github.com/example/cmd/app}\n    - {name: b, image: ${h}/team/app:1.2.3}\n`);
    writeFileSync(f('broken.yaml'), 'apiVersion: v1\nkind: Pod\nspec: {containers: [\n');
    cli = new CliSession({ server: w.url, env: { DOCKER_CONFIG: join(w.dir, 'no-docker-config') } });
  });
  after(async () => {
    cli?.cleanup();
    await w?.close();
  });

  it('--list -o json lists every image occurrence with file, kind, name and path, invalid ones included', async () => {
    const r = await cli.run(['verify-manifests', '--list', '-o', 'json', f('good.yaml'), f('ko.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    const { images } = JSON.parse(r.stdout);
    const h = w.host;
    assert.deepEqual(
      images.map((i: any) => [i.kind, i.name, i.path, i.image]),
      [
        ['Deployment', 'web', 'spec.template.spec.initContainers[0]', `${h}/team/migrate:1.4`],
        ['Deployment', 'web', 'spec.template.spec.containers[0]', `${h}/team/app:1.2.3`],
        ['CronJob', 'report', 'spec.jobTemplate.spec.template.spec.containers[0]', `${h}/team/report:2024.1`],
        ['Pod', 'debug', 'items[0].spec.containers[0]', `${h}/team/app:1.2.3`],
        ['Pod', 'debug', 'items[0].spec.ephemeralContainers[0]', `${h}/library/busybox:1.36`],
        ['Pod', 'ko', 'spec.containers[0]', 'ko://github.com/example/cmd/app'],
        ['Pod', 'ko', 'spec.containers[1]', `${h}/team/app:1.2.3`],
      ],
    );
    assert.equal(images[0].file, f('good.yaml'));
    assert.equal(images[0].reference, `${h}/team/migrate:1.4`);
    assert.ok(images[5].error, 'a ko:// reference is reported as invalid, not dropped');
    assert.equal(images[5].reference, undefined);
  });

  it('exit 0 when every image verifies, with a verdict per image and where it was found', async () => {
    const r = await cli.run(['verify-manifests', '--policy', policyFile, f('good.yaml')]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const h = w.host;
    for (const img of [`${h}/team/migrate:1.4`, `${h}/team/app:1.2.3`, `${h}/team/report:2024.1`, `${h}/library/busybox:1.36`]) {
      assert.ok(r.stdout.includes(`${img}@${digests.get(img)}`), `verdict for ${img}:\n${r.stdout}`);
    }
    assert.match(r.stdout, /Deployment\/web: spec\.template\.spec\.initContainers\[0\]/);
    assert.equal((r.stdout.match(/✓/g) ?? []).length, 4, 'four distinct images, each verified once');
  });

  it('exit 1 when an image is not signed, naming it, the failed check and where it is', async () => {
    const r = await cli.run(['verify-manifests', '--policy', policyFile, f('bad.yaml')]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`✗ ${w.host}/team/unsigned:1.*NOT verified.*NO_SIGNATURES`));
    assert.match(r.stdout, /Deployment\/web: spec\.template\.spec\.containers\[0\]/);
    const json = await cli.run(['verify-manifests', '-o', 'json', '--policy', policyFile, f('bad.yaml')]);
    assert.equal(json.code, 1);
    const results = JSON.parse(json.stdout).results;
    const bad = results.find((x: any) => x.image === `${w.host}/team/unsigned:1`);
    assert.equal(bad.verified, false);
    assert.ok(bad.failures.some((x: any) => x.code === 'NO_SIGNATURES'));
    assert.deepEqual(bad.places.map((p: any) => [p.kind, p.name, p.path]), [['Deployment', 'web', 'spec.template.spec.containers[0]']]);
    assert.ok(results.filter((x: any) => x !== bad).every((x: any) => x.verified === true));
  });

  it('--pin writes the same YAML with each image pinned to its verified digest, comments and layout kept', async () => {
    const r = await cli.run(['verify-manifests', '--policy', policyFile, '--pin', f('good.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    let expected = goodYaml;
    for (const [img, digest] of digests) expected = expected.replaceAll(`${img}"`, `${img}@${digest}"`).replaceAll(`${img}'`, `${img}@${digest}'`).replaceAll(`${img} `, `${img}@${digest} `).replaceAll(`${img}\n`, `${img}@${digest}\n`);
    assert.equal(r.stdout, expected);
    assert.match(r.stdout, /# schema migrations first/);
    // And from stdin, as in `helm template … | trust verify-manifests --pin | kubectl apply -f -`.
    const piped = await cli.run(['verify-manifests', '--policy', policyFile, '--pin'], { input: goodYaml });
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(piped.stdout, expected);
  });

  it('--pin writes no YAML when an image does not verify (exit 1)', async () => {
    const r = await cli.run(['verify-manifests', '--policy', policyFile, '--pin', f('bad.yaml')]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /unsigned:1/);
  });

  it('exit 2 for input errors (broken YAML, a missing file); exit 3 when the registry cannot be reached', async () => {
    const broken = await cli.run(['verify-manifests', '--policy', policyFile, f('broken.yaml')]);
    assert.equal(broken.code, 2, broken.stderr);
    assert.match(broken.stderr, /HOOK_YAML_INVALID/);
    const missing = await cli.run(['verify-manifests', '--policy', policyFile, f('nope.yaml')]);
    assert.equal(missing.code, 2, missing.stderr);
    const down = await cli.run(['verify-manifests', '--policy', policyFile, f('down.yaml')]);
    assert.equal(down.code, 3, down.stdout + down.stderr);
    assert.match(down.stderr, /REGISTRY_/);
  });
});
