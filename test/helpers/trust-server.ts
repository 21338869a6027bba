// Test fixtures for the trust server: an app on a temp data directory (SQLite unless a database
// is given), tokens, and a publisher that builds root/targets naming the server's own snapshot
// and timestamp keys (GET …/keys), exactly what `trust init` does against a real server.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { systemClock, type Clock } from '../../lib/clock.js';
import { randomSecretSeed } from '../../lib/crypto/ed25519.js';
import { PublicKey } from '../../lib/keys/key.js';
import { SeedSigner, type Signer } from '../../lib/keys/signer.js';
import { Metadata } from '../../lib/metadata/metadata.js';
import type { Root } from '../../lib/metadata/root.js';
import type { Targets } from '../../lib/metadata/targets.js';
import type { Signed } from '../../lib/metadata/signed.js';
import { bumpVersion, newRoot, newTargets } from '../../lib/metadata/builders.js';
import { buildApp, type AppOptions } from '../../server/app.js';
import { createToken, type TokenRole } from '../../server/tokens.js';

/** A fixed secret for tests (≥ 32 characters). */
export const TEST_SECRET = 'test-secret-0123456789abcdef0123456789abcdef';
/** Cheap scrypt for tests; production uses N = 2^15. */
export const TEST_SCRYPT = { N: 1024, r: 8, p: 1 } as const;

/** An app on a fresh temp data directory; `close()` closes it and deletes the directory. */
export async function testApp(opts: AppOptions = {}): Promise<{ app: FastifyInstance; dataDir: string; close(): Promise<void> }> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'ocitrust-server-'));
  const app = await buildApp({ secret: TEST_SECRET, scrypt: TEST_SCRYPT, registry: false, resignIntervalMs: 0, auditPruneIntervalMs: 0, ...opts, dataDir });
  return {
    app,
    dataDir,
    async close() {
      await app.close();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Creates a token directly in the app's database; returns the secret. */
export async function tokenFor(app: FastifyInstance, role: TokenRole, patterns: string[], name?: string): Promise<string> {
  const { secret } = await createToken(app.ocitrust.db, { role, patterns, ...(name ? { name } : {}) });
  return secret;
}

/** Authorization header for a token secret. */
export function bearer(secret: string | undefined): Record<string, string> {
  return secret ? { authorization: `Bearer ${secret}` } : {};
}

async function signAll<T extends Signed>(signed: T, signers: readonly Signer[]): Promise<Metadata<T>> {
  let md = new Metadata(signed);
  for (const s of signers) md = await md.sign(s);
  return md;
}

function fresh(n: number): SeedSigner[] {
  return Array.from({ length: n }, () => new SeedSigner(randomSecretSeed()));
}

/** The server's public keys of a collection, as `GET …/keys` returns them. */
export interface ServerKeysDoc {
  keys: { snapshot: unknown; timestamp: unknown };
  keyids: { snapshot: string; timestamp: string };
  versions: { root: number; targets: number; snapshot: number; timestamp: number };
}

/**
 * The owner's side of a collection on a trust server: root and targets keys, and the current
 * root and targets it has signed. `next*` methods build (without publishing) the next versions.
 */
export class Owner {
  readonly rootKeys: SeedSigner[];
  targetsKeys: SeedSigner[];
  root!: Metadata<Root>;
  targets!: Metadata<Targets>;
  readonly serverKeys: { snapshot: PublicKey; timestamp: PublicKey };
  readonly rootThreshold: number;
  readonly targetsThreshold: number;

  constructor(
    readonly collection: string,
    keysDoc: ServerKeysDoc,
    readonly clock: Clock = systemClock,
    opts: { rootKeys?: number; rootThreshold?: number; targetsKeys?: number; targetsThreshold?: number } = {},
  ) {
    this.rootKeys = fresh(opts.rootKeys ?? 1);
    this.targetsKeys = fresh(opts.targetsKeys ?? 1);
    this.serverKeys = { snapshot: PublicKey.fromJSON(keysDoc.keys.snapshot), timestamp: PublicKey.fromJSON(keysDoc.keys.timestamp) };
    this.rootThreshold = opts.rootThreshold ?? 1;
    this.targetsThreshold = opts.targetsThreshold ?? 1;
  }

  /** Root v1 and targets v1 (empty delegations), signed; becomes current. */
  async initial(opts: { rootExpiresIn?: number; targetsExpiresIn?: number } = {}): Promise<{ root: object; targets: object }> {
    const root = newRoot({
      clock: this.clock,
      ...(opts.rootExpiresIn ? { expiresInSeconds: opts.rootExpiresIn } : {}),
      keys: {
        root: this.rootKeys.map((s) => s.publicKey),
        targets: this.targetsKeys.map((s) => s.publicKey),
        snapshot: [this.serverKeys.snapshot],
        timestamp: [this.serverKeys.timestamp],
      },
      thresholds: { root: this.rootThreshold, targets: this.targetsThreshold },
    });
    this.root = await signAll(root, this.rootKeys);
    this.targets = await signAll(newTargets({ clock: this.clock, ...(opts.targetsExpiresIn ? { expiresInSeconds: opts.targetsExpiresIn } : {}) }), this.targetsKeys);
    return { root: this.root.toJSON(), targets: this.targets.toJSON() };
  }

  /** The next targets version (optionally changed), signed by the targets keys or `signWith`; becomes current. */
  async nextTargets(change: (t: Targets) => Targets = (t) => t, signWith?: readonly Signer[], expiresInSeconds?: number): Promise<object> {
    this.targets = await this.candidateTargets(change, signWith, expiresInSeconds);
    return this.targets.toJSON();
  }

  /** Like {@link nextTargets} but leaves the current targets alone (for publishes that may lose). */
  async candidateTargets(change: (t: Targets) => Targets = (t) => t, signWith?: readonly Signer[], expiresInSeconds?: number): Promise<Metadata<Targets>> {
    const next = bumpVersion(change(this.targets.signed), { clock: this.clock, ...(expiresInSeconds ? { expiresInSeconds } : {}) });
    return signAll(next, signWith ?? this.targetsKeys);
  }

  /** Root version N+1 with the same keys, signed by the root keys; the current root is left alone. */
  async candidateRoot(): Promise<Metadata<Root>> {
    return signAll(bumpVersion(this.root.signed, { clock: this.clock }), this.rootKeys);
  }

  /** The next root with new root keys, signed by old and new root keys (or `signWith`); becomes current. */
  async rotateRoot(opts: { signWith?: readonly Signer[]; role?: 'root' | 'targets' } = {}): Promise<object> {
    const role = opts.role ?? 'root';
    const keys = fresh(1);
    const next = bumpVersion(this.root.signed.withRoleKeys(role, keys.map((k) => k.publicKey), 1), { clock: this.clock });
    const signers = opts.signWith ?? [...this.rootKeys, ...(role === 'root' ? keys : [])];
    this.root = await signAll(next, signers);
    if (role === 'root') this.rootKeys.splice(0, this.rootKeys.length, ...keys);
    else this.targetsKeys = keys;
    return this.root.toJSON();
  }
}

/** Fresh signers (keys the collection does not trust, for negative tests). */
export function strangers(n = 1): SeedSigner[] {
  return fresh(n);
}

/** A trust server running as a child process (`server/run.ts`). */
export interface ServerProcess {
  readonly url: string;
  readonly proc: import('node:child_process').ChildProcess;
  /** Everything the process wrote (logs), for failure messages. */
  output(): string;
  /** Sends a signal and waits for the exit; returns the exit code (null when killed by the signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Resolves with the exit code once the process has exited by itself or by a signal. */
  exited(): Promise<number | null>;
}

/**
 * Starts `server/run.ts` in a child process with `OCITRUST_*` variables (port 0 on 127.0.0.1,
 * registry off, the test secret) and waits for its `{"listening": url}` line.
 */
export async function spawnServer(env: Record<string, string>, timeoutMs = 30_000): Promise<ServerProcess> {
  const { spawn } = await import('node:child_process');
  const entry = new URL('../../server/run.ts', import.meta.url).pathname;
  const proc = spawn(process.execPath, ['--import', 'tsx', entry], {
    env: {
      ...process.env,
      OCITRUST_PORT: '0',
      OCITRUST_HOST: '127.0.0.1',
      OCITRUST_REGISTRY: 'false',
      OCITRUST_SERVER_SECRET: TEST_SECRET,
      OCITRUST_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const onData = (b: Buffer): void => {
      out += b.toString();
      const m = /\{"listening":"([^"]+)"\}/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${out}`));
    });
  });
  return {
    url,
    proc,
    output: () => out,
    exited: () => exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill(signal);
      return exited;
    },
  };
}

/** fetch + JSON with an optional bearer token; returns status and parsed body. */
export async function call(url: string, opts: { method?: string; token?: string; body?: unknown } = {}): Promise<{ status: number; json: any }> {
  const r = await fetch(url, {
    method: opts.method ?? (opts.body === undefined ? 'GET' : 'POST'),
    headers: { ...bearer(opts.token), ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
  });
  const text = await r.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: r.status, json };
}
