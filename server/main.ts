import { readFileSync } from 'node:fs';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import type { FastifyInstance } from 'fastify';
import { OcitrustError } from '../lib/errors/index.js';
import { buildApp } from './app.js';
import type { AppOptions } from './options.js';

/** Options of {@link startServer}: the app's plus the listener's. */
export interface ServerOptions extends AppOptions {
  /** Address to listen on (default 127.0.0.1: the server is private unless told otherwise). */
  readonly host?: string;
  /** Port (default 7443; 0 picks a free one). */
  readonly port?: number;
  /** PEM certificate chain file; with `tlsKey` the server speaks HTTPS. */
  readonly tlsCert?: string;
  /** PEM private key file. */
  readonly tlsKey?: string;
  /** PEM CA file: clients must present a certificate issued by it (mTLS). Needs TLS. */
  readonly clientCa?: string;
  /** Stop gracefully on SIGTERM and SIGINT (default true). */
  readonly handleSignals?: boolean;
  /** How long a graceful stop may take before open connections are cut (default 10 s). */
  readonly shutdownTimeoutMs?: number;
}

/** A running server. */
export interface RunningServer {
  readonly app: FastifyInstance;
  /** Base URL, e.g. `http://127.0.0.1:7443`. */
  readonly url: string;
  readonly port: number;
  /**
   * Stops accepting connections, lets in-flight requests finish (cutting connections still
   * open after the shutdown timeout), then closes the database. Idempotent.
   */
  close(): Promise<void>;
}

/** Default port of the trust server. */
export const DEFAULT_PORT = 7443;

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new OcitrustError('SERVER_CONFIG_INVALID', `cannot read ${what} ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** The https options for fastify from cert/key/CA files. @throws OcitrustError SERVER_CONFIG_INVALID */
export function tlsOptions(o: Pick<ServerOptions, 'tlsCert' | 'tlsKey' | 'clientCa'>): HttpsServerOptions | undefined {
  if (!o.tlsCert && !o.tlsKey) {
    if (o.clientCa) throw new OcitrustError('SERVER_CONFIG_INVALID', 'client certificate authentication (clientCa) needs TLS: give tlsCert and tlsKey');
    return undefined;
  }
  if (!o.tlsCert || !o.tlsKey) throw new OcitrustError('SERVER_CONFIG_INVALID', 'TLS needs both tlsCert and tlsKey');
  const https: HttpsServerOptions = { cert: readPem(o.tlsCert, 'TLS certificate'), key: readPem(o.tlsKey, 'TLS key'), minVersion: 'TLSv1.2' };
  if (o.clientCa) {
    // mTLS: the handshake itself refuses clients without a certificate from this CA.
    Object.assign(https, { ca: readPem(o.clientCa, 'client CA'), requestCert: true, rejectUnauthorized: true });
  }
  return https;
}

/**
 * Starts the trust server: builds the app, listens (127.0.0.1:7443 by default, HTTPS when a
 * certificate and key are given, mTLS with a client CA), logs structured JSON with credentials
 * redacted, and stops gracefully on SIGTERM/SIGINT, finishing in-flight requests.
 *
 * @throws OcitrustError SERVER_CONFIG_INVALID, SERVER_SECRET_INVALID, STORAGE_*
 * @example const s = await startServer({ dataDir: '/var/lib/ocitrust', port: 0 }); console.log(s.url);
 */
export async function startServer(opts: ServerOptions = {}): Promise<RunningServer> {
  const https = tlsOptions(opts);
  // No environment reading here: the entry points read OCITRUST_* through server/config/load.ts.
  const logger = opts.logger ?? { level: 'info' };
  const app = await buildApp({ ...opts, logger }, https ? { https } : {});
  const host = opts.host ?? '127.0.0.1';
  try {
    await app.listen({ host, port: opts.port ?? DEFAULT_PORT });
  } catch (e) {
    await app.close();
    throw new OcitrustError('SERVER_CONFIG_INVALID', `cannot listen on ${host}:${opts.port ?? DEFAULT_PORT}: ${(e as Error).message}`, { cause: e });
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (opts.port ?? DEFAULT_PORT);
  const url = `${https ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;

  let closing: Promise<void> | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    void close().then(
      () => app.log.info('stopped'),
      (err: unknown) => {
        app.log.error({ err }, 'shutdown failed');
        process.exitCode = 1;
      },
    );
  };
  const close = (): Promise<void> => {
    closing ??= (async () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      const timer = setTimeout(() => {
        app.log.warn('shutdown timeout: closing remaining connections');
        app.server.closeAllConnections?.();
      }, opts.shutdownTimeoutMs ?? 10_000);
      timer.unref();
      try {
        await app.close();
      } finally {
        clearTimeout(timer);
      }
    })();
    return closing;
  };
  if (opts.handleSignals ?? true) {
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }
  app.log.info({ url, database: app.ocitrust.db.location }, 'ocitrust trust server listening');
  return { app, url, port, close };
}
