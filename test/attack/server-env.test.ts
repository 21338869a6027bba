// Issue 12 item 8: `trust server` ignored its environment. With OCITRUST_ALLOW_IPS=127.0.0.1 a
// client bound to 127.0.0.2 minted an admin token and read /v1/audit; with the TLS variables
// set the server spoke plain HTTP — and deploy/deployment.yaml configures the server exactly
// this way. Every case here starts the REAL shipped binary (dist/cli/bundle/trust.js, run
// `npm run build` first) with one variable and checks, from the outside, that it took effect.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIST_MAIN, PROJECT_ROOT, runTrust } from '../helpers/cli.js';
import { TEST_SECRET } from '../helpers/trust-server.js';
import { missingPrograms } from '../helpers/oci-layout.js';

interface Started {
  readonly url: string;
  readonly proc: ChildProcess;
  stderr(): string;
  stop(): Promise<void>;
}

interface Reply {
  readonly status: number;
  readonly body: string;
}

let work: string;
let dataDir: string;
let adminToken: string;
const running = new Set<Started>();

/** The environment of every run: a private home and data folder, the test secret; nothing from the test process but PATH. */
function baseEnv(extra: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH!, HOME: work, OCITRUST_HOME: join(work, 'home'), OCITRUST_DATA_DIR: dataDir, OCITRUST_SERVER_SECRET: TEST_SECRET, OCITRUST_LOG_LEVEL: 'warn', NO_COLOR: '1', ...extra };
}

/** Starts `trust server args…` from the built bundle; resolves with its URL once it says it listens. */
function startTrust(args: readonly string[], env: Record<string, string>): Promise<Started> {
  const proc = spawn(process.execPath, [DIST_MAIN, 'server', ...args], { cwd: PROJECT_ROOT, env: baseEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stdout!.on('data', () => undefined);
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const started: Started = {
    url: '',
    proc,
    stderr: () => err,
    async stop() {
      running.delete(started);
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        await exited;
      }
    },
  };
  running.add(started);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`trust server did not start in 30 s:\n${err}`)), 30_000);
    proc.stderr!.on('data', () => {
      const m = /listening on (https?:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ ...started, url: m[1]! });
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`trust server exited with ${proc.exitCode} before listening:\n${err}`));
    });
  });
}

/** Runs `trust server args…` expecting it to exit by itself (a start failure). */
async function trustServerExit(args: readonly string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const r = await runTrust(['server', ...args], { dist: true, env: baseEnv(env), timeoutMs: 30_000 });
  return { code: r.code, stderr: r.stderr };
}

/** One HTTP(S) request with node:http, so the client's own address can be chosen. */
function get(url: string, opts: { localAddress?: string; token?: string; ca?: string; cert?: string; key?: string } = {}): Promise<Reply> {
  const u = new URL(url);
  const req = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const r = req(
      u,
      {
        method: 'GET',
        ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
        headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {},
        ...(opts.ca ? { ca: opts.ca } : {}),
        ...(opts.cert ? { cert: opts.cert, key: opts.key } : {}),
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    r.on('error', reject);
    r.end();
  });
}

/** A port that was free a moment ago (the server then binds it by number). */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

function openssl(args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: work, encoding: 'utf8' });
  assert.equal(r.status, 0, `openssl ${args.join(' ')}: ${r.stderr}`);
}

describe('trust server reads its environment (issue 12 item 8)', { timeout: 300_000 }, () => {
  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'ocitrust-server-env-'));
    dataDir = join(work, 'data');
    const r = await runTrust(['server', 'token', 'create', '--role', 'admin', '--collections', '**', '--data', dataDir], { dist: true, env: baseEnv({}) });
    assert.equal(r.code, 0, r.stderr);
    adminToken = r.stdout.trim();
  });

  after(async () => {
    for (const s of [...running]) await s.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('OCITRUST_ALLOW_IPS=127.0.0.1: a client from 127.0.0.2 is refused on /v1/ (even with an admin token), /healthz still answers', async () => {
    const s = await startTrust(['--listen', '127.0.0.1:0'], { OCITRUST_ALLOW_IPS: '127.0.0.1' });
    try {
      const audit = await get(`${s.url}/v1/audit`, { localAddress: '127.0.0.2', token: adminToken });
      assert.equal(audit.status, 403, audit.body);
      assert.equal(JSON.parse(audit.body).code, 'IP_NOT_ALLOWED');
      const tokens = await get(`${s.url}/v1/tokens`, { localAddress: '127.0.0.2', token: adminToken });
      assert.equal(tokens.status, 403, tokens.body);
      const health = await get(`${s.url}/healthz`, { localAddress: '127.0.0.2' });
      assert.equal(health.status, 200);
      // The allowed address gets through: the refusal above is the allowlist, not a broken server.
      const ok = await get(`${s.url}/v1/audit`, { localAddress: '127.0.0.1', token: adminToken });
      assert.equal(ok.status, 200, ok.body);
      assert.match(s.stderr(), /allowlist 127\.0\.0\.1/);
    } finally {
      await s.stop();
    }
  });

  test('--allow-ips is the same setting as a flag', async () => {
    const s = await startTrust(['--listen', '127.0.0.1:0', '--allow-ips', '127.0.0.1/32'], {});
    try {
      const audit = await get(`${s.url}/v1/audit`, { localAddress: '127.0.0.2', token: adminToken });
      assert.equal(audit.status, 403, audit.body);
    } finally {
      await s.stop();
    }
  });

  test('OCITRUST_TLS_CERT/OCITRUST_TLS_KEY: the server speaks HTTPS (and OCITRUST_CLIENT_CA turns on mTLS)', { skip: missingPrograms('openssl') }, async () => {
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=ocitrust test CA']);
    writeFileSync(join(work, 'server.ext'), 'subjectAltName=IP:127.0.0.1\n');
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
    openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'server.ext']);
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=client']);
    openssl(['x509', '-req', '-in', 'client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.crt', '-days', '2']);
    const { readFileSync } = await import('node:fs');
    const ca = readFileSync(join(work, 'ca.crt'), 'utf8');
    const tls = { OCITRUST_TLS_CERT: join(work, 'server.crt'), OCITRUST_TLS_KEY: join(work, 'server.key') };

    const s = await startTrust(['--listen', '127.0.0.1:0'], tls);
    try {
      assert.match(s.url, /^https:\/\//);
      assert.equal((await get(`${s.url}/healthz`, { ca })).status, 200);
      await assert.rejects(get(s.url.replace('https:', 'http:') + '/healthz'), 'no plain HTTP on the TLS port');
      assert.match(s.stderr(), /TLS on/);
    } finally {
      await s.stop();
    }

    const m = await startTrust(['--listen', '127.0.0.1:0'], { ...tls, OCITRUST_CLIENT_CA: join(work, 'ca.crt') });
    try {
      await assert.rejects(get(`${m.url}/v1/audit`, { ca, token: adminToken }), 'no client certificate: the handshake fails');
      const ok = await get(`${m.url}/healthz`, { ca, cert: readFileSync(join(work, 'client.crt'), 'utf8'), key: readFileSync(join(work, 'client.key'), 'utf8') });
      assert.equal(ok.status, 200);
      assert.match(m.stderr(), /mTLS on/);
    } finally {
      await m.stop();
    }
  });

  test('OCITRUST_HOST and OCITRUST_PORT are honoured', async () => {
    const port = await freePort('127.0.0.3');
    const s = await startTrust([], { OCITRUST_HOST: '127.0.0.3', OCITRUST_PORT: String(port) });
    try {
      assert.equal(s.url, `http://127.0.0.3:${port}`);
      assert.equal((await get(`${s.url}/healthz`)).status, 200);
    } finally {
      await s.stop();
    }
  });

  test('OCITRUST_REGISTRY=false: no /v2/; on by default', async () => {
    const off = await startTrust([], { OCITRUST_HOST: '127.0.0.1', OCITRUST_PORT: '0', OCITRUST_REGISTRY: 'false' });
    try {
      assert.equal((await get(`${off.url}/v2/`)).status, 404);
      assert.match(off.stderr(), /registry off/);
    } finally {
      await off.stop();
    }
    const on = await startTrust(['--listen', '127.0.0.1:0'], {});
    try {
      assert.notEqual((await get(`${on.url}/v2/`)).status, 404);
    } finally {
      await on.stop();
    }
  });

  test('OCITRUST_ANONYMOUS_READ=false: reads need a token', async () => {
    const s = await startTrust(['--listen', '127.0.0.1:0'], { OCITRUST_ANONYMOUS_READ: 'false' });
    try {
      const r = await get(`${s.url}/v1/collections/example.com/nothing/timestamp.json`);
      assert.equal(r.status, 401, r.body);
      assert.match(s.stderr(), /anonymous reads off/);
    } finally {
      await s.stop();
    }
    const open = await startTrust(['--listen', '127.0.0.1:0'], {});
    try {
      assert.equal((await get(`${open.url}/v1/collections/example.com/nothing/timestamp.json`)).status, 404);
    } finally {
      await open.stop();
    }
  });

  test('an unknown OCITRUST_ variable is warned about, with a did-you-mean; client variables are not', async () => {
    const s = await startTrust(['--listen', '127.0.0.1:0'], { OCITRUST_FOO: '1', OCITRUST_ALLOW_IP: '127.0.0.1', OCITRUST_TOKEN: 'x', OCITRUST_SERVER: 'http://127.0.0.1:1', OCITRUST_TARGETS_PASSPHRASE: 'x' });
    try {
      assert.match(s.stderr(), /unknown environment variable OCITRUST_FOO/);
      assert.match(s.stderr(), /OCITRUST_ALLOW_IP\b.*did you mean OCITRUST_ALLOW_IPS\?/);
      assert.doesNotMatch(s.stderr(), /OCITRUST_TOKEN|OCITRUST_SERVER\b|OCITRUST_TARGETS_PASSPHRASE/);
    } finally {
      await s.stop();
    }
  });

  test('an invalid value stops the start: exit 2 with a code and "expected X, got Y"', async () => {
    const port = await trustServerExit([], { OCITRUST_PORT: 'abc' });
    assert.equal(port.code, 2, port.stderr);
    assert.match(port.stderr, /OCITRUST_PORT: expected an integer 0-65535, got 'abc' \[SERVER_CONFIG_INVALID\]/);
    // A boolean that is neither true nor false must not silently mean "on".
    const anon = await trustServerExit(['--listen', '127.0.0.1:0'], { OCITRUST_ANONYMOUS_READ: 'nope' });
    assert.equal(anon.code, 2, anon.stderr);
    assert.match(anon.stderr, /OCITRUST_ANONYMOUS_READ: expected true or false, got 'nope' \[SERVER_CONFIG_INVALID\]/);
    const ips = await trustServerExit(['--listen', '127.0.0.1:0'], { OCITRUST_ALLOW_IPS: '127.0.0.1,300.1.1.1' });
    assert.equal(ips.code, 2, ips.stderr);
    assert.match(ips.stderr, /OCITRUST_ALLOW_IPS: .*300\.1\.1\.1.*\[SERVER_CONFIG_INVALID\]/);
    const flag = await trustServerExit(['--port', '70000'], {});
    assert.equal(flag.code, 2, flag.stderr);
    assert.match(flag.stderr, /--port: expected an integer 0-65535, got '70000'/);
  });

  test('a flag beats the environment', async () => {
    const port = await freePort('127.0.0.1');
    const s = await startTrust(['--registry', '--port', String(port), '--host', '127.0.0.1'], { OCITRUST_REGISTRY: 'false', OCITRUST_PORT: '1', OCITRUST_HOST: '127.0.0.9' });
    try {
      assert.equal(s.url, `http://127.0.0.1:${port}`);
      assert.notEqual((await get(`${s.url}/v2/`)).status, 404, 'the --registry flag wins over OCITRUST_REGISTRY=false');
    } finally {
      await s.stop();
    }
  });

  test('the start line states the effective security settings', async () => {
    const s = await startTrust(['--listen', '127.0.0.1:0'], {});
    try {
      const line = s.stderr().split('\n').find((l) => /listening on/.test(l)) ?? '';
      for (const part of [/TLS off/, /allowlist off \(any address\)/, /anonymous reads on/, /registry on/, /proxy off/, /admission off/, /database sqlite/]) assert.match(line, part);
    } finally {
      await s.stop();
    }
  });

  test('trust server token create writes into the database OCITRUST_DATABASE names (the one the server uses)', async () => {
    const { existsSync } = await import('node:fs');
    const other = join(work, 'other.db');
    const r = await runTrust(['server', 'token', 'create', '--role', 'reader', '--collections', '**'], { dist: true, env: baseEnv({ OCITRUST_DATABASE: other }) });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(other), 'the token went into OCITRUST_DATABASE, not <data>/ocitrust.db');
  });

  test('node dist/server/run.js and the proxy runner read the same settings through the same loader', async () => {
    const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'dist/server/run.js')], { env: baseEnv({ OCITRUST_PORT: 'abc' }), encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /OCITRUST_PORT: expected an integer 0-65535, got 'abc'/);
    const proxy = spawnSync(process.execPath, [join(PROJECT_ROOT, 'dist/server/proxy/run.js')], { env: baseEnv({ OCITRUST_PROXY_UPSTREAM: 'http://127.0.0.1:1', OCITRUST_ANONYMOUS_READ: 'maybe' }), encoding: 'utf8', timeout: 30_000 });
    assert.equal(proxy.status, 2, proxy.stderr);
    assert.match(proxy.stderr, /OCITRUST_ANONYMOUS_READ: expected true or false, got 'maybe'/);
  });
});
