// First run without opening the database (issue 14): the real `trust server` writes a bootstrap
// admin token to a 0600 file and names the file (never the token); `trust login` stores a token
// for a server, `trust whoami` shows it as the server knows it, OCITRUST_TOKEN still wins,
// `trust logout` forgets it; the embedded registry's 401 says what credentials to send.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliSession, DIST_MAIN, PROJECT_ROOT } from '../helpers/cli.js';

interface Spawned {
  readonly child: ChildProcess;
  readonly url: string;
  stderr: string;
}

/** Starts the built `trust server` on a free port; resolves once its start line names the URL. */
function startServer(data: string, extra: readonly string[] = [], env: Record<string, string> = {}): Promise<Spawned> {
  const child = spawn(process.execPath, [DIST_MAIN, 'server', '--data', data, '--port', '0', '--log-level', 'silent', ...extra], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: data, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    const s = { child, url: '', stderr: '' };
    child.stderr!.on('data', (d: Buffer) => {
      s.stderr += d.toString();
      const m = /listening on (http:\/\/\S+) /.exec(s.stderr);
      if (m && !s.url) resolve({ ...s, url: m[1]!, get stderr() { return s.stderr; } } as Spawned);
    });
    child.on('exit', (code) => reject(new Error(`trust server exited ${code}: ${s.stderr}`)));
  });
}

async function stop(s: Spawned): Promise<void> {
  if (s.child.exitCode !== null) return;
  const gone = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGTERM');
  await gone;
}

test('bootstrap token: 0600 file named in the log, not the token; made once; login, whoami, env wins, logout', { timeout: 120_000 }, async (t) => {
  const data = mkdtempSync(join(tmpdir(), 'ocitrust-bootstrap-'));
  const session = new CliSession({ env: { OCITRUST_SERVER: undefined } });
  t.after(() => {
    session.cleanup();
    rmSync(data, { recursive: true, force: true });
  });
  let srv = await startServer(data);
  t.after(() => stop(srv));
  const file = join(data, 'admin-token');
  const token = readFileSync(file, 'utf8').trim();
  assert.match(token, /^ocit_[A-Za-z0-9_-]{43}$/);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.match(srv.stderr, new RegExp(`created the first admin token \\(tok_[0-9a-f]{16}, all collections, expires \\d{4}-\\d\\d-\\d\\dT[0-9:]+Z\\) in ${file.replace(/[.]/g, '\\.')}`));
  assert.ok(!srv.stderr.includes(token), 'the token itself is never logged');

  // A bad token is refused by login and nothing is stored.
  const bad = await session.run(['login', srv.url], { dist: true, input: 'ocit_' + 'x'.repeat(43) + '\n' });
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /\[AUTH_TOKEN_INVALID\]/);
  assert.ok(!existsSync(join(session.home, 'logins', encodeURIComponent(srv.url))), 'a refused token is not stored');

  // Login from stdin; the server URL may be given as HOST:PORT.
  const hostPort = new URL(srv.url).host;
  const login = await session.run(['login', hostPort], { dist: true, input: token + '\n' });
  assert.equal(login.code, 0, login.stderr);
  assert.match(login.stdout, new RegExp(`Logged in to ${srv.url.replace(/[.]/g, '\\.')} as bootstrap-admin \\(admin on \\*\\*; expires `));
  const stored = join(session.home, 'logins', encodeURIComponent(srv.url));
  assert.equal(statSync(stored).mode & 0o777, 0o600);
  assert.ok(!login.stdout.includes(token) && !login.stderr.includes(token));

  const who = await session.run(['whoami', '--server', srv.url, '-o', 'json'], { dist: true });
  assert.equal(who.code, 0, who.stderr);
  const doc = JSON.parse(who.stdout) as { server: string; source: string; token: { role: string; patterns: string[]; expiresAt: string | null; name: string } };
  assert.equal(doc.token.role, 'admin');
  assert.deepEqual(doc.token.patterns, ['**']);
  assert.equal(doc.token.name, 'bootstrap-admin');
  const days = (Date.parse(doc.token.expiresAt!) - Date.now()) / 86_400_000;
  assert.ok(days > 29.9 && days <= 30, `expires in 30 days, got ${days}`);
  assert.match(doc.source, /trust login/);

  // The environment wins over the stored login (CI).
  const env = await session.run(['whoami', '--server', srv.url], { dist: true, env: { OCITRUST_TOKEN: 'ocit_' + 'y'.repeat(43) } });
  assert.equal(env.code, 2);
  assert.match(env.stderr, /\[AUTH_TOKEN_INVALID\]/);
  assert.match(env.stderr, /OCITRUST_TOKEN/);

  const out = await session.run(['logout', srv.url], { dist: true });
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /Logged out of /);
  assert.ok(!existsSync(stored));
  const none = await session.run(['whoami', '--server', srv.url], { dist: true });
  assert.equal(none.code, 2);
  assert.match(none.stderr, /no token for .*: run `trust login .*\[AUTH_REQUIRED\]/);
  // A second start on the same data makes no new token and leaves the file alone.
  await stop(srv);
  srv = await startServer(data);
  assert.doesNotMatch(srv.stderr, /created the first admin token/);
  assert.equal(readFileSync(file, 'utf8').trim(), token);
});

test('bootstrap settings: --bootstrap-token-days 0 never expires; --no-bootstrap-token makes none', { timeout: 120_000 }, async (t) => {
  const a = mkdtempSync(join(tmpdir(), 'ocitrust-bootstrap-'));
  const b = mkdtempSync(join(tmpdir(), 'ocitrust-bootstrap-'));
  const session = new CliSession();
  t.after(() => {
    session.cleanup();
    rmSync(a, { recursive: true, force: true });
    rmSync(b, { recursive: true, force: true });
  });
  const never = await startServer(a, [], { OCITRUST_BOOTSTRAP_TOKEN_DAYS: '0' });
  t.after(() => stop(never));
  assert.match(never.stderr, /created the first admin token \(tok_[0-9a-f]{16}, all collections, never expires\)/);
  const who = await session.run(['whoami', '--server', never.url], { dist: true, env: { OCITRUST_TOKEN: readFileSync(join(a, 'admin-token'), 'utf8').trim() } });
  assert.equal(who.code, 0, who.stderr);
  assert.match(who.stdout, /admin on \*\*; never expires; token from OCITRUST_TOKEN/);

  const off = await startServer(b, ['--no-bootstrap-token']);
  t.after(() => stop(off));
  assert.doesNotMatch(off.stderr, /admin token/);
  assert.ok(!existsSync(join(b, 'admin-token')));
});

test('embedded registry 401: the challenge and the message say to send a trust token as the password', { timeout: 60_000 }, async (t) => {
  const data = mkdtempSync(join(tmpdir(), 'ocitrust-bootstrap-'));
  const srv = await startServer(data);
  t.after(async () => {
    await stop(srv);
    rmSync(data, { recursive: true, force: true });
  });
  const res = await fetch(`${srv.url}/v2/team/app/blobs/uploads/`, { method: 'POST' });
  assert.equal(res.status, 401);
  assert.equal(res.headers.get('www-authenticate'), 'Basic realm="ocitrust"');
  const body = (await res.json()) as { errors: { message: string }[] };
  assert.match(body.errors[0]!.message, /send a trust server token as the Basic password.*docker login HOST -u token/);
  const wrong = await fetch(`${srv.url}/v2/team/app/blobs/uploads/`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from('token:ocit_' + 'z'.repeat(43)).toString('base64')}` } });
  assert.equal(wrong.status, 401);
  assert.match(await wrong.text(), /unknown token.*trust server token as the Basic password/);

  // The registry client (what `trust` uses) turns the challenge into REGISTRY_AUTH_FAILED that
  // says what to send; another registry's 401 would not mention trust tokens.
  const { HttpRegistryClient } = await import('../../lib/oci/client.js');
  const host = new URL(srv.url).host;
  const none = new HttpRegistryClient({ credentials: async () => undefined });
  await assert.rejects(none.pushBlob({ registry: host, path: 'team/app' }, new TextEncoder().encode('x')), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'REGISTRY_AUTH_FAILED');
    assert.match(e.message, /requires basic authentication and no credentials were found \(an ocitrust embedded registry: the password is a trust server token .*docker login HOST -u token/);
    return true;
  });
  const bad = new HttpRegistryClient({ credentials: async () => ({ username: 'token', password: 'ocit_' + 'q'.repeat(43) }) });
  await assert.rejects(bad.pushBlob({ registry: host, path: 'team/app' }, new TextEncoder().encode('x')), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'REGISTRY_AUTH_FAILED');
    assert.match(e.message, /authentication rejected .* \(an ocitrust embedded registry: the password is a trust server token/);
    return true;
  });
});
