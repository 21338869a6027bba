/**
 * Fresh PostgreSQL databases for tests.
 *
 * - `OCITRUST_TEST_PG_URL` set (e.g. `postgres://postgres@127.0.0.1:5432/postgres`): databases
 *   are created on that server.
 * - Otherwise, when Debian's postgresql is installed (/usr/lib/postgresql/N/bin/initdb), this
 *   process starts a throwaway cluster in a temp dir (as the `postgres` user when running as
 *   root, since initdb refuses root), listening on 127.0.0.1 on a free port with its unix
 *   socket in the temp dir, fsync off; it is stopped and deleted when the process exits.
 * - Neither: tests skip locally and FAIL under CI=true.
 *
 * Each call of {@link freshPostgresDatabase} creates a new database (one per test file or per
 * suite), dropped by `drop()`.
 */
import { execFile, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

/** A database created for a test. */
export interface TestDatabase {
  /** `postgres://…/<name>` for openDb. */
  readonly url: string;
  readonly name: string;
  /** Drops the database (terminating its connections). */
  drop(): Promise<void>;
}

interface Server {
  /** URL of the maintenance database, where CREATE DATABASE runs. */
  readonly adminUrl: string;
}

let server: Promise<Server> | undefined;

/** The newest Debian PostgreSQL bin directory, if any. */
function debianBinDir(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((v) => existsSync(join(base, v, 'bin', 'initdb')) && existsSync(join(base, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(base, versions[0], 'bin') : undefined;
}

/**
 * Why PostgreSQL tests cannot run here, or undefined when they can. Under CI=true an
 * unavailable PostgreSQL throws instead, so the test fails rather than skips.
 */
export function postgresSkipReason(): string | undefined {
  if (process.env.OCITRUST_TEST_PG_URL) return undefined;
  if (debianBinDir()) return undefined;
  const reason = 'PostgreSQL not available: set OCITRUST_TEST_PG_URL or apt-get install postgresql';
  if (process.env.CI === 'true') throw new Error(`CI=true but ${reason}`);
  return reason;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function postgresIds(): { uid: number; gid: number } {
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (r.status !== 0 || g.status !== 0) throw new Error('running as root but there is no postgres user to run initdb as');
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

async function startCluster(bin: string): Promise<Server> {
  const root = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'ocitrust-pg-'));
  const data = join(dir, 'data');
  const asPg = (cmd: string, args: string[]): [string, string[]] => (root ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]);
  if (root) {
    const { uid, gid } = postgresIds();
    chownSync(dir, uid, gid);
  }
  const [c1, a1] = asPg(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync']);
  await run(c1, a1, { timeout: 120_000 });

  const pgCtl = (args: string[]): [string, string[]] => asPg(join(bin, 'pg_ctl'), ['-D', data, ...args]);
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    const [c, a] = pgCtl(['-m', 'immediate', '-w', 'stop']);
    spawnSync(c, a, { stdio: 'ignore', timeout: 30_000 });
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stop);
  // A test runner cancelling this file sends SIGTERM/SIGINT, which skips 'exit' handlers.
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.once(sig, () => {
      stop();
      process.exit(128 + (sig === 'SIGTERM' ? 15 : 2));
    });
  }

  let lastErr: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const opts = `-p ${port} -k ${dir} -h 127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
    const [c, a] = pgCtl(['-l', join(dir, 'log'), '-w', '-t', '60', '-o', opts, 'start']);
    try {
      await run(c, a, { timeout: 90_000 });
      return { adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres` };
    } catch (e) {
      lastErr = e; // most likely the port was taken between freePort() and start: try another
    }
  }
  let log = '';
  try {
    log = readFileSync(join(dir, 'log'), 'utf8').slice(-2000);
  } catch {
    /* no log */
  }
  stop();
  throw new Error(`could not start a throwaway PostgreSQL cluster: ${String(lastErr)}\n${log}`);
}

function getServer(): Promise<Server> {
  if (!server) {
    const url = process.env.OCITRUST_TEST_PG_URL;
    if (url) server = Promise.resolve({ adminUrl: url });
    else {
      const bin = debianBinDir();
      if (!bin) throw new Error(postgresSkipReason() ?? 'PostgreSQL not available');
      server = startCluster(bin);
    }
  }
  return server;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/**
 * Creates a new, empty database and returns its URL. Starts the throwaway cluster on first
 * use in this process.
 * @throws when PostgreSQL is unavailable (check {@link postgresSkipReason} first to skip locally)
 */
export async function freshPostgresDatabase(): Promise<TestDatabase> {
  const { adminUrl } = await getServer();
  const name = `ocitrust_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  return {
    url: withDatabase(adminUrl, name),
    name,
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
