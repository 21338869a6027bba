// The warm verifier (issue 20; cli/verify-daemon.ts, cli/verify-daemon-client.ts): with
// OCITRUST_VERIFY_DAEMON=on, `trust verify` is answered by a daemon of the very same
// environment, with the same output and exit codes as a verify in its own process; anything
// wrong with the daemon (gone, refusing, in a folder others can reach) falls back to that.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
// The bundled bin (dist: true): the daemon is a feature of the bundle (cli/main.ts).
import { stopWarmVerifiers, type CliSession } from '../helpers/cli.js';
import type { TestImage } from '../helpers/oci-layout.js';
import { answeredByDaemon, startSignedRepo, withoutDaemonLine as withoutDebug, type SignedRepo } from '../helpers/warm-verifier.js';

describe('trust verify through the warm verifier (OCITRUST_VERIFY_DAEMON=on)', { timeout: 300_000 }, () => {
  let fx: SignedRepo;
  let s: CliSession;
  let work: string;
  let cache: string;
  let repo: string;
  let signed: TestImage;
  const daemonEnv = (): Record<string, string> => ({ XDG_CACHE_HOME: cache, OCITRUST_VERIFY_DAEMON: 'on', OCITRUST_VERIFY_DAEMON_IDLE_SECONDS: '120', OCITRUST_DEBUG: '1' });
  const sockets = (): string[] => (existsSync(join(cache, 'ocitrust')) ? readdirSync(join(cache, 'ocitrust')).filter((f) => f.endsWith('.sock')) : []);
  const push = (tag: string, image?: TestImage): Promise<TestImage> => fx.push(tag, image);
  async function waitForDaemon(): Promise<string> {
    for (let i = 0; i < 200 && sockets().length === 0; i++) await sleep(100);
    assert.equal(sockets().length, 1, 'a daemon started in the background');
    return join(cache, 'ocitrust', sockets()[0]!);
  }
  function rawRequest(socket: string, body: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const c = connect(socket);
      let data = '';
      c.on('connect', () => c.write(body));
      c.on('data', (d: Buffer) => (data += d.toString()));
      c.on('close', () => resolve(data));
      c.on('error', reject);
    });
  }

  before(async () => {
    fx = await startSignedRepo('ocitrust-daemon-', 'daemon/app');
    ({ s, work, cache, repo, signed } = fx);
  });
  after(async () => {
    await fx?.close();
  });

  test('the first call verifies in-process and starts the daemon; later calls are answered by it alike: verified, moved tag, bad input', async () => {
    const first = await s.run(['verify', `${repo}:v1`], { env: daemonEnv(), dist: true });
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.equal(answeredByDaemon(first), false);
    const socket = await waitForDaemon();
    assert.equal(readdirSync(join(cache, 'ocitrust')).includes(`${socket.split('/').pop()}.pid`), true);

    const cases: string[][] = [
      ['verify', `${repo}:v1`],
      ['verify', '-o', 'json', `${repo}:v1`, `${repo}@${signed.manifest.digest}`],
      ['verify', `${repo}:v1:bad`],
      ['verify', '--no-such-option', `${repo}:v1`],
      ['verify', `${repo}:missing`],
    ];
    for (const args of cases) {
      const plain = await s.run(args, { env: { XDG_CACHE_HOME: cache, OCITRUST_DEBUG: '1' }, dist: true });
      const viaDaemon = await s.run(args, { env: daemonEnv(), dist: true });
      assert.equal(answeredByDaemon(viaDaemon), true, `${args.join(' ')}: ${viaDaemon.stderr}`);
      assert.deepEqual(withoutDebug(viaDaemon), withoutDebug(plain), args.join(' '));
    }

    // The tag moves to unsigned content: refused by the daemon (exit 1), as in-process.
    await push('v1');
    const moved = await s.run(['verify', '-o', 'json', `${repo}:v1`], { env: daemonEnv(), dist: true });
    assert.equal(answeredByDaemon(moved), true);
    assert.equal(moved.code, 1, moved.stdout + moved.stderr);
    assert.deepEqual((JSON.parse(moved.stdout) as { results: { failures: { code: string }[] }[] }).results[0]!.failures.map((f) => f.code), ['NO_SIGNATURES']);
    assert.deepEqual(withoutDebug(moved), withoutDebug(await s.run(['verify', '-o', 'json', `${repo}:v1`], { env: { XDG_CACHE_HOME: cache, OCITRUST_DEBUG: '1' }, dist: true })));
    await push('v1', signed);
  });

  test('the daemon answers only its own environment, only `trust verify`, and nothing malformed', async () => {
    const socket = await waitForDaemon();
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', OCITRUST_SERVER: 'http://127.0.0.1:1' };
    const base = { v: 1, cwd: work, stdoutTTY: false, stderrTTY: false };
    assert.deepEqual(JSON.parse(await rawRequest(socket, `${JSON.stringify({ ...base, argv: ['verify', `${repo}:v1`], env })}\n`)), { refused: 'environment differs' });
    assert.deepEqual(JSON.parse(await rawRequest(socket, `${JSON.stringify({ ...base, argv: ['key', 'generate', 'x'], env })}\n`)), { refused: 'bad request' });
    assert.deepEqual(JSON.parse(await rawRequest(socket, 'not json\n')), { refused: 'bad request' });
    // Another environment gets another daemon (the first call of it starts one).
    const r = await s.run(['verify', `${repo}:v1`], { env: { ...daemonEnv(), NO_COLOR: '0' }, dist: true });
    assert.equal(r.code, 0);
    assert.equal(answeredByDaemon(r), false);
  });

  test('a daemon that is gone, or a folder others can reach: the call verifies in-process, with the same answer', async () => {
    stopWarmVerifiers(cache);
    await sleep(200);
    const r = await s.run(['verify', `${repo}:v1`], { env: daemonEnv(), dist: true });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(answeredByDaemon(r), false, 'the killed daemon did not answer');
    const socket = await (async () => {
      for (let i = 0; i < 200; i++) {
        const again = await s.run(['verify', `${repo}:v1`], { env: daemonEnv(), dist: true });
        if (answeredByDaemon(again)) return true;
        await sleep(100);
      }
      return false;
    })();
    assert.equal(socket, true, 'a new daemon started and answers');
    chmodSync(join(cache, 'ocitrust'), 0o755);
    try {
      const open = await s.run(['verify', `${repo}:v1`], { env: daemonEnv(), dist: true });
      assert.equal(open.code, 0);
      assert.equal(answeredByDaemon(open), false, 'no daemon is used from a folder others can enter');
    } finally {
      chmodSync(join(cache, 'ocitrust'), 0o700);
    }
  });
});
