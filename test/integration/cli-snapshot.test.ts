// The bin from its code cache and without it (cli/code-cache.ts), and the start-up snapshot build of `trust` (issue 20: scripts/build-snapshot.mjs, the same
// snapshot `npm run build:exe` puts into the single executable) gives the same results as the
// normal bin (package.json "bin", the bundle of `npm run build`) on the seed workflow: sign,
// verify, refuse a moved tag — against a trust server with its embedded registry, one home.
// The test builds the snapshot itself (no network); the executable needs postject (npx), so it
// is checked as well only when TEST_TRUST_EXECUTABLE names a built one (`npm run build:exe`).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectOk as ok, CliSession, DIST_MAIN, PROJECT_ROOT, startTrustServer, type TestTrustServer, type TrustRun, stopWarmVerifiers } from '../helpers/cli.js';
import { makeImage, type TestImage } from '../helpers/oci-layout.js';
import { collectProcess } from '../helpers/process.js';
import { HttpRegistryClient } from '../../lib/oci/client.js';
import { parseReference } from '../../lib/reference.js';

/** How to start one build of `trust`: the program and the arguments before the user's. */
interface Variant {
  readonly name: string;
  readonly cmd: string;
  readonly pre: readonly string[];
  /** Added to the environment of every run (a run's own additions win). */
  readonly env?: Readonly<Record<string, string>>;
}

function runVariant(v: Variant, args: readonly string[], env: Record<string, string | undefined>): Promise<TrustRun> {
  const full: Record<string, string> = {};
  for (const k of ['PATH', 'HOME', 'TMPDIR', 'LANG']) if (process.env[k] !== undefined) full[k] = process.env[k]!;
  for (const [k, val] of Object.entries({ ...v.env, ...env })) if (val !== undefined) full[k] = val;
  return collectProcess(v.cmd, [...v.pre, ...args], { cwd: PROJECT_ROOT, env: full, killAfterMs: 60_000 });
}

describe('trust from its start-up snapshot gives the results of the normal bin', { timeout: 300_000 }, () => {
  let ts: TestTrustServer;
  let s: CliSession;
  let token: string;
  let work: string;
  let registry: HttpRegistryClient;
  let host: string;
  const variants: Variant[] = [];

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'ocitrust-snapshot-'));
    const out = join(work, 'snapshot');
    const built = spawnSync(process.execPath, [join(PROJECT_ROOT, 'scripts', 'build-snapshot.mjs'), '--outdir', out], { encoding: 'utf8', cwd: PROJECT_ROOT });
    assert.equal(built.status, 0, `build-snapshot: ${built.stderr}`);
    assert.deepEqual(readdirSync(out).sort(), ['trust', 'trust.blob', 'trust.cjs']);
    variants.push(
      // The bin with its code cache in a folder of this test (cli/code-cache.ts), and without.
      { name: 'bin', cmd: process.execPath, pre: [DIST_MAIN], env: { XDG_CACHE_HOME: join(work, 'cache') } },
      { name: 'bin-no-code-cache', cmd: process.execPath, pre: [DIST_MAIN], env: { OCITRUST_CODE_CACHE: 'off', XDG_CACHE_HOME: join(work, 'no-cache') } },
      { name: 'snapshot', cmd: process.execPath, pre: ['--snapshot-blob', join(out, 'trust.blob'), '--'] },
      { name: 'launcher', cmd: join(out, 'trust'), pre: [] },
    );
    if (process.env.TEST_TRUST_EXECUTABLE) variants.push({ name: 'executable', cmd: process.env.TEST_TRUST_EXECUTABLE, pre: [] });
    ts = await startTrustServer({ registry: true });
    token = await ts.token();
    host = new URL(ts.url).host;
    registry = new HttpRegistryClient({ credentials: async (r) => (r === host ? { username: 'ocitrust', password: token } : undefined) });
    s = new CliSession({ server: ts.url, token });
    mkdirSync(join(work, 'keys'));
  });
  after(async () => {
    await ts?.close();
    s?.cleanup();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const run = (v: Variant, args: readonly string[], env: Record<string, string | undefined> = {}): Promise<TrustRun> => runVariant(v, args, { ...s.env, ...env });
  async function push(repo: string, tag: string, image: TestImage = makeImage()): Promise<TestImage> {
    const ref = parseReference(`${repo}:${tag}`);
    for (const b of image.blobs) await registry.pushBlob(ref, b.bytes);
    await registry.putManifest(ref, tag, image.manifest.bytes, image.manifest.mediaType);
    return image;
  }

  test('--version, and a command\'s --help, print the same', async () => {
    const [bin, ...others] = variants;
    for (const args of [['--version'], ['verify', '--help'], ['sign', '--help']]) {
      const want = ok(await run(bin!, args), `bin ${args.join(' ')}`);
      for (const v of others) {
        const got = ok(await run(v, args), `${v.name} ${args.join(' ')}`);
        assert.equal(got.stdout, want.stdout, `${v.name} ${args.join(' ')}`);
      }
    }
  });

  test('seed workflow: each build signs an image, every build verifies every image alike, and all refuse a moved tag (exit 1, NO_SIGNATURES)', async () => {
    const [bin] = variants;
    const repo = `${host}/snapshot/app`;
    ok(await run(bin!, ['key', 'generate', 'alice', '--dir', join(work, 'keys')]), 'key generate');
    ok(await run(bin!, ['init', repo]), 'init');
    ok(await run(bin!, ['signer', 'add', '--key', join(work, 'keys', 'alice.pub'), 'alice', repo]), 'signer add');
    const images = new Map<string, TestImage>();
    for (const v of variants) {
      images.set(v.name, await push(repo, v.name));
      const signed = ok(await run(v, ['sign', '-o', 'json', `${repo}:${v.name}`]), `${v.name} sign`);
      assert.equal((JSON.parse(signed.stdout) as { digest: string }).digest, images.get(v.name)!.manifest.digest);
    }
    // Every image verified by every build, with the same JSON (digest, signer, key, time).
    const refs = variants.map((v) => `${repo}:${v.name}`);
    const want = ok(await run(bin!, ['verify', '-o', 'json', ...refs]), 'bin verify');
    const doc = JSON.parse(want.stdout) as { results: { verified: boolean; digest: string; signatures: { role: string }[] }[] };
    assert.equal(doc.results.length, variants.length);
    for (const [i, v] of variants.entries()) {
      assert.equal(doc.results[i]!.verified, true, `image signed by ${v.name}`);
      assert.equal(doc.results[i]!.digest, images.get(v.name)!.manifest.digest);
      assert.deepEqual(doc.results[i]!.signatures.map((x) => x.role), ['alice']);
    }
    for (const v of variants.slice(1)) {
      const got = ok(await run(v, ['verify', '-o', 'json', ...refs]), `${v.name} verify`);
      assert.deepEqual(JSON.parse(got.stdout), doc, v.name);
      // The text output too (what a shell loop reads).
      assert.equal(ok(await run(v, ['verify', refs[0]!]), `${v.name} verify text`).stdout, ok(await run(bin!, ['verify', refs[0]!]), 'bin verify text').stdout);
    }

    // The tag moves to unsigned content: every build refuses it alike.
    await push(repo, 'bin');
    const moved = await run(bin!, ['verify', '-o', 'json', `${repo}:bin`]);
    assert.equal(moved.code, 1, moved.stdout + moved.stderr);
    const movedDoc = JSON.parse(moved.stdout) as { results: { verified: boolean; failures: { code: string }[] }[] };
    assert.equal(movedDoc.results[0]!.verified, false);
    assert.deepEqual(movedDoc.results[0]!.failures.map((f) => f.code), ['NO_SIGNATURES']);
    for (const v of variants.slice(1)) {
      const got = await run(v, ['verify', '-o', 'json', `${repo}:bin`]);
      assert.equal(got.code, 1, `${v.name}: ${got.stdout}${got.stderr}`);
      assert.deepEqual(JSON.parse(got.stdout), movedDoc, v.name);
      // By digest, the originally signed content still verifies.
      ok(await run(v, ['verify', `${repo}@${images.get('bin')!.manifest.digest}`]), `${v.name} verify by digest`);
    }
    // The bin ran every command from its code cache after the first: one file per command.
    for (const f of ['init.v8', 'key.v8', 'sign.v8', 'signer.v8', 'verify.v8']) assert.ok(readdirSync(join(work, 'cache', 'ocitrust')).includes(f), f);
    assert.throws(() => readdirSync(join(work, 'no-cache')), /ENOENT/, 'OCITRUST_CODE_CACHE=off writes nothing');
  });

  test('the warm verifier (OCITRUST_VERIFY_DAEMON=on) of every build answers like the bin', async () => {
    const [bin] = variants;
    const ref = `${host}/snapshot/app@${(JSON.parse(ok(await run(bin!, ['verify', '-o', 'json', `${host}/snapshot/app:snapshot`]), 'bin verify').stdout) as { results: { digest: string }[] }).results[0]!.digest}`;
    const want = ok(await run(bin!, ['verify', ref]), 'bin verify');
    for (const v of variants.filter((x) => x.name !== 'bin-no-code-cache')) {
      const xdg = join(work, `daemon-${v.name}`);
      const env = { XDG_CACHE_HOME: xdg, OCITRUST_VERIFY_DAEMON: 'on', OCITRUST_VERIFY_DAEMON_IDLE_SECONDS: '60', OCITRUST_DEBUG: '1' };
      try {
        ok(await run(v, ['verify', ref], env), `${v.name} first verify`);
        let answered: TrustRun | undefined;
        for (let i = 0; i < 100 && !answered; i++) {
          const r = ok(await run(v, ['verify', ref], env), `${v.name} verify`);
          if (/answered by the verify daemon/.test(r.stderr)) answered = r;
          else await new Promise((res) => setTimeout(res, 100));
        }
        assert.ok(answered, `${v.name}: a warm verifier started and answered`);
        assert.equal(answered.stdout, want.stdout, v.name);
      } finally {
        stopWarmVerifiers(xdg);
      }
    }
  });

  test('an unknown option and an unreachable trust server: the same exit codes and messages', async () => {
    const [bin, ...others] = variants;
    const cases: [string[], Record<string, string>][] = [
      [['verify', '--no-such-option', 'x'], {}],
      [['verify', `${host}/snapshot/app:bin`], { OCITRUST_SERVER: 'http://127.0.0.1:1', OCITRUST_HOME: join(work, 'empty-home') }],
    ];
    for (const [args, env] of cases) {
      const want = await run(bin!, args, env);
      assert.notEqual(want.code, 0);
      for (const v of others) {
        const got = await run(v, args, env);
        assert.deepEqual({ code: got.code, stdout: got.stdout, stderr: got.stderr }, { code: want.code, stdout: want.stdout, stderr: want.stderr }, `${v.name} ${args.join(' ')}`);
      }
    }
  });

  test('`trust server` is not in the snapshot build: CLI_NOT_IN_EXECUTABLE, exit 3', async () => {
    for (const v of variants.filter((x) => !x.name.startsWith('bin'))) {
      const r = await run(v, ['server', 'token', 'create', '--role', 'admin', '--collections', '**'], { OCITRUST_DATA_DIR: join(work, `data-${v.name}`) });
      assert.equal(r.code, 3, `${v.name}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /^trust: this build of trust .* does not include [a-z-]+, which the trust server needs; .* \[CLI_NOT_IN_EXECUTABLE\]\n$/);
    }
  });

  test('the launcher runs trust.cjs when the snapshot does not fit this node (other V8 flags)', async () => {
    const launcher = variants.find((v) => v.name === 'launcher')!;
    const env = { NODE_OPTIONS: '--max-semi-space-size=7' };
    const direct = await run(variants.find((v) => v.name === 'snapshot')!, ['--version'], env);
    assert.equal(direct.code, 14, 'node refuses a snapshot built with other V8 flags (exit 14)');
    const r = ok(await run(launcher, ['--version'], env), 'launcher --version');
    assert.equal(r.stdout, ok(await run(variants[0]!, ['--version']), 'bin --version').stdout);
  });
});
