// The native front (issue 20; native/trust-front.c, scripts/build-front.mjs): built with the
// real C compiler, it relays an eligible `trust verify` / `trust sign` to the warm verifier and
// prints its answer byte for byte as the Node bin would; everything else, and every failure
// before a complete answer, runs the Node bin instead, with the same output and exit code.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DIST_MAIN, PROJECT_ROOT, stopWarmVerifiers, type CliSession, type TrustRun } from '../helpers/cli.js';
import { missingPrograms, type TestImage } from '../helpers/oci-layout.js';
import { collectProcess } from '../helpers/process.js';
import { alive } from '../../cli/verify-daemon.js';
import { answeredByDaemon as viaDaemon, startSignedRepo, withoutDaemonLine, type SignedRepo } from '../helpers/warm-verifier.js';

const skip = missingPrograms('cc');

describe('the native front of `trust` (npm run build:front)', { skip, timeout: 300_000 }, () => {
  let fx: SignedRepo;
  let s: CliSession;
  let work: string;
  let cache: string;
  let front: string;
  let repo: string;
  let signed: TestImage;
  // The socket's name is a hash of the sorted environment, computed by the front and the bin
  // alike: a value beyond ASCII (hashed as UTF-8), and names where one is the start of another
  // and the next character sorts before '=' (sorted by name, not by "name=value").
  const daemonEnv = (extra: Record<string, string | undefined> = {}): Record<string, string | undefined> => ({
    XDG_CACHE_HOME: cache,
    OCITRUST_VERIFY_DAEMON: 'on',
    OCITRUST_VERIFY_DAEMON_IDLE_SECONDS: '120',
    OCITRUST_DEBUG: '1',
    FRONT_TEST_NOTE: 'café ✓ 😀',
    FRONT_TEST_A: '1',
    'FRONT_TEST_A-B': '2',
    FRONT_TEST_A0: '3',
    ...extra,
  });
  const plainEnv = (extra: Record<string, string | undefined> = {}): Record<string, string | undefined> => ({ XDG_CACHE_HOME: cache, OCITRUST_DEBUG: '1', FRONT_TEST_NOTE: 'café ✓ 😀', ...extra });
  const viaFront = (r: TrustRun): boolean => /answered by the verify daemon at .* \(native front\)\n/.test(r.stderr);
  // OCITRUST_DEBUG=1 also prints the stack of an error, whose frames differ between a process
  // and the verifier; the rest must be the same byte for byte.
  const withoutDebug = (r: TrustRun): { code: number | null; stdout: string; stderr: string } => {
    const rest = withoutDaemonLine(r);
    return { ...rest, stderr: rest.stderr.replace(/^(OcitrustError: .*|    at .*)\n/gm, '') };
  };
  const runFront = (args: string[], env: Record<string, string | undefined>, program = front): Promise<TrustRun> => s.run(args, { env, executable: program });
  const runBin = (args: string[], env: Record<string, string | undefined>): Promise<TrustRun> => s.run(args, { env, dist: true });

  const push = (tag: string, image?: TestImage): Promise<TestImage> => fx.push(tag, image);
  /** Calls through the front until the warm verifier of `env` answers (the first call starts it). */
  async function warmUp(args: string[], env: Record<string, string | undefined>): Promise<void> {
    for (let i = 0; i < 100; i++) {
      if (viaFront(await runFront(args, env))) return;
      await sleep(100);
    }
    assert.fail(`no warm verifier answered ${args.join(' ')}`);
  }
  function buildFront(out: string, defines: Record<string, string> = {}): void {
    if (Object.keys(defines).length === 0) {
      const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'scripts', 'build-front.mjs'), '--out', out], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return;
    }
    mkdirSync(dirname(out), { recursive: true });
    const r = spawnSync('cc', ['-O2', '-std=c11', ...Object.entries(defines).map(([k, v]) => `-D${k}="${v}"`), '-o', out, join(PROJECT_ROOT, 'native', 'trust-front.c')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  }

  before(async () => {
    fx = await startSignedRepo('ocitrust-front-', 'front/app');
    ({ s, work, cache, repo, signed } = fx);
    front = join(work, 'front', 'trust');
    buildFront(front);
  });
  after(async () => {
    await fx?.close();
  });

  test('verify: the first call runs the bin (which starts the verifier); later calls are relayed, with the bin’s output and exit code', async () => {
    const first = await runFront(['verify', `${repo}:v1`], daemonEnv());
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.equal(viaFront(first), false);
    await warmUp(['verify', `${repo}:v1`], daemonEnv());

    const cases: string[][] = [
      ['verify', `${repo}:v1`],
      ['verify', '-o', 'json', `${repo}:v1`, `${repo}@${signed.manifest.digest}`],
      ['verify', `${repo}:v1:bad`],
      // Quotes, backslashes, control characters and a character beyond the BMP, through the
      // JSON both ways.
      ['verify', `${repo}:"q"\\b\t\n\u0001😀é`],
      ['verify', '--no-such-option', `${repo}:v1`],
      ['verify', '--help'],
      ['verify', `${repo}:missing`],
    ];
    for (const args of cases) {
      const plain = await runBin(args, plainEnv());
      const relayed = await runFront(args, daemonEnv());
      assert.equal(viaFront(relayed), true, `${JSON.stringify(args)}: ${relayed.stderr}`);
      assert.deepEqual(withoutDebug(relayed), withoutDebug(plain), JSON.stringify(args));
    }

    // The tag moves to unsigned content: refused (exit 1), as by the bin.
    await push('v1');
    const moved = await runFront(['verify', '-o', 'json', `${repo}:v1`], daemonEnv());
    assert.equal(viaFront(moved), true);
    assert.equal(moved.code, 1, moved.stdout + moved.stderr);
    assert.deepEqual((JSON.parse(moved.stdout) as { results: { failures: { code: string }[] }[] }).results[0]!.failures.map((f) => f.code), ['NO_SIGNATURES']);
    assert.deepEqual(withoutDebug(moved), withoutDebug(await runBin(['verify', '-o', 'json', `${repo}:v1`], plainEnv())));
    await push('v1', signed);
  });

  test('sign: relayed when the passphrase is in the environment; a wrong one fails alike; one that needs a prompt runs in the bin', async () => {
    await push('v2');
    const env = daemonEnv();
    await warmUp(['verify', `${repo}:v1`], env);
    const signedNow = await runFront(['sign', `${repo}:v2`], env);
    assert.equal(viaFront(signedNow), true, signedNow.stderr);
    assert.equal(signedNow.code, 0, signedNow.stdout + signedNow.stderr);
    assert.match(signedNow.stdout, /^Signed .*:v2 .* as alice → sha256:[0-9a-f]{64} /);
    const check = await runBin(['verify', '-o', 'json', `${repo}:v2`], plainEnv());
    assert.equal(check.code, 0, check.stdout + check.stderr);

    const wrong = daemonEnv({ OCITRUST_PASSPHRASE: 'not the passphrase' });
    await warmUp(['verify', `${repo}:v1`], wrong);
    const refused = await runFront(['sign', `${repo}:v2`], wrong);
    assert.equal(viaFront(refused), true);
    assert.deepEqual(withoutDebug(refused), withoutDebug(await runBin(['sign', `${repo}:v2`], plainEnv({ OCITRUST_PASSPHRASE: 'not the passphrase' }))));
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /\[KEY_PASSPHRASE_WRONG\]/);

    // No passphrase: the key would be opened with a prompt on the caller's terminal, which the
    // verifier does not have; it refuses, and the bin answers (no terminal here either).
    const none = daemonEnv({ OCITRUST_PASSPHRASE: undefined });
    await warmUp(['verify', `${repo}:v1`], none);
    const prompt = await runFront(['sign', `${repo}:v2`], none);
    assert.equal(viaDaemon(prompt), false, prompt.stderr);
    assert.equal(prompt.code, 2);
    assert.match(prompt.stderr, /\[PASSPHRASE_UNAVAILABLE\]/);
    assert.deepEqual(withoutDebug(prompt), withoutDebug(await runBin(['sign', `${repo}:v2`], plainEnv({ OCITRUST_PASSPHRASE: undefined }))));
  });

  test('everything else runs the bin: other commands, --offline, another environment, a folder others can enter, a front of another build', async () => {
    await warmUp(['verify', `${repo}:v1`], daemonEnv());
    const others: [string[], Record<string, string | undefined>][] = [
      [['--version'], daemonEnv()], // answered by the front itself, as by the bin's entry
      [['-V'], daemonEnv()],
      [['key', 'list'], daemonEnv()],
      [['verify', '--offline', `${repo}:v1`], daemonEnv()],
      [['verify', `${repo}:v1`], { ...daemonEnv(), OCITRUST_VERIFY_DAEMON: undefined }],
    ];
    for (const [args, env] of others) {
      const r = await runFront(args, env);
      assert.equal(viaFront(r), false, `${args.join(' ')}: ${r.stderr}`);
      assert.deepEqual(withoutDebug(r), withoutDebug(await runBin(args, env)), args.join(' '));
    }

    chmodSync(join(cache, 'ocitrust'), 0o755);
    try {
      const open = await runFront(['verify', `${repo}:v1`], daemonEnv());
      assert.equal(open.code, 0, open.stdout + open.stderr);
      assert.equal(viaDaemon(open), false, 'no verifier is used from a folder others can enter');
    } finally {
      chmodSync(join(cache, 'ocitrust'), 0o700);
    }

    // A front built for another bin names other sockets: it finds no verifier and runs its bin.
    const stale = join(work, 'stale', 'trust');
    buildFront(stale, { TRUST_NODE: process.execPath, TRUST_NODE_VERSION: process.version, TRUST_BIN: DIST_MAIN, TRUST_BUILD_ID: '0'.repeat(32), TRUST_VERSION: '0.0.0-test' });
    const r = await runFront(['verify', `${repo}:v1`], daemonEnv(), stale);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(viaFront(r), false);
  });

  test('a reader that goes away (`trust verify … | head -1`): no stack trace, the verifier’s exit code, from the front and the Node client', async () => {
    await push('unsigned');
    await warmUp(['verify', `${repo}:v1`], daemonEnv());
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...s.env, ...daemonEnv() } as Record<string, string>;
    for (const [program, pre] of [
      [front, []],
      [process.execPath, [DIST_MAIN]],
    ] as const) {
      for (const [args, exit] of [
        [['verify', `${repo}:v1`, `${repo}:v1`], 0],
        // Refused, on stdout: exit 1 is the verifier's verdict (a process of its own that
        // meets EPIPE exits with the code it had so far, 0).
        [['verify', '-o', 'json', `${repo}:unsigned`], 1],
        [['verify', `${repo}:missing`], 2],
      ] as const) {
        // The reading end is closed before anything is written: the first write fails with EPIPE.
        const r = await collectProcess(program, [...pre, ...args], { cwd: PROJECT_ROOT, env, started: (p) => p.stdout!.destroy() });
        assert.doesNotMatch(r.stderr, /\n\s+at |EPIPE/, `${program} ${args.join(' ')}: ${r.stderr}`);
        assert.equal(r.code, exit, `${program} ${args.join(' ')}: ${r.stderr}`);
      }
    }
  });

  test('answers it cannot trust are never printed: the bin answers instead; a well-formed one is decoded exactly', async () => {
    // A stand-in verifier at the socket of this environment (the real one started, then killed).
    const fakeCache = join(work, 'cache-fake');
    const env = daemonEnv({ XDG_CACHE_HOME: fakeCache });
    await warmUp(['verify', `${repo}:v1`], env);
    const dir = join(fakeCache, 'ocitrust');
    const [socket] = readdirSync(dir).filter((f) => f.endsWith('.sock'));
    assert.ok(socket);
    const path = join(dir, socket);
    stopWarmVerifiers(fakeCache);
    for (let i = 0; i < 100 && (await alive(path)); i++) await sleep(50);
    rmSync(path, { force: true });
    let reply: string | undefined;
    let connections = 0;
    const fake = createServer((c) => {
      connections++;
      c.once('data', () => (reply === undefined ? c.destroy() : c.end(reply)));
    });
    await new Promise<void>((resolve) => fake.listen(path, resolve));
    try {
      const expected = withoutDebug(await runBin(['verify', `${repo}:v1`], plainEnv()));
      assert.equal(expected.code, 0);
      const untrusted: (string | undefined)[] = [
        undefined, // the connection closes without an answer
        '{"exit":0,"out":[[1,"forged\\n"]', // cut short
        '{"exit":0,"out":[[1,"forged\\n"]]} trailing',
        '{"exit":256,"out":[[1,"forged\\n"]]}',
        '{"exit":0,"out":[[3,"forged\\n"]]}',
        '{"exit":0,"out":[[1,"forged\\x"]]}',
        '{"refused":"busy"}',
      ];
      for (const r of untrusted) {
        reply = r;
        const before = connections;
        const got = await runFront(['verify', `${repo}:v1`], env);
        assert.ok(connections > before, 'the front asked the stand-in');
        assert.equal(viaDaemon(got), false, `${r}: ${got.stderr}`);
        assert.deepEqual(withoutDebug(got), expected, String(r));
      }

      // Escapes of every kind, a pair of surrogates and a lone one (written as U+FFFD, as Node does).
      reply = '{"exit":7,"out":[[1,"a\\u00e9\\ud83d\\ude00\\ud800b\\n"],[2,"e\\"\\\\\\/\\b\\f\\r\\t"],[1,"é✓\\n"]]}\n';
      const decoded = await runFront(['verify', `${repo}:v1`], env);
      assert.equal(decoded.code, 7);
      assert.equal(decoded.stdout, 'aé😀\ufffdb\né✓\n');
      assert.equal(decoded.stderr.replace(/trust: debug: answered by the verify daemon at .* \(native front\)\n$/, ''), 'e"\\/\b\f\r\t');
      assert.equal(viaFront(decoded), true);
    } finally {
      await new Promise((resolve) => fake.close(resolve));
    }
  });

  test('a front whose Node is gone says so: CLI_FRONT_NO_NODE, exit 3', async () => {
    const orphan = join(work, 'orphan', 'trust');
    buildFront(orphan, { TRUST_NODE: join(work, 'no-such-node'), TRUST_NODE_VERSION: process.version, TRUST_BIN: DIST_MAIN, TRUST_BUILD_ID: '0'.repeat(32), TRUST_VERSION: '0.0.0-test' });
    const r = await runFront(['key', 'list'], {}, orphan);
    assert.equal(r.code, 3);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^trust: cannot run Node\.js at .*no-such-node: No such file or directory; rebuild the native front \(npm run build:front\) after moving or upgrading Node \[CLI_FRONT_NO_NODE\]\n$/);
    // `trust --version` alone is answered by the front itself (as cli/main.ts answers it before
    // loading anything): the version compiled in.
    for (const v of ['--version', '-V']) assert.deepEqual(await runFront([v], {}, orphan).then((x) => [x.code, x.stdout, x.stderr]), [0, '0.0.0-test\n', '']);
  });
});
