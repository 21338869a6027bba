/**
 * Reads a Notary v1 server's trust data over its HTTP API (`GET /v2/<gun>/_trust/tuf/<file>`),
 * the same requests the notary client and docker make: `root.json`, `<N>.root.json`,
 * `timestamp.json`, and snapshot, targets and delegations by their SHA-256
 * (`<role>.<hex>.json`) so that a publish between two requests cannot mix versions.
 * Every body is bounded; every failure is a catalogue code (404 is "no such metadata", 401/403
 * an authentication failure, never "unreachable").
 */
import { request as httpsRequest } from 'node:https';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { OcitrustError } from '../errors/index.js';

/** Where Notary metadata comes from: the file name under `_trust/tuf/`, or undefined when the server has none. */
export interface NotarySource {
  /** Bytes of `file` (`root.json`, `2.root.json`, `targets/releases.<hex>.json`), undefined on 404. */
  get(file: string, maxBytes: number): Promise<Uint8Array | undefined>;
  /** Shown in messages. */
  readonly describe: string;
}

/** Options of {@link httpNotarySource}. */
export interface HttpNotarySourceOptions {
  /** PEM of the CA(s) that sign the server's certificate (notary's `--tlscacert`); default: the system's. */
  readonly ca?: string | Uint8Array;
  /** Per-request timeout (default 15 s). */
  readonly timeoutMs?: number;
}

/**
 * A Notary server for one GUN.
 * @throws NOTARY_NOT_A_SERVER for a URL that is not http(s)
 */
export function httpNotarySource(server: string, gun: string, opts: HttpNotarySourceOptions = {}): NotarySource {
  let base: URL;
  try {
    base = new URL(server);
  } catch {
    throw new OcitrustError('INVALID_ARGUMENT', `notary server: expected an https:// URL, got ${JSON.stringify(server.slice(0, 100))}`);
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:') throw new OcitrustError('INVALID_ARGUMENT', `notary server: expected an https:// URL, got ${base.protocol}`);
  const prefix = `${base.origin}${base.pathname.replace(/\/+$/, '')}/v2/${gun}/_trust/tuf/`;
  const timeoutMs = opts.timeoutMs ?? 15_000;
  return {
    describe: `${base.origin} (${gun})`,
    get(file, maxBytes) {
      const url = prefix + file;
      return new Promise((resolve, reject) => {
        const req = (base.protocol === 'https:' ? httpsRequest : httpRequest)(
          url,
          { method: 'GET', headers: { accept: 'application/json' }, timeout: timeoutMs, ...(opts.ca && base.protocol === 'https:' ? { ca: Buffer.from(opts.ca) } : {}) },
          (res: IncomingMessage) => {
            const status = res.statusCode ?? 0;
            if (status === 404) {
              // Notary answers 404 with its METADATA_NOT_FOUND error; any other 404 (a registry,
              // a web server) means the URL is not a Notary server, not that nothing was signed.
              const head: Buffer[] = [];
              let n = 0;
              res.on('data', (c: Buffer) => {
                if (n < 4096) head.push(c);
                n += c.length;
              });
              res.on('end', () => {
                const body = Buffer.concat(head).subarray(0, 4096).toString('utf8');
                if (body.includes('METADATA_NOT_FOUND')) resolve(undefined);
                else reject(new OcitrustError('NOTARY_NOT_A_SERVER', `${base.origin} is not a Notary server: expected Notary's METADATA_NOT_FOUND for a missing ${file}, got HTTP 404 ${JSON.stringify(body.slice(0, 80))}`));
              });
              res.on('error', (e) => reject(unreachable(base.origin, e)));
              return;
            }
            if (status === 401 || status === 403) {
              res.resume();
              reject(new OcitrustError('NOTARY_AUTH_FAILED', `Notary server ${base.origin} refused ${file} for ${gun}: HTTP ${status}`));
              return;
            }
            if (status !== 200) {
              res.resume();
              reject(new OcitrustError('TUF_SOURCE_HTTP_ERROR', `Notary server ${base.origin}: expected 200 or 404 for ${file}, got HTTP ${status}`));
              return;
            }
            const declared = Number(res.headers['content-length']);
            if (Number.isFinite(declared) && declared > maxBytes) {
              res.destroy();
              reject(tooLarge(file, maxBytes));
              return;
            }
            const chunks: Buffer[] = [];
            let size = 0;
            res.on('data', (c: Buffer) => {
              size += c.length;
              if (size > maxBytes) {
                res.destroy();
                reject(tooLarge(file, maxBytes));
                return;
              }
              chunks.push(c);
            });
            res.on('end', () => resolve(new Uint8Array(Buffer.concat(chunks))));
            res.on('error', (e) => reject(unreachable(base.origin, e)));
          },
        );
        req.on('timeout', () => req.destroy(new OcitrustError('TUF_SOURCE_TIMEOUT', `Notary server ${base.origin}: no answer for ${file} within ${timeoutMs} ms`)));
        req.on('error', (e) => reject(e instanceof OcitrustError ? e : unreachable(base.origin, e)));
        req.end();
      });
    },
  };
}

function tooLarge(file: string, max: number): OcitrustError {
  return new OcitrustError('NOTARY_NOT_A_SERVER', `Notary metadata ${file}: expected at most ${max} bytes, got more`);
}

function unreachable(origin: string, e: Error): OcitrustError {
  const code = (e as NodeJS.ErrnoException).code;
  // A certificate the client does not trust is the server's identity failing, reported as such.
  return new OcitrustError('TUF_SOURCE_UNREACHABLE', `Notary server ${origin} could not be read: ${code ? `${code}: ` : ''}${e.message}`, { cause: e });
}

/**
 * A source over documents in memory by role file name (`root.json`, `timestamp.json`,
 * `targets/releases.json`, `2.root.json`): a Notary trust dir's cached metadata, fixtures.
 * Hash-addressed names fall back to the plain name in the client (the hashes are checked).
 */
export function memoryNotarySource(files: ReadonlyMap<string, Uint8Array>, describe = 'Notary metadata in memory'): NotarySource {
  return {
    describe,
    async get(file, maxBytes) {
      const b = files.get(file);
      if (b && b.length > maxBytes) throw tooLarge(file, maxBytes);
      return b;
    },
  };
}
