// The server image (issue 14): no Docker engine here to build it, so this checks what can be
// checked without one — the Containerfile builds the image deploy/ runs (same name, the
// package's version), runs as non-root, has a health check that exists in the build output,
// starts `trust` as package.json's bin, and every file it COPYs from the context exists and is
// not excluded by the ignore files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../helpers/cli.js';

interface Instruction {
  readonly op: string;
  readonly args: string;
}

/** Instructions of a Containerfile: comments dropped, `\` continuations joined. */
function parse(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    pending += (pending ? ' ' : '') + line.replace(/\\$/, '').trim();
    if (line.endsWith('\\')) continue;
    const m = /^([A-Z]+)\s+(.*)$/.exec(pending);
    assert.ok(m, `not an instruction: ${pending}`);
    out.push({ op: m[1]!, args: m[2]! });
    pending = '';
  }
  return out;
}

const containerfile = readFileSync(join(PROJECT_ROOT, 'Containerfile'), 'utf8');
const steps = parse(containerfile);
const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string; bin: { trust: string } };
const stages = steps.reduce<Instruction[][]>((acc, s) => (s.op === 'FROM' ? [...acc, [s]] : (acc[acc.length - 1]!.push(s), acc)), []);
const final = stages[stages.length - 1]!;

test('Containerfile: builds the image deploy/deployment.yaml runs, tagged with the package version', () => {
  const deployed = /^\s*image:\s*(\S+)\s*$/m.exec(readFileSync(join(PROJECT_ROOT, 'deploy', 'deployment.yaml'), 'utf8'));
  assert.ok(deployed, 'deploy/deployment.yaml names an image');
  assert.equal(deployed[1], `ghcr.io/ocitrust/ocitrust:${pkg.version}`);
  assert.ok(containerfile.includes(`build -f Containerfile -t ${deployed[1]} .`), 'the build command in the Containerfile tags the deployed image');
  const docs = readFileSync(join(PROJECT_ROOT, 'docs', 'admission.md'), 'utf8');
  assert.ok(docs.includes(`build -f Containerfile -t ${deployed[1]} .`), 'docs/admission.md gives the build command');
});

test('Containerfile: non-root, health check, data volume, entry point = package.json bin', () => {
  const user = final.filter((s) => s.op === 'USER').pop();
  assert.ok(user, 'the final stage sets USER');
  const [uid] = user.args.split(':');
  assert.match(uid!, /^[1-9][0-9]*$/, 'a numeric non-root user (Kubernetes runAsNonRoot can check it)');
  const deploy = readFileSync(join(PROJECT_ROOT, 'deploy', 'deployment.yaml'), 'utf8');
  assert.match(deploy, new RegExp(`runAsUser: ${uid}\\b`), 'the same user as deploy/ runs as');
  assert.match(deploy, /readOnlyRootFilesystem: true/);

  const health = final.find((s) => s.op === 'HEALTHCHECK');
  assert.ok(health, 'HEALTHCHECK in the final stage');
  const script = /"(\/app\/dist\/[^"]+\.js)"/.exec(health.args);
  assert.ok(script, 'the health check runs a built script');
  assert.ok(existsSync(join(PROJECT_ROOT, script[1]!.slice('/app/dist/'.length).replace(/\.js$/, '.ts'))), `${script[1]} is built from a source file`);

  const entry = final.find((s) => s.op === 'ENTRYPOINT');
  assert.ok(entry);
  assert.deepEqual(JSON.parse(entry.args), ['node', `/app/${pkg.bin.trust}`]);
  assert.deepEqual(JSON.parse(final.find((s) => s.op === 'CMD')!.args), ['server']);
  assert.match(final.find((s) => s.op === 'VOLUME')!.args, /\/var\/lib\/ocitrust/);
  const env = final.filter((s) => s.op === 'ENV').map((s) => s.args).join(' ');
  assert.match(env, /OCITRUST_DATA_DIR=\/var\/lib\/ocitrust/);
  assert.match(final.find((s) => s.op === 'EXPOSE')!.args, /^7443$/);
  // Writable only where the data lives: the data folder is made and owned by that user.
  assert.ok(final.some((s) => s.op === 'RUN' && s.args.includes(`chown ${user.args}`) && s.args.includes('/var/lib/ocitrust')));
});

test('Containerfile: every COPY from the build context exists and is not ignored', () => {
  const ignore = (name: string): string[] =>
    readFileSync(join(PROJECT_ROOT, name), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
  assert.deepEqual(ignore('.containerignore'), ignore('.dockerignore'), 'podman and docker ignore the same files');
  const ignored = ignore('.containerignore');
  const copies = steps.filter((s) => s.op === 'COPY' && !s.args.startsWith('--from'));
  assert.ok(copies.length > 0);
  for (const c of copies) {
    const parts = c.args.split(/\s+/);
    for (const src of parts.slice(0, -1)) {
      assert.ok(existsSync(join(PROJECT_ROOT, src)), `COPY ${src}: exists`);
      assert.ok(!ignored.includes(src), `COPY ${src}: not in .containerignore`);
    }
  }
  // What tsconfig.build.json compiles is all copied in.
  const build = JSON.parse(readFileSync(join(PROJECT_ROOT, 'tsconfig.build.json'), 'utf8')) as { include: string[] };
  const copied = new Set(copies.flatMap((c) => c.args.split(/\s+/).slice(0, -1)));
  for (const dir of build.include) assert.ok(copied.has(dir), `tsconfig.build.json includes ${dir}: the build stage copies it`);
  // The runtime stage takes the build output the entry point and health check live in.
  assert.ok(final.some((s) => s.op === 'COPY' && /^--from=build \/src\/dist /.test(s.args)));
});
