/**
 * How a client tells an ocitrust trust server from anything else answering HTTP at the
 * `--server` address (a registry, a web page, another JSON API). It matters for 404: from a
 * trust server it means "no such collection or version", from anything else it means the
 * address is wrong — and a wrong address must never read as "not signed" or "create it with
 * trust init".
 *
 * An answer is from a trust server when it carries the {@link TRUST_SERVER_HEADER} header
 * (the server sets it on every response), or — for servers older than the header — when its
 * body is the server's error document `{code, message}` with a code from the catalogue.
 */
import { CATALOGUE, OcitrustError } from './errors/index.js';
import { isJsonObject, parseJson } from './json.js';

/** Response header every ocitrust trust server answer carries. */
export const TRUST_SERVER_HEADER = 'ocitrust-api-version';
/** Its value: the version of the trust server HTTP API. */
export const TRUST_SERVER_API_VERSION = '1';

/** Most body bytes read to recognise (or describe) a 404 answer. */
export const IDENTIFY_BODY_BYTES = 64 * 1024;

/** True when `headers` carry the trust server header. */
export function hasTrustServerHeader(headers: Headers): boolean {
  return headers.get(TRUST_SERVER_HEADER) !== null;
}

/**
 * True when an answer (headers, and the body if read) comes from an ocitrust trust server.
 * `body` may be bytes or an already parsed document.
 */
export function isTrustServerAnswer(headers: Headers, body?: Uint8Array | unknown): boolean {
  if (hasTrustServerHeader(headers)) return true;
  let doc: unknown = body;
  if (body instanceof Uint8Array) {
    try {
      doc = parseJson(body, { maxBytes: IDENTIFY_BODY_BYTES, what: 'answer' });
    } catch {
      return false;
    }
  }
  return isJsonObject(doc) && typeof doc.code === 'string' && typeof doc.message === 'string' && Object.prototype.hasOwnProperty.call(CATALOGUE, doc.code);
}

/**
 * TRUST_SERVER_NOT_OCITRUST for `server`, saying what it answered: status, content type, the
 * first bytes of the body, and a hint when the answer is recognisably a registry.
 */
export function notTrustServer(server: string, request: string, status: number, headers: Headers, body?: Uint8Array): OcitrustError {
  const type = headers.get('content-type')?.split(';')[0]?.trim() || 'no content type';
  const text = body && body.length > 0 ? `: ${JSON.stringify(printable(body, 80))}` : '';
  const registry = headers.get('docker-distribution-api-version') !== null ? '; it looks like a container registry (Docker-Distribution-Api-Version)' : '';
  return new OcitrustError(
    'TRUST_SERVER_NOT_OCITRUST',
    `${server} is not an ocitrust trust server (${request} answered HTTP ${status}, ${type}${text}${registry}); expected the ${TRUST_SERVER_HEADER} header or an ocitrust error document — check --server / OCITRUST_SERVER`,
    { details: { status } },
  );
}

/** The first `max` characters of `bytes` as text, control characters replaced. */
export function printable(bytes: Uint8Array, max: number): string {
  const s = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, max * 4)).replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
