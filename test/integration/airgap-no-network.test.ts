// Issue 17: `--offline` with layout inputs makes no network access at all. verify,
// verify-manifests and inspect run in a network namespace with no usable interface
// (`unshare -n`: only a downed loopback) and still verify from the tar; and the socket guard
// turns any attempt into OFFLINE_NETWORK_ATTEMPT (exit 3) even where the network exists.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliSession, PROJECT_ROOT, startTrustServer, type TestTrustServer, type TrustRun } from '../helpers/cli.js';
import { startEmbeddedRegistry, type EmbeddedRegistry } from '../helpers/embedded-registry.js';
import { makeImage, missingPrograms } from '../helpers/oci-layout.js';
import { HttpRegistryClient } from '../../lib/oci/client.js';
import { anonymous } from '../../lib/oci/credentials.js';
import { OCI_MANIFEST } from '../../lib/oci/types.js';

const skip = missingPrograms('unshare');

function exits(r: TrustRun, code: number, what: string): void {
  assert.equal(r.code, code, `${what}: exit ${r.code}, expected ${code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');
}

/** Runs the `trust` sources in a new network namespace (root, as the tests run). */
function trustWithoutNetwork(args: readonly string[], env: Record<string, string | undefined>): Promise<TrustRun> {
  const full: Record<string, string> = {};
  for (const k of ['PATH', 'HOME', 'TMPDIR', 'LANG']) if (process.env[k] !== undefined) full[k] = process.env[k]!;
  for (const [k, v] of Object.entries(env)) if (v !== undefined) full[k] = v;
  return new Promise((resolve, reject) => {
    const p = spawn('unshare', ['-n', process.execPath, '--import', 'tsx', join(PROJECT_ROOT, 'cli', 'main.ts'), ...args], { cwd: PROJECT_ROOT, env: full, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('--offline with a layout: zero network (issue 17)', { skip, timeout: 600_000 }, () => {
  let ts: TestTrustServer;
  let reg: EmbeddedRegistry;
  let outside: CliSession;
  let inside: CliSession;
  let work: string;
  let repo: string;
  let tar: string;

  before(async () => {
    ts = await startTrustServer();
    reg = await startEmbeddedRegistry();
    outside = new CliSession({ server: ts.url, token: await ts.token() });
    inside = new CliSession({ server: 'https://trust.inside.example' });
    work = await mkdtemp(join(tmpdir(), 'ocitrust-nonet-'));
    repo = `${reg.host}/nonet/app`;
    const run = async (args: string[]) => exits(await outside.run(args), 0, args.join(' '));
    await run(['key', 'generate', 'alice', '--dir', work]);
    await run(['init', repo]);
    await run(['signer', 'add', '--key', join(work, 'alice.pub'), 'alice', repo]);
    const image = makeImage();
    const client = new HttpRegistryClient({ credentials: anonymous });
    const ref = { registry: reg.host, path: 'nonet/app' };
    for (const b of image.blobs) await client.pushBlob(ref, b.bytes);
    await client.putManifest(ref, 'v1', image.manifest.bytes, OCI_MANIFEST);
    await run(['sign', `${repo}:v1`]);
    tar = join(work, 'bundle.tar');
    await run(['save', '--out', tar, `${repo}:v1`]);
    await writeFile(join(work, 'deploy.yaml'), `apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n  containers:\n  - name: app\n    image: ${repo}:v1\n`);
  });

  after(async () => {
    await reg?.close();
    await ts?.close();
    outside?.cleanup();
    inside?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('verify, verify-manifests and inspect verify from the tar in a namespace without network', async () => {
    const v = await trustWithoutNetwork(['verify', '--offline', '-o', 'json', `oci-layout:${tar}:${repo}:v1`], inside.env);
    exits(v, 0, 'verify');
    assert.equal((JSON.parse(v.stdout) as { results: { verified: boolean }[] }).results[0]!.verified, true);
    const m = await trustWithoutNetwork(['verify-manifests', '--offline', '--layout', tar, '-o', 'json', join(work, 'deploy.yaml')], inside.env);
    exits(m, 0, 'verify-manifests');
    assert.equal((JSON.parse(m.stdout) as { results: { verified: boolean }[] }).results[0]!.verified, true);
    const i = await trustWithoutNetwork(['inspect', '--offline', `oci-layout:${tar}:${repo}:v1`], inside.env);
    exits(i, 0, 'inspect');
    const doc = JSON.parse(i.stdout) as { signatures: { counts: boolean; role: string }[] };
    assert.deepEqual(doc.signatures.map((s) => [s.role, s.counts]), [['alice', true]]);
  });

  test('the socket guard: with --offline and a layout, a registry image is refused at the socket (OFFLINE_NETWORK_ATTEMPT, exit 3)', async () => {
    const r = await inside.run(['verify', '--offline', `oci-layout:${tar}:${repo}:v1`, `${repo}:v1`]);
    exits(r, 3, 'mixed');
    assert.match(r.stderr, /\[OFFLINE_NETWORK_ATTEMPT\]/);
    assert.match(r.stderr, new RegExp(`connect 127\\.0\\.0\\.1:${reg.host.split(':')[1]}`));
  });
});
