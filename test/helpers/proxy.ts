/**
 * Fixtures for the registry plugin tests (issue 7): a trust server in this process with the
 * verifying proxy in front of an upstream registry, trust collections published on that
 * server with delegated signers, images pushed and signed with the library, and the proxy run
 * as a separate process (server/proxy/run.ts) for memory measurements.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { randomSecretSeed } from '../../lib/crypto/ed25519.js';
import { SeedSigner } from '../../lib/keys/signer.js';
import { HttpRegistryClient } from '../../lib/oci/client.js';
import { anonymous } from '../../lib/oci/credentials.js';
import { signImage } from '../../lib/usecases/sign.js';
import { startServer, type RunningServer } from '../../server/main.js';
import type { AppOptions } from '../../server/options.js';
import { proxyServerPlugin, type ProxyServerOptions, type ProxyServerPlugin } from '../../server/proxy/server-plugin.js';
import { Owner, TEST_SCRYPT, TEST_SECRET } from './trust-server.js';

const WHO = { actor: 'test', tokenId: null, source: null };

/** A trust server with the proxy mounted, listening on 127.0.0.1:0. */
export interface ProxyServer {
  readonly server: RunningServer;
  readonly app: FastifyInstance;
  readonly plugin: ProxyServerPlugin;
  /** `127.0.0.1:<port>` of the proxy, for references and skopeo. */
  readonly host: string;
  readonly url: string;
  close(): Promise<void>;
}

/** Starts a trust server on a temp dir with the proxy in front of `upstream` (anonymous upstream reads unless told otherwise). */
export async function startProxyServer(opts: ProxyServerOptions & { app?: AppOptions }): Promise<ProxyServer> {
  const dir = mkdtempSync(join(tmpdir(), 'ocitrust-proxy-'));
  const { app: appOpts, ...proxyOpts } = opts;
  const plugin = proxyServerPlugin({ upstreamCredentials: anonymous, ...proxyOpts });
  const server = await startServer({
    dataDir: dir,
    port: 0,
    secret: TEST_SECRET,
    scrypt: TEST_SCRYPT,
    logger: false,
    handleSignals: false,
    resignIntervalMs: 0,
    auditPruneIntervalMs: 0,
    registry: false,
    cacheTtlMs: 0,
    ...appOpts,
    plugins: [plugin, ...(appOpts?.plugins ?? [])],
  });
  return {
    server,
    app: server.app,
    plugin,
    host: new URL(server.url).host,
    url: server.url,
    async close() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A collection on the server with delegated signers. */
export interface PublishedCollection {
  readonly owner: Owner;
  readonly signers: Map<string, SeedSigner>;
  /** Publishes targets without signer `name` (its signatures stop counting). */
  removeSigner(name: string): Promise<void>;
  /** Delegates a new signer (paths: the collection name followed by `*`). */
  addSigner(name: string): Promise<SeedSigner>;
}

/**
 * Creates collection `name` on the trust server, publishes root and targets like `trust init`,
 * and delegates one signer per name in `signers` (fresh keys).
 */
export async function publishCollection(app: FastifyInstance, name: string, signers: readonly string[]): Promise<PublishedCollection> {
  const trust = app.ocitrust.trust;
  await trust.createCollection(name, WHO);
  const info = (await trust.info(name))!;
  const owner = new Owner(name, { keys: info.keys, keyids: info.keyids, versions: info.versions });
  await trust.publish(name, await owner.initial(), WHO);
  const map = new Map<string, SeedSigner>();
  const c: PublishedCollection = {
    owner,
    signers: map,
    async removeSigner(role) {
      await trust.publish(name, { targets: await owner.nextTargets((t) => t.withoutDelegation(role)) }, WHO);
      map.delete(role);
    },
    async addSigner(role) {
      const s = new SeedSigner(randomSecretSeed());
      await trust.publish(name, { targets: await owner.nextTargets((t) => t.withDelegation({ name: role, keys: [s.publicKey], paths: [`${name}*`] })) }, WHO);
      map.set(role, s);
      return s;
    },
  };
  for (const s of signers) await c.addSigner(s);
  return c;
}

/** A registry client for plain-HTTP loopback registries without credentials. */
export function plainClient(fetchImpl?: typeof fetch): HttpRegistryClient {
  return new HttpRegistryClient({ credentials: anonymous, ...(fetchImpl ? { fetch: fetchImpl } : {}), retry: { maxAttempts: 2 } });
}

/** Signs `reference` with `signer` as `role`, straight against the registry the reference names. */
export async function sign(reference: string, signer: SeedSigner, role: string, client = plainClient()): Promise<string> {
  const r = await signImage({ reference, registry: client, signer, role });
  return r.digest;
}

/**
 * A fetch that sends requests for `fromHost` to `toHost` and adds `X-Ocitrust-Token`: a
 * signing tool that names the upstream's repository but talks to the proxy with its token.
 */
export function viaProxyFetch(fromHost: string, toHost: string, token?: string): typeof fetch {
  return (input, init) => {
    const u = new URL(String(input));
    if (u.host === fromHost) u.host = toHost;
    const headers = new Headers(init?.headers);
    if (token) headers.set('x-ocitrust-token', token);
    return fetch(u, { ...init, headers });
  };
}

/** The proxy running as its own process (server/proxy/run.ts). */
export interface ProxyProcess {
  readonly url: string;
  readonly host: string;
  readonly proc: ChildProcess;
  readonly pid: number;
  output(): string;
  stop(): Promise<void>;
}

/** Spawns server/proxy/run.ts with the given `OCITRUST_*` variables and waits for `{"listening": url}`. */
export async function spawnProxy(env: Record<string, string>, timeoutMs = 30_000): Promise<ProxyProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'ocitrust-proxy-proc-'));
  const entry = new URL('../../server/proxy/run.ts', import.meta.url).pathname;
  const proc = spawn(process.execPath, ['--import', 'tsx', entry], {
    env: {
      ...process.env,
      OCITRUST_PORT: '0',
      OCITRUST_HOST: '127.0.0.1',
      OCITRUST_DATA_DIR: dir,
      OCITRUST_SERVER_SECRET: TEST_SECRET,
      OCITRUST_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`proxy did not start in ${timeoutMs} ms:\n${out}`)), timeoutMs);
    proc.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /\{"listening":"([^"]+)"\}/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    proc.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`proxy exited with ${code} before listening:\n${out}`));
    });
  });
  return {
    url,
    host: new URL(url).host,
    proc,
    pid: proc.pid!,
    output: () => out,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
