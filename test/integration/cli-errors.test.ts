// Every way the `trust` command fails reports the right exit code (2 usage/input, 3
// environment) with a one-line reason naming its error code, and never a stack trace.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliSession, startTrustServer, type TestTrustServer, type TrustRun } from '../helpers/cli.js';

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/**
 * Asserts exit `code` and exactly one error line on stderr ending in `[CODE]`, with no stack
 * frames (security warnings such as the TOFU notice are separate lines and not counted).
 */
function fails(r: TrustRun, code: number, errorCode: string | RegExp): void {
  const lines = r.stderr.split('\n').filter((l) => l.length > 0 && !l.startsWith('warning: '));
  assert.equal(r.code, code, `exit ${r.code}, expected ${code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^trust: /);
  if (typeof errorCode === 'string') assert.ok(lines[0]!.endsWith(`[${errorCode}]`), lines[0]);
  else assert.match(lines[0]!, errorCode);
  assert.doesNotMatch(r.stderr + r.stdout, /\n\s+at .+:\d+:\d+/, 'no stack trace');
}

describe('trust CLI failures', { timeout: 300_000 }, () => {
  let ts: TestTrustServer;
  let s: CliSession;
  let work: string;
  let deadPort: number;
  let repo: string;

  before(async () => {
    ts = await startTrustServer();
    s = new CliSession({ server: ts.url, token: await ts.token() });
    work = await mkdtemp(join(tmpdir(), 'ocitrust-cli-err-'));
    deadPort = await closedPort();
    // A collection whose registry does not exist: init needs only the trust server.
    repo = `127.0.0.1:${deadPort}/err/app`;
    const init = await s.run(['init', repo]);
    assert.equal(init.code, 0, init.stderr);
    const k = await s.run(['key', 'generate', 'alice', '--dir', work]);
    assert.equal(k.code, 0, k.stderr);
    const add = await s.run(['signer', 'add', '--key', join(work, 'alice.pub'), 'alice', repo]);
    assert.equal(add.code, 0, add.stderr);
  });
  after(async () => {
    await ts?.close();
    s?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('usage errors → exit 2', async () => {
    const bare = await s.run([]);
    assert.equal(bare.code, 2, 'no command is a usage error');
    assert.match(bare.stderr, /^Usage: trust /);
    const unknown = await s.run(['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^trust: unknown command 'frobnicate'/);
    const missing = await s.run(['sign']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /missing required argument 'image'/);
    const badFormat = await s.run(['-o', 'yaml', 'key', 'list']);
    assert.equal(badFormat.code, 2);
    const badInt = await s.run(['signer', 'add', '--key', 'x.pub', '--threshold', 'two', 'team', repo]);
    assert.equal(badInt.code, 2);
    assert.match(badInt.stderr, /--threshold: expected an integer/);
    fails(await s.run(['sign', '--expires', 'soon', `${repo}:v1`]), 2, 'CLI_USAGE');
    fails(await s.run(['server', '--listen', 'nowhere']), 2, 'CLI_USAGE');
  });

  test('a malformed image reference → exit 2', async () => {
    fails(await s.run(['verify', 'Registry.example.com/UPPER/app:v1']), 2, /^trust: invalid image reference "Registry\.example\.com\/UPPER\/app:v1": .*\[REFERENCE_INVALID\]$/);
    fails(await s.run(['sign', 'app:bad tag']), 2, 'REFERENCE_INVALID');
    fails(await s.run(['signer', 'add', '--key', join(work, 'alice.pub'), 'alice', 'registry.example.com/app:v1']), 2, 'REFERENCE_INVALID');
    const json = await s.run(['verify', '-o', 'json', 'a//b']);
    assert.equal(json.code, 2);
    assert.equal(JSON.parse(json.stdout).results[0].failures[0].code, 'REFERENCE_INVALID');
  });

  test('a missing key or file → exit 2', async () => {
    fails(await s.run(['sign', '--key', 'nosuchkey', `${repo}:v1`]), 2, 'KEY_NOT_FOUND');
    fails(await s.run(['key', 'export', '--public', 'nosuchkey']), 2, 'KEY_NOT_FOUND');
    fails(await s.run(['signer', 'add', '--key', join(work, 'missing.pub'), 'bob', repo]), 2, 'CLI_INPUT_UNREADABLE');
    fails(await s.run(['key', 'import', join(work, 'alice.pub')]), 2, /\[PEM_/);
    // A signer role this collection does not delegate.
    fails(await s.run(['sign', '--signer', 'mallory', `${repo}:v1`]), 2, 'SIGNER_NOT_DELEGATED');
    // No local key can sign for any role covering the image.
    const stranger = new CliSession({ server: ts.url });
    try {
      fails(await stranger.run(['sign', `${repo}:v1`]), 2, 'SIGNING_KEY_MISSING');
    } finally {
      stranger.cleanup();
    }
  });

  test('a wrong or missing passphrase → exit 2', async () => {
    fails(await s.run(['key', 'export', 'alice'], { env: { OCITRUST_PASSPHRASE: 'not the passphrase' } }), 2, 'KEY_PASSPHRASE_WRONG');
    fails(await s.run(['sign', `${repo}:v1`], { env: { OCITRUST_PASSPHRASE: 'not the passphrase' } }), 2, 'KEY_PASSPHRASE_WRONG');
    // The per-role variable wins over the general one.
    const exported = await s.run(['key', 'export', 'alice'], { env: { OCITRUST_PASSPHRASE: 'wrong', OCITRUST_ALICE_PASSPHRASE: s.env.OCITRUST_PASSPHRASE } });
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stdout, /^-----BEGIN PRIVATE KEY-----\n/);
    // No passphrase anywhere and no terminal to ask on.
    fails(await s.run(['key', 'generate', 'dave', '--dir', work], { env: { OCITRUST_PASSPHRASE: undefined } }), 2, 'PASSPHRASE_UNAVAILABLE');
    // A passphrase file works and is never echoed.
    const { writeFile } = await import('node:fs/promises');
    const pf = join(work, 'pass.txt');
    await writeFile(pf, `${s.env.OCITRUST_PASSPHRASE}\n`, { mode: 0o600 });
    const viaFile = await s.run(['--passphrase-file', pf, 'key', 'export', 'alice'], { env: { OCITRUST_PASSPHRASE: undefined } });
    assert.equal(viaFile.code, 0, viaFile.stderr);
    assert.doesNotMatch(viaFile.stdout + viaFile.stderr, /correct horse/);
  });

  test('the trust server is down → exit 3', async () => {
    const down = new CliSession({ server: `http://127.0.0.1:${deadPort}` });
    try {
      fails(await down.run(['verify', `${repo}:v1`]), 3, /\[TUF_SOURCE_UNREACHABLE\]$/);
      fails(await down.run(['init', 'registry.example.com/new']), 3, 'TRUST_SERVER_UNREACHABLE');
      fails(await down.run(['signer', 'list', repo]), 3, 'TUF_SOURCE_UNREACHABLE');
      const json = await down.run(['verify', '-o', 'json', `${repo}:v1`]);
      assert.equal(json.code, 3);
      assert.equal(JSON.parse(json.stdout).results[0].failures[0].code, 'TUF_SOURCE_UNREACHABLE');
    } finally {
      down.cleanup();
    }
    // Writes need fresh metadata: a known collection with the server gone is still exit 3.
    fails(await s.run(['--server', `http://127.0.0.1:${deadPort}`, 'signer', 'remove', 'alice', repo]), 3, /\[(TUF_SOURCE_UNREACHABLE|TRUST_SERVER_UNREACHABLE)\]$/);
  });

  test('the registry is down → exit 3, never "verification failed"', async () => {
    fails(await s.run(['verify', `${repo}:v1`]), 3, /^trust: 127\.0\.0\.1:\d+\/err\/app:v1: .*\[REGISTRY_UNREACHABLE\]$/);
    const json = await s.run(['verify', '-o', 'json', `${repo}:v1`]);
    assert.equal(json.code, 3);
    assert.equal(JSON.parse(json.stdout).results[0].failures[0].code, 'REGISTRY_UNREACHABLE');
    fails(await s.run(['sign', `${repo}:v1`]), 3, 'REGISTRY_UNREACHABLE');
    fails(await s.run(['copy', `${repo}:v1`, `${repo}-copy:v1`]), 3, 'REGISTRY_UNREACHABLE');
  });

  test('no permission on the trust server → exit 2', async () => {
    const reader = new CliSession({ server: ts.url, token: await ts.token('reader') });
    try {
      fails(await reader.run(['init', 'registry.example.com/denied']), 2, 'PERMISSION_DENIED');
    } finally {
      reader.cleanup();
    }
    const anon = new CliSession({ server: ts.url });
    try {
      fails(await anon.run(['init', 'registry.example.com/denied']), 2, 'AUTH_REQUIRED');
    } finally {
      anon.cleanup();
    }
  });
});
