/**
 * The embedded OCI registry (server/registry) in a fastify app of its own, for tests: on a
 * temp data dir with SQLite (default) or a fresh PostgreSQL database (test/helpers/postgres.ts),
 * either for `inject()` ({@link buildRegistryApp}) or listening on 127.0.0.1:0
 * ({@link startEmbeddedRegistry}) for real clients such as skopeo and lib/oci.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import { registryPlugin, type RegistryOptions } from '../../server/registry/index.js';
import { openDb, type Db } from '../../server/storage/index.js';
import { freshPostgresDatabase } from './postgres.js';

/** Options of the test registry. */
export interface EmbeddedRegistryOptions extends Partial<Omit<RegistryOptions, 'db' | 'dataDir'>> {
  /** Database engine (default sqlite). For postgres check postgresSkipReason() first. */
  readonly db?: 'sqlite' | 'postgres';
  /** Reuse a data dir / database (e.g. to "restart" a registry); default: fresh ones. */
  readonly dataDir?: string;
  readonly dbUrl?: string;
}

/** A registry app that is built but not listening. */
export interface RegistryApp {
  readonly app: FastifyInstance;
  readonly db: Db;
  readonly dataDir: string;
  /** The database location (SQLite path or PostgreSQL URL), to reopen it. */
  readonly dbUrl: string;
  /** Closes the app and database and deletes what was created for it. */
  close(): Promise<void>;
}

/** A listening registry. */
export interface EmbeddedRegistry extends RegistryApp {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** `127.0.0.1:<port>`, for image references and skopeo `docker://` URLs. */
  readonly host: string;
}

/** Builds the registry app (call `app.inject()` on it). */
export async function buildRegistryApp(opts: EmbeddedRegistryOptions = {}): Promise<RegistryApp> {
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'ocitrust-registry-'));
  let dbUrl = opts.dbUrl;
  let drop: (() => Promise<void>) | undefined;
  if (!dbUrl) {
    if (opts.db === 'postgres') {
      const pg = await freshPostgresDatabase();
      dbUrl = pg.url;
      drop = () => pg.drop();
    } else {
      dbUrl = join(dataDir, 'ocitrust.db');
    }
  }
  const db = await openDb(dbUrl, { poolSize: 20 });
  const app = Fastify({ logger: false });
  const { db: _engine, dataDir: _d, dbUrl: _u, ...rest } = opts;
  await app.register(registryPlugin, { ...rest, dataDir, db });
  await app.ready();
  return {
    app,
    db,
    dataDir,
    dbUrl,
    async close() {
      await app.close();
      await db.close();
      await drop?.();
      if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts the registry on 127.0.0.1 on an ephemeral port.
 * @example const reg = await startEmbeddedRegistry({ db: 'postgres' }); … await reg.close();
 */
export async function startEmbeddedRegistry(opts: EmbeddedRegistryOptions = {}): Promise<EmbeddedRegistry> {
  const built = await buildRegistryApp(opts);
  try {
    await built.app.listen({ host: '127.0.0.1', port: 0 });
  } catch (e) {
    await built.close();
    throw e;
  }
  const addr = built.app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const host = `127.0.0.1:${port}`;
  return { ...built, url: `http://${host}`, host };
}

// Run as a program (`node --import tsx test/helpers/embedded-registry.ts <dataDir> <dbUrl>`), it
// serves until killed and prints {"host": "..."} once listening: crash tests SIGKILL it mid-request.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [dataDir, dbUrl] = process.argv.slice(2);
  if (!dataDir || !dbUrl) {
    process.stderr.write('usage: embedded-registry.ts <dataDir> <dbUrl>\n');
    process.exit(2);
  }
  const reg = await startEmbeddedRegistry({ dataDir, dbUrl });
  process.stdout.write(`${JSON.stringify({ host: reg.host })}\n`);
}
