/**
 * Starts Debian's `docker-registry` (Docker distribution 2.8.2) on 127.0.0.1 with an
 * ephemeral port (`addr: 127.0.0.1:0`; the real port is read from its "listening on" log
 * line) and a temporary storage directory, optionally behind htpasswd basic auth or the
 * bearer token flow (with a tiny token server from {@link startTokenServer}).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createPrivateKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';

/** A running docker-registry. */
export interface Distribution {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** `127.0.0.1:PORT` (registry host for references). */
  readonly host: string;
  readonly storageDir: string;
  readonly configPath: string;
  /** Runs `docker-registry garbage-collect` (registry must be stopped for safety; we run it live in tests that accept that). */
  garbageCollect(opts?: { deleteUntagged?: boolean }): Promise<string>;
  /** Stops the process and removes the temporary directory. */
  stop(): Promise<void>;
}

/** Options of {@link startDistribution}. */
export interface DistributionOptions {
  /** Basic auth through htpasswd (needs `htpasswd` from apache2-utils for the bcrypt hash). */
  readonly htpasswd?: { readonly user: string; readonly password: string };
  /** Bearer token auth against a {@link TokenServer}. */
  readonly token?: TokenServer;
  /** Allow manifest/blob DELETE (default true). */
  readonly deleteEnabled?: boolean;
  /** More top-level config.yml lines appended as is (e.g. a `notifications:` section). */
  readonly extraConfig?: readonly string[];
}

const READY_TIMEOUT_MS = 15_000;

/**
 * Starts docker-registry and waits until `/v2/` answers.
 * @example const reg = await startDistribution(); … await reg.stop();
 */
export async function startDistribution(opts: DistributionOptions = {}): Promise<Distribution> {
  const dir = await mkdtemp(join(tmpdir(), 'ocitrust-distribution-'));
  const storageDir = join(dir, 'data');
  const configPath = join(dir, 'config.yml');
  const lines = [
    'version: 0.1',
    'log:',
    '  level: info',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${storageDir}`,
    '  delete:',
    `    enabled: ${opts.deleteEnabled ?? true}`,
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    '  addr: 127.0.0.1:0',
    `  secret: ${randomBytes(16).toString('hex')}`,
  ];
  if (opts.htpasswd) {
    const r = spawnSync('htpasswd', ['-Bbn', opts.htpasswd.user, opts.htpasswd.password], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`htpasswd failed: ${r.stderr}`);
    const file = join(dir, 'htpasswd');
    await writeFile(file, r.stdout.trim() + '\n');
    lines.push('auth:', '  htpasswd:', '    realm: ocitrust-test', `    path: ${file}`);
  } else if (opts.token) {
    lines.push(
      'auth:',
      '  token:',
      `    realm: ${opts.token.url}/token`,
      `    service: ${opts.token.service}`,
      `    issuer: ${opts.token.issuer}`,
      `    rootcertbundle: ${opts.token.certPath}`,
    );
  }
  if (opts.extraConfig) lines.push(...opts.extraConfig);
  await writeFile(configPath, lines.join('\n') + '\n');

  const proc = spawn('docker-registry', ['serve', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`docker-registry did not start in time: ${log.slice(-2000)}`));
    }, READY_TIMEOUT_MS);
    proc.stderr!.on('data', (d: Buffer) => {
      if (log.length < 1_000_000) log += d.toString();
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    proc.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`docker-registry exited (${code}): ${log.slice(-2000)}`));
    });
  });
  // Keep draining stderr so the child never blocks on a full pipe.
  proc.stderr!.removeAllListeners('data');
  proc.stderr!.resume();

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    try {
      const r = await fetch(`${url}/v2/`);
      await r.arrayBuffer();
      if (r.status === 200 || r.status === 401) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      await stopProcess(proc);
      throw new Error('docker-registry /v2/ never answered');
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  return {
    url,
    host: `127.0.0.1:${port}`,
    storageDir,
    configPath,
    async garbageCollect(o = {}) {
      const args = ['garbage-collect', configPath];
      if (o.deleteUntagged) args.push('--delete-untagged');
      const r = spawnSync('docker-registry', args, { encoding: 'utf8', timeout: 60_000 });
      if (r.status !== 0) throw new Error(`garbage-collect failed: ${r.stderr}`);
      return r.stdout + r.stderr;
    },
    async stop() {
      await stopProcess(proc);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function stopProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
    proc.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    proc.kill('SIGTERM');
  });
}

/** A tiny bearer-token service for distribution's `auth.token` (docker token auth spec). */
export interface TokenServer {
  /** `http://127.0.0.1:PORT`; the realm is `${url}/token`. */
  readonly url: string;
  readonly service: string;
  readonly issuer: string;
  /** PEM bundle docker-registry trusts (the self-signed signing certificate). */
  readonly certPath: string;
  /** Every token request seen: the query scopes and whether basic credentials were right. */
  readonly requests: { scope: string[]; service: string | null; authorized: boolean }[];
  stop(): Promise<void>;
}

/** Options of {@link startTokenServer}. */
export interface TokenServerOptions {
  /** When set, token requests must carry these basic credentials (else 401). */
  readonly user?: string;
  readonly password?: string;
  /** Token lifetime in seconds (default 300). */
  readonly expiresIn?: number;
}

const b64url = (b: Uint8Array | string): string => Buffer.from(b).toString('base64url');

/**
 * Starts a token server on 127.0.0.1:0 that signs ES256 JWTs with a fresh self-signed
 * certificate (made with `openssl`), passing the certificate in the `x5c` header, which
 * distribution 2.8 checks against `rootcertbundle`.
 */
export async function startTokenServer(opts: TokenServerOptions = {}): Promise<TokenServer> {
  const dir = await mkdtemp(join(tmpdir(), 'ocitrust-token-'));
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  const r = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
      '-subj', '/CN=ocitrust-test-token', '-keyout', keyPath, '-out', certPath],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
  const key: KeyObject = createPrivateKey(await readFile(keyPath));
  const certDer = Buffer.from(
    (await readFile(certPath, 'utf8')).replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''),
    'base64',
  );
  const service = 'ocitrust-test-registry';
  const issuer = 'ocitrust-test-issuer';
  const requests: TokenServer['requests'] = [];
  const expiresIn = opts.expiresIn ?? 300;

  const server: Server = createServer((req: IncomingMessage, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname !== '/token') {
      res.writeHead(404).end();
      return;
    }
    const scope = u.searchParams.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean);
    let authorized = opts.user === undefined;
    const auth = req.headers.authorization;
    if (auth?.startsWith('Basic ')) {
      const [user, ...rest] = Buffer.from(auth.slice(6), 'base64').toString().split(':');
      authorized = user === opts.user && rest.join(':') === opts.password;
    }
    requests.push({ scope, service: u.searchParams.get('service'), authorized });
    if (!authorized) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}');
      return;
    }
    const access = scope.map((s) => {
      const [type, ...rest] = s.split(':');
      const actions = rest.pop() ?? '';
      return { type, name: rest.join(':'), actions: actions.split(',').filter(Boolean) };
    });
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'ES256', x5c: [certDer.toString('base64')] };
    const claims = {
      iss: issuer,
      sub: opts.user ?? 'anonymous',
      aud: service,
      exp: now + expiresIn,
      nbf: now - 10,
      iat: now,
      jti: randomBytes(8).toString('hex'),
      access,
    };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
    const token = `${input}.${b64url(sig)}`;
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({ token, access_token: token, expires_in: expiresIn, issued_at: new Date(now * 1000).toISOString() }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    service,
    issuer,
    certPath,
    requests,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
