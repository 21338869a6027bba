// Everyday rough edges of the `trust` command (issue 14), each tried against the shipped
// binary (dist/cli/bundle/trust.js) the way a user meets it: messages that say what to do,
// passphrases from the source the user chose (and asked again at a terminal), bulk sign
// output that names each reference, a private key kept off the terminal, one duration syntax,
// subcommand help with the global options and exit codes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliSession, DIST_MAIN, PROJECT_ROOT, startTrustServer, type TestTrustServer, type TrustRun } from '../helpers/cli.js';
import { collectProcess } from '../helpers/process.js';
import { startDistribution, type Distribution } from '../helpers/distribution.js';
import { makeImage, missingPrograms, runSkopeo, skopeoPush, writeOciLayout } from '../helpers/oci-layout.js';

missingPrograms('script', 'docker-registry', 'skopeo');

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** The error lines (`trust: …`) of a run. */
function errors(r: TrustRun): string[] {
  return r.stderr.split('\n').filter((l) => l.startsWith('trust: '));
}

function exits(r: TrustRun, code: number, what: string): void {
  assert.equal(r.code, code, `${what}: exit ${r.code}, expected ${code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');
}

/** Shell quoting for `script -c`. */
function sh(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Runs the shipped `trust` on a pseudo-terminal (util-linux `script`), typing `typed` ahead:
 * what a user at a terminal sees (stdout and stderr both on the terminal).
 */
function onTerminal(args: readonly string[], env: Record<string, string | undefined>, typed: string): Promise<{ code: number | null; out: string }> {
  const cmd = [process.execPath, DIST_MAIN, ...args].map(sh).join(' ');
  const full: Record<string, string> = {};
  for (const k of ['PATH', 'HOME', 'TMPDIR', 'LANG']) if (process.env[k] !== undefined) full[k] = process.env[k]!;
  for (const [k, v] of Object.entries(env)) if (v !== undefined) full[k] = v;
  return new Promise((resolve, reject) => {
    const p = spawn('script', ['-qfec', cmd, '/dev/null'], { cwd: PROJECT_ROOT, env: full, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out: out.replace(/\r/g, '') });
    });
    p.stdin.end(typed);
  });
}

describe('trust CLI rough edges (shipped binary)', { timeout: 600_000 }, () => {
  let ts: TestTrustServer;
  let s: CliSession;
  let work: string;
  let deadPort: number;
  const PASS = 'correct horse battery staple';
  const run = (args: readonly string[], env: Record<string, string | undefined> = {}): Promise<TrustRun> => s.run(args, { dist: true, env });

  before(async () => {
    ts = await startTrustServer();
    s = new CliSession({ server: ts.url, token: await ts.token() });
    work = await mkdtemp(join(tmpdir(), 'ocitrust-rough-'));
    deadPort = await closedPort();
    const k = await run(['key', 'generate', 'alice', '--dir', work]);
    exits(k, 0, 'key generate');
  });
  after(async () => {
    await ts?.close();
    s?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('a down server: "is `trust server` running?", not a bare ECONNREFUSED', async () => {
    const r = await run(['init', 'registry.example.com/down'], { OCITRUST_SERVER: `http://127.0.0.1:${deadPort}` });
    exits(r, 3, 'init, server down');
    assert.match(errors(r).join('\n'), /connection refused \(ECONNREFUSED\): is `trust server` running\? set OCITRUST_SERVER or --server .*\[TRUST_SERVER_UNREACHABLE\]$/);
    const v = await run(['signer', 'list', 'registry.example.com/down'], { OCITRUST_SERVER: `http://127.0.0.1:${deadPort}` });
    exits(v, 3, 'signer list, server down');
    assert.match(errors(v).join('\n'), /is `trust server` running\?.*\[TUF_SOURCE_UNREACHABLE\]$/);
  });

  test('the silent default server is named when it is used', async () => {
    const r = await run(['init', 'registry.example.com/default'], { OCITRUST_SERVER: undefined });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /using the default trust server http:\/\/127\.0\.0\.1:7443 \(set --server or OCITRUST_SERVER/);
    // Not when the user named one.
    const named = await run(['init', 'registry.example.com/named'], { OCITRUST_SERVER: `http://127.0.0.1:${deadPort}` });
    assert.doesNotMatch(named.stderr, /default trust server/);
  });

  test('--server host:port without a scheme: http for loopback; a bad value is about --server', async () => {
    const host = new URL(ts.url).host;
    const r = await run(['--server', host, 'init', 'registry.example.com/noscheme'], { OCITRUST_SERVER: undefined });
    exits(r, 0, 'init with --server host:port');
    const list = await run(['--server', host, 'signer', 'list', 'registry.example.com/noscheme'], { OCITRUST_SERVER: undefined });
    exits(list, 0, 'signer list with --server host:port');
    const bad = await run(['--server', 'ftp://example.com', 'verify', 'registry.example.com/app:v1']);
    exits(bad, 2, '--server ftp://');
    assert.match(errors(bad)[0]!, /^trust: --server: expected an http\(s\) URL or host:port, got "ftp:\/\/example\.com" \[CLI_USAGE\]$/);
    assert.doesNotMatch(bad.stderr, /REFERENCE|image/i);
  });

  test('no collection: a reader is told typo or mirror (never `trust init`); a writer is told `trust init`; swapped signer add is caught', async () => {
    const missing = 'registry.example.com/nobody/app';
    const v = await run(['verify', `${missing}:v1`]);
    exits(v, 1, 'verify, no collection');
    assert.match(v.stdout + v.stderr, /NOT_SIGNED/);
    assert.match(v.stdout + v.stderr, /--mirror-of/);
    assert.doesNotMatch(v.stdout + v.stderr, /trust init/);
    for (const args of [['inspect', `${missing}:v1`], ['signer', 'list', missing]]) {
      const r = await run(args);
      exits(r, 2, args.join(' '));
      assert.match(errors(r)[0]!, /has no trust collection .*check the name for a typo; a mirror or copy verifies against its original with `trust verify --mirror-of ORIGINAL` \[COLLECTION_NOT_FOUND\]$/);
      assert.doesNotMatch(r.stderr, /trust init/);
    }
    const w = await run(['signer', 'add', '--key', join(work, 'alice.pub'), 'alice', missing]);
    exits(w, 2, 'signer add, no collection');
    assert.match(errors(w)[0]!, /create it with `trust init registry\.example\.com\/nobody\/app` \[COLLECTION_NOT_FOUND\]$/);
    const swapped = await run(['signer', 'add', '--key', join(work, 'alice.pub'), missing, 'alice']);
    exits(swapped, 2, 'signer add REPO NAME');
    assert.match(errors(swapped)[0]!, /^trust: signer add: expected <signer> <repo\.\.\.>, got the signer name "registry\.example\.com\/nobody\/app" \(a repository\?\) and the repository "alice": the arguments look swapped.* \[CLI_USAGE\]$/);
    assert.doesNotMatch(swapped.stderr, /docker\.io\/library\/alice/);
  });

  test('passphrases: --passphrase-file beats the environment; a wrong one names the key and its source', async () => {
    const pf = join(work, 'pass.txt');
    await writeFile(pf, `${PASS}\n`, { mode: 0o600 });
    const viaFile = await run(['--passphrase-file', pf, 'key', 'export', 'alice'], { OCITRUST_PASSPHRASE: 'wrong', OCITRUST_ALICE_PASSPHRASE: 'wrong too' });
    exits(viaFile, 0, 'explicit --passphrase-file over the environment');
    assert.match(viaFile.stdout, /^-----BEGIN PRIVATE KEY-----\n/);

    const wrongFile = join(work, 'wrong.txt');
    await writeFile(wrongFile, 'nope\n', { mode: 0o600 });
    const r1 = await run(['--passphrase-file', wrongFile, 'key', 'export', 'alice'], { OCITRUST_PASSPHRASE: PASS });
    exits(r1, 2, 'wrong --passphrase-file');
    assert.match(errors(r1)[0]!, /^trust: wrong passphrase for key alice \(keyid [0-9a-f]{12}…\) from --passphrase-file .*wrong\.txt \[KEY_PASSPHRASE_WRONG\]$/);
    const r2 = await run(['key', 'export', 'alice'], { OCITRUST_PASSPHRASE: 'nope' });
    exits(r2, 2, 'wrong OCITRUST_PASSPHRASE');
    assert.match(errors(r2)[0]!, /wrong passphrase for key alice .* from OCITRUST_PASSPHRASE \[KEY_PASSPHRASE_WRONG\]$/);
    const r3 = await run(['key', 'export', 'alice'], { OCITRUST_ALICE_PASSPHRASE: 'nope' });
    assert.match(errors(r3)[0]!, /wrong passphrase for key alice .* from OCITRUST_ALICE_PASSPHRASE \[KEY_PASSPHRASE_WRONG\]$/);
  });

  test('at a terminal a wrong passphrase or a differing repeat is asked again, 3 tries', async () => {
    const env = { ...s.env, OCITRUST_PASSPHRASE: undefined };
    const out = join(work, 'alice-tty.pem');
    const retried = await onTerminal(['key', 'export', 'alice', '--out', out], env, `wrong\n${PASS}\n`);
    assert.equal(retried.code, 0, retried.out);
    assert.match(retried.out, /Wrong passphrase; try again\./);
    assert.match(await readFile(out, 'utf8'), /^-----BEGIN PRIVATE KEY-----\n/);

    const gaveUp = await onTerminal(['key', 'export', 'alice', '--out', join(work, 'never.pem')], env, 'a\nb\nc\n');
    assert.equal(gaveUp.code, 2, gaveUp.out);
    assert.match(gaveUp.out, /trust: wrong passphrase for key alice .* from the prompt, 3 tries \[KEY_PASSPHRASE_WRONG\]/);

    const repeat = await onTerminal(['key', 'generate', 'carol', '--dir', work], env, 'one\ntwo\nthree\nthree\n');
    assert.equal(repeat.code, 0, repeat.out);
    assert.match(repeat.out, /The passphrases differ; try again\./);
    const mismatch = await onTerminal(['key', 'generate', 'dave', '--dir', work], env, 'a\nb\nc\nd\ne\nf\n');
    assert.equal(mismatch.code, 2, mismatch.out);
    assert.match(mismatch.out, /differ \(3 tries\) \[PASSPHRASE_MISMATCH\]/);
  });

  test('key export: no unencrypted private key on a terminal unless --unencrypted; an existing --out is exit 2', async () => {
    const refused = await onTerminal(['key', 'export', 'alice'], s.env, '');
    assert.equal(refused.code, 2, refused.out);
    assert.match(refused.out, /refusing to print an unencrypted private key to a terminal: use --out FILE, redirect stdout, or pass --unencrypted \[CLI_USAGE\]/);
    assert.doesNotMatch(refused.out, /BEGIN PRIVATE KEY/);
    const asked = await onTerminal(['key', 'export', '--unencrypted', 'alice'], s.env, '');
    assert.equal(asked.code, 0, asked.out);
    assert.match(asked.out, /-----BEGIN PRIVATE KEY-----/);
    // The public key is no secret.
    const pub = await onTerminal(['key', 'export', '--public', 'alice'], s.env, '');
    assert.equal(pub.code, 0, pub.out);

    const taken = join(work, 'alice.pub');
    const exists = await run(['key', 'export', 'alice', '--out', taken]);
    exits(exists, 2, 'existing --out');
    assert.match(errors(exists)[0]!, /--out .*alice\.pub: expected a new file, got an existing one \(not overwritten\) \[CLI_OUTPUT_EXISTS\]$/);
    assert.match(await readFile(taken, 'utf8'), /^-----BEGIN PUBLIC KEY-----/, 'untouched');
    // key generate checks its .pub file before it makes the key.
    await writeFile(join(work, 'erin.pub'), 'taken\n');
    const gen = await run(['key', 'generate', 'erin', '--dir', work]);
    exits(gen, 2, 'key generate over an existing .pub');
    assert.match(errors(gen)[0]!, /erin\.pub: expected a new file, got an existing one .*\[CLI_OUTPUT_EXISTS\]$/);
    const list = await run(['-o', 'json', 'key', 'list']);
    assert.ok(!(JSON.parse(list.stdout) as { keys: { name: string }[] }).keys.some((k) => k.name === 'erin'), 'no key made');
  });

  test('durations: --expires 30d for tokens as for sign; a bad role echoes what was typed', async () => {
    const data = await mkdtemp(join(tmpdir(), 'ocitrust-rough-data-'));
    try {
      const t = await run(['-o', 'json', 'server', 'token', 'create', '--data', data, '--role', 'reader', '--collections', '**', '--expires', '30d']);
      exits(t, 0, 'token create --expires 30d');
      const exp = Date.parse((JSON.parse(t.stdout) as { token: { expiresAt: string } }).token.expiresAt);
      const days = (exp - Date.now()) / 86_400_000;
      assert.ok(days > 29 && days <= 30, `expires in ${days} days`);
      const abs = await run(['server', 'token', 'create', '--data', data, '--role', 'reader', '--collections', '**', '--expires', '2099-01-01T00:00:00Z']);
      exits(abs, 0, 'token create with an expiry time');
      const bad = await run(['server', 'token', 'create', '--data', data, '--role', 'reader', '--collections', '**', '--expires', 'soon']);
      exits(bad, 2, 'token create --expires soon');
      assert.match(errors(bad)[0]!, /--expires: expected a duration such as 90d.*got "soon" \[CLI_USAGE\]$/);
      const role = await run(['server', 'token', 'create', '--data', data, '--role', 'admn', '--collections', '**']);
      exits(role, 2, '--role admn');
      assert.equal(errors(role)[0], 'trust: --role: expected reader, publisher, admin, got "admn" [CLI_USAGE]');
    } finally {
      await rm(data, { recursive: true, force: true });
    }
  });

  test('a reader that goes away (`trust … | head -1`): no stack trace, the exit code so far', async () => {
    for (const args of [['--help'], ['verify', '--help'], ['key', 'list', '-o', 'json']]) {
      // The reading end is closed before trust writes anything: its first write fails with EPIPE.
      const r = await collectProcess(process.execPath, [DIST_MAIN, ...args], { cwd: PROJECT_ROOT, env: { PATH: process.env.PATH ?? '', HOME: work, ...s.env } as Record<string, string>, started: (p) => p.stdout!.destroy() });
      assert.equal(r.stderr, '', `${args.join(' ')}: nothing on stderr, got ${r.stderr.slice(0, 300)}`);
      assert.equal(r.code, 0, args.join(' '));
    }
  });

  test('a working folder removed under the shell: CLI_WORKING_FOLDER_GONE (exit 3), not an internal error', async () => {
    const gone = await mkdtemp(join(tmpdir(), 'ocitrust-gone-'));
    // The shell enters the folder, removes it, then becomes trust: trust starts without a working folder.
    const r = await collectProcess('sh', ['-c', `cd ${sh(gone)} && rmdir ${sh(gone)} && exec ${sh(process.execPath)} ${sh(DIST_MAIN)} key list`], { env: { PATH: process.env.PATH ?? '', HOME: work, ...s.env } as Record<string, string> });
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stderr, /^trust: the working folder no longer exists \(ENOENT\): cd to an existing folder \[CLI_WORKING_FOLDER_GONE\]\n$/);
  });

  test('subcommand --help lists the global options and all four exit codes', async () => {
    for (const args of [['sign', '--help'], ['key', 'export', '--help'], ['server', 'token', 'create', '--help']]) {
      const h = await run(args);
      exits(h, 0, args.join(' '));
      assert.match(h.stdout, /Global Options:[\s\S]*--server <url>[\s\S]*-q, --quiet[\s\S]*--passphrase-file <file>/, args.join(' '));
      assert.match(h.stdout, /Exit codes: 0 success\/verified, 1 verification failed, 2 usage or input error, 3 environment error\./, args.join(' '));
      assert.equal(h.stdout.match(/Exit codes:/g)!.length, 1, 'once');
    }
  });

  describe('with a registry', () => {
    let reg: Distribution;
    let repo: string;
    before(async () => {
      reg = await startDistribution();
      repo = `${reg.host}/rough/app`;
      exits(await run(['init', repo]), 0, 'init');
      exits(await run(['signer', 'add', '--key', join(work, 'alice.pub'), 'alice', repo]), 0, 'signer add');
      for (const tag of ['v1', 'v2']) {
        const dir = join(work, `layout-${tag}`);
        await writeOciLayout(dir, [{ tag, content: makeImage() }]);
        await skopeoPush(dir, tag, `${repo}:${tag}`);
      }
    });
    after(async () => {
      await reg?.stop();
    });

    test('bulk sign: each line names the reference as given; a summary on success and on failure', async () => {
      const ok = await run(['sign', `${repo}:v1`, `${repo}:v2`]);
      exits(ok, 0, 'bulk sign');
      const lines = ok.stdout.trim().split('\n');
      assert.equal(lines.length, 2, ok.stdout);
      assert.match(lines[0]!, new RegExp(`^Signed ${repo}:v1 \\(${repo}@sha256:[0-9a-f]{64}\\) as alice → sha256:`));
      assert.match(lines[1]!, new RegExp(`^Signed ${repo}:v2 \\(`));
      assert.match(ok.stderr, /^2 of 2 images signed$/m);

      const mixed = await run(['sign', `${repo}:v1`, `${repo}:nope`]);
      exits(mixed, 2, 'bulk sign with a missing tag');
      assert.match(mixed.stderr, /^1 of 2 images signed; 1 failed$/m);
      // The reference once, not three times.
      const line = errors(mixed).find((l) => l.includes(':nope'))!;
      assert.equal(line.split(`${repo}:nope`).length - 1, 1, line);
      assert.doesNotMatch(line, /manifest nope unknown/);
      assert.match(line, /not found \(MANIFEST_UNKNOWN\) \[MANIFEST_NOT_FOUND\]$/);

      const single = await run(['verify', `${repo}:nope`]);
      assert.equal(single.code, 2, single.stderr);
      const one = errors(single)[0]!;
      assert.equal(one.split(`${repo}:nope`).length - 1, 1, one);
    });

    test('named as such (issue 12 fixes): a bad token, a --server that is the registry', async () => {
      const bad = await run(['init', 'registry.example.com/badtoken'], { OCITRUST_TOKEN: 'not-a-token' });
      exits(bad, 2, 'bad token');
      assert.match(errors(bad)[0]!, /OCITRUST_TOKEN.*\[AUTH_TOKEN_INVALID\]$/);
      const wrong = await run(['--server', `http://${reg.host}`, 'verify', `${repo}:v1`]);
      exits(wrong, 3, '--server pointing at the registry');
      assert.match(wrong.stdout + wrong.stderr, /\[TRUST_SERVER_NOT_OCITRUST\]/);
    });

    test('-q keeps results and errors, drops notices and summaries', async () => {
      const q = await run(['-q', 'sign', `${repo}:v1`, `${repo}:v2`]);
      exits(q, 0, '-q bulk sign');
      assert.equal(q.stdout.trim().split('\n').filter((l) => l.startsWith('Signed ')).length, 2, q.stdout);
      assert.equal(q.stderr, '', 'no summary, no notice');
      const k = await run(['-q', 'key', 'generate', 'quietkey', '--dir', work]);
      exits(k, 0, '-q key generate');
      assert.match(k.stdout, /^[0-9a-f]{64}\n$/);
      assert.equal(k.stderr, '');
      const bad = await run(['-q', 'verify', `${repo}:nope`]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /\[MANIFEST_NOT_FOUND\]/);
      const none = await run(['-q', 'init', 'registry.example.com/quiet'], { OCITRUST_SERVER: undefined });
      assert.doesNotMatch(none.stderr, /default trust server/, 'the default-server notice is a notice');
    });

    test('what carries signatures (README): skopeo copy does not, trust copy and skopeo sync of the repository do', async () => {
      exits(await run(['sign', `${repo}:v2`]), 0, 'sign v2');
      const tls = ['--src-tls-verify=false', '--dest-tls-verify=false'];
      // skopeo copy: the image, not its referrers.
      const copied = await runSkopeo(['copy', '--all', '--preserve-digests', ...tls, `docker://${repo}:v2`, `docker://${reg.host}/rough/skopeo-copy:v2`]);
      assert.equal(copied.code, 0, copied.stderr);
      const v1 = await run(['verify', '-o', 'json', '--mirror-of', repo, `${reg.host}/rough/skopeo-copy:v2`]);
      exits(v1, 1, 'a skopeo copy has no signatures');
      // trust copy: the image and its signatures.
      exits(await run(['copy', `${repo}:v2`, `${reg.host}/rough/trust-copy:v2`]), 0, 'trust copy');
      exits(await run(['verify', '--mirror-of', repo, `${reg.host}/rough/trust-copy:v2`]), 0, 'a trust copy verifies');
      // skopeo sync of the whole repository: every tag, the signature tags of the fallback included.
      const synced = await runSkopeo(['sync', '--all', ...tls, '--src', 'docker', '--dest', 'docker', repo, `${reg.host}/synced`]);
      assert.equal(synced.code, 0, synced.stderr);
      exits(await run(['verify', '--mirror-of', repo, `${reg.host}/synced/app:v2`]), 0, 'a skopeo sync of the repository verifies');
    });
    test('revoked on the origin registry (referrer deleted): SIG_REVOKED with the reason, not NO_SIGNATURES', async () => {
      exits(await run(['verify', `${repo}:v1`]), 0, 'v1 verifies before');
      const rv = await run(['revoke', '--reason', 'built from a compromised commit', `${repo}:v1`]);
      exits(rv, 0, 'revoke');
      const v = await run(['verify', '-o', 'json', `${repo}:v1`]);
      exits(v, 1, 'verify a revoked image');
      const failures = (JSON.parse(v.stdout) as { results: { failures: { code: string; message: string }[] }[] }).results[0]!.failures;
      const revoked = failures.find((f) => f.code === 'SIG_REVOKED');
      assert.ok(revoked, JSON.stringify(failures));
      assert.match(revoked.message, /built from a compromised commit/);
      const text = await run(['verify', `${repo}:v1`]);
      exits(text, 1, 'verify (text)');
      assert.match(text.stdout + text.stderr, /built from a compromised commit.*\[SIG_REVOKED\]/);
    });
  });

  describe('trust server', () => {
    /** Starts `trust server` (own process group), resolves with its output once it said "listening", then stops it. */
    async function serveOnce(cmd: string, args: readonly string[], env: Record<string, string>): Promise<{ stdout: string; stderr: string }> {
      const full: Record<string, string> = { ...env };
      for (const k of ['PATH', 'HOME', 'TMPDIR', 'LANG']) if (process.env[k] !== undefined) full[k] = process.env[k]!;
      const p: ChildProcess = spawn(cmd, args, { cwd: PROJECT_ROOT, env: full, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
      let stdout = '';
      let stderr = '';
      const stop = setTimeout(() => process.kill(-p.pid!, 'SIGKILL'), 60_000);
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (/listening on http/.test(stdout + stderr)) process.kill(-p.pid!, 'SIGTERM');
        };
        p.stdout!.on('data', (d: Buffer) => {
          stdout += d.toString();
          check();
        });
        p.stderr!.on('data', (d: Buffer) => {
          stderr += d.toString();
          check();
        });
        p.on('error', reject);
        p.on('close', () => {
          clearTimeout(stop);
          resolve({ stdout: stdout.replace(/\r/g, ''), stderr });
        });
      });
    }

    test('not on a terminal: JSON lines on stdout, the start line on stderr, "listening" once each; data in <home>/server', async () => {
      const home = await mkdtemp(join(tmpdir(), 'ocitrust-rough-home-'));
      try {
        const r = await serveOnce(process.execPath, [DIST_MAIN, 'server', '--listen', '127.0.0.1:0'], { OCITRUST_HOME: home });
        const lines = r.stdout.split('\n').filter((l) => l.length > 0);
        assert.ok(lines.length > 0, 'some log');
        for (const l of lines) assert.doesNotThrow(() => JSON.parse(l), `a JSON line: ${l}`);
        assert.equal(lines.filter((l) => /listening/i.test(l)).length, 1, r.stdout);
        assert.equal(r.stderr.match(/listening/g)?.length, 1, r.stderr);
        assert.match(r.stderr, new RegExp(`^trust server listening on http://127\\.0\\.0\\.1:\\d+ \\(data ${home}/server\\)`, 'm'));
        // The server's secrets and database live apart from the client's keys.
        const data = await readdir(join(home, 'server'));
        assert.ok(data.includes('server-secret') && data.includes('ocitrust.db'), data.join(' '));
        assert.deepEqual((await readdir(home)).filter((f) => f !== 'server' && f !== 'keys'), [], 'nothing else in the home');
      } finally {
        await rm(home, { recursive: true, force: true });
      }
    });

    test('on a terminal: readable lines, no JSON, "listening" once', async () => {
      const home = await mkdtemp(join(tmpdir(), 'ocitrust-rough-home-'));
      try {
        const cmd = [process.execPath, DIST_MAIN, 'server', '--listen', '127.0.0.1:0'].map(sh).join(' ');
        const r = await serveOnce('script', ['-qfec', cmd, '/dev/null'], { OCITRUST_HOME: home });
        const out = r.stdout + r.stderr;
        assert.equal(out.match(/listening/g)?.length, 1, out);
        assert.doesNotMatch(out, /^\{/m, 'no JSON line');
        assert.doesNotMatch(out, /"level"/);
      } finally {
        await rm(home, { recursive: true, force: true });
      }
    });
  });
});
