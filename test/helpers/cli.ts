/**
 * Runs the real `trust` command in a child process, the way users and scripts run it: from
 * source through tsx (fast), or the shipped bin (package.json "bin": the bundle that
 * `npm run build` writes with scripts/build-cli.mjs). Each test gets its own home
 * folder (keys, pinned roots, trust cache) and passphrases through the environment.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createToken, type TokenRole } from '../../server/tokens.js';
import { startServer, type RunningServer } from '../../server/main.js';
import { TEST_SCRYPT, TEST_SECRET } from './trust-server.js';
import { collectProcess, type ProcessRun } from './process.js';

/** The project root. */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SOURCE_MAIN = join(PROJECT_ROOT, 'cli', 'main.ts');
/** The shipped entry point: package.json "bin".trust, as `npm install` links it. */
export const DIST_MAIN = join(PROJECT_ROOT, (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { bin: { trust: string } }).bin.trust);

/** What a run of `trust` produced. */
export type TrustRun = ProcessRun;

/** Asserts exit 0, showing the output otherwise; returns the run. */
export function expectOk(r: TrustRun, what: string): TrustRun {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** Asserts exit `exit` with `[code]` on stderr (and `re`, if given), and no stack trace. */
export function expectFails(r: TrustRun, exit: number, code: string, re?: RegExp): void {
  assert.equal(r.code, exit, `expected exit ${exit} [${code}], got ${r.code}\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stderr, new RegExp(`\\[${code}\\]`), r.stderr);
  if (re) assert.match(r.stderr, re);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

/** Stops the warm verifiers (cli/verify-daemon.ts) whose sockets are in `<xdgCache>/ocitrust`. */
export function stopWarmVerifiers(xdgCache: string): void {
  const dir = join(xdgCache, 'ocitrust');
  for (const f of existsSync(dir) ? readdirSync(dir).filter((x) => x.endsWith('.pid')) : []) {
    try {
      process.kill(Number(readFileSync(join(dir, f), 'utf8')), 'SIGKILL');
    } catch {
      // gone already
    }
  }
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
  /** Run this program (a single executable, the native front) with the arguments, not node. */
  readonly executable?: string;
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
  const [program, argv] = opts.executable ? [opts.executable, [...args]] : [process.execPath, [...entry, ...args]];
  return collectProcess(program, argv, { cwd: PROJECT_ROOT, env, killAfterMs: opts.timeoutMs ?? 60_000, ...(opts.input !== undefined ? { input: opts.input } : {}) });
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
