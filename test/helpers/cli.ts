/**
 * Runs the real `trust` command in a child process, the way users and scripts run it: from
 * source through tsx (fast), or the shipped bin (package.json "bin": the bundle that
 * `npm run build` writes with scripts/build-cli.mjs). Each test gets its own home
 * folder (keys, pinned roots, trust cache) and passphrases through the environment.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createToken, type TokenRole } from '../../server/tokens.js';
import { startServer, type RunningServer } from '../../server/main.js';
import { TEST_SCRYPT, TEST_SECRET } from './trust-server.js';

/** The project root. */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SOURCE_MAIN = join(PROJECT_ROOT, 'cli', 'main.ts');
/** The shipped entry point: package.json "bin".trust, as `npm install` links it. */
export const DIST_MAIN = join(PROJECT_ROOT, (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { bin: { trust: string } }).bin.trust);

/** What a run of `trust` produced. */
export interface TrustRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of {@link trust}. */
export interface TrustRunOptions {
  /** Extra environment (merged over the session's). */
  readonly env?: Record<string, string | undefined>;
  /** Text for stdin (default: none, stdin closed). */
  readonly input?: string;
  /** Run the shipped bin ({@link DIST_MAIN}) instead of the sources. */
  readonly dist?: boolean;
  /** Run this built entry point (e.g. a scratch build of the bundle) instead of the sources. */
  readonly script?: string;
  readonly timeoutMs?: number;
}

/** A CLI session: one home folder, one trust server URL, one token. */
export class CliSession {
  readonly home: string;
  readonly env: Record<string, string | undefined>;

  constructor(opts: { server?: string; token?: string; env?: Record<string, string | undefined> } = {}) {
    this.home = mkdtempSync(join(tmpdir(), 'ocitrust-cli-home-'));
    this.env = {
      OCITRUST_HOME: this.home,
      OCITRUST_PASSPHRASE: 'correct horse battery staple',
      NO_COLOR: '1',
      ...(opts.server ? { OCITRUST_SERVER: opts.server } : {}),
      ...(opts.token ? { OCITRUST_TOKEN: opts.token } : {}),
      ...(opts.env ?? {}),
    };
  }

  /** Runs `trust args…`; resolves when it exits (it never rejects on a non-zero exit). */
  run(args: readonly string[], opts: TrustRunOptions = {}): Promise<TrustRun> {
    return runTrust(args, { ...opts, env: { ...this.env, ...(opts.env ?? {}) } });
  }

  /** Removes the home folder. */
  cleanup(): void {
    rmSync(this.home, { recursive: true, force: true });
  }
}

/** Runs `trust` with exactly the given environment additions (over a minimal process env). */
export function runTrust(args: readonly string[], opts: TrustRunOptions = {}): Promise<TrustRun> {
  const built = opts.script ?? (opts.dist ? DIST_MAIN : undefined);
  const entry = built ? [built] : ['--import', 'tsx', SOURCE_MAIN];
  if (built && !existsSync(built)) throw new Error(`${built} is missing: run npm run build`);
  const env: Record<string, string> = {};
  for (const k of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'CI']) if (process.env[k] !== undefined) env[k] = process.env[k]!;
  for (const [k, v] of Object.entries(opts.env ?? {})) if (v !== undefined) env[k] = v;
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...entry, ...args], { cwd: PROJECT_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    if (opts.input !== undefined) p.stdin.end(opts.input);
    else p.stdin.end();
  });
}

/** A trust server in this process on 127.0.0.1:0, with a temporary data folder. */
export interface TestTrustServer {
  readonly server: RunningServer;
  readonly url: string;
  readonly dataDir: string;
  /** Creates a token (default: admin on every collection) and returns its secret. */
  token(role?: TokenRole, patterns?: string[]): Promise<string>;
  close(): Promise<void>;
}

/** Starts a trust server (cheap scrypt, no timers, no logs). */
export async function startTrustServer(opts: { registry?: boolean } = {}): Promise<TestTrustServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ocitrust-cli-server-'));
  const server = await startServer({
    dataDir,
    port: 0,
    host: '127.0.0.1',
    secret: TEST_SECRET,
    scrypt: TEST_SCRYPT,
    registry: opts.registry ?? false,
    logger: false,
    handleSignals: false,
    resignIntervalMs: 0,
    auditPruneIntervalMs: 0,
    // Reads of a collection head right after a publish must see it.
    cacheTtlMs: 0,
  });
  return {
    server,
    url: server.url,
    dataDir,
    async token(role: TokenRole = 'admin', patterns: string[] = ['**']) {
      return (await createToken(server.app.ocitrust.db, { role, patterns })).secret;
    },
    async close() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The failure codes of a `verify -o json` result. */
export function failureCodes(run: TrustRun, index = 0): string[] {
  const doc = JSON.parse(run.stdout) as { results: { failures: { code: string }[] }[] };
  return doc.results[index]!.failures.map((f) => f.code);
}
