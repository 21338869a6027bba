/** Small HTTP helpers of the embedded registry: bodies, ranges, pagination, ETags. */
import type { FastifyRequest } from 'fastify';
import { OcitrustError } from '../../lib/errors/index.js';

/** Query parameters the registry reads (all optional strings; validated by the route schema). */
export interface RegistryQuery {
  readonly n?: string;
  readonly last?: string;
  readonly digest?: string;
  readonly mount?: string;
  readonly from?: string;
  readonly artifactType?: string;
}

/** JSON schema of {@link RegistryQuery}: single string values only (a repeated parameter is refused). */
export const QUERY_SCHEMA = {
  type: 'object',
  properties: {
    n: { type: 'string', maxLength: 12 },
    last: { type: 'string', maxLength: 512 },
    digest: { type: 'string', maxLength: 200 },
    mount: { type: 'string', maxLength: 200 },
    from: { type: 'string', maxLength: 512 },
    artifactType: { type: 'string', maxLength: 255 },
  },
} as const;

/** The request body as a byte stream (the registry's content-type parser leaves it unread). */
export function bodyStream(request: FastifyRequest): AsyncIterable<Uint8Array> {
  return request.raw;
}

/** Declared Content-Length, or undefined. */
export function contentLength(request: FastifyRequest): number | undefined {
  const v = request.headers['content-length'];
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/**
 * Reads the whole body, refusing more than `max` bytes before (Content-Length) and while reading.
 * @throws OcitrustError DIST_TOO_LARGE; DIST_MANIFEST_INVALID when the client breaks off
 */
export async function readBody(request: FastifyRequest, max: number): Promise<Uint8Array> {
  const declared = contentLength(request);
  if (declared !== undefined && declared > max) {
    throw new OcitrustError('DIST_TOO_LARGE', `body of ${declared} bytes exceeds the limit of ${max}`);
  }
  const parts: Uint8Array[] = [];
  let total = 0;
  try {
    for await (const chunk of bodyStream(request)) {
      total += chunk.length;
      if (total > max) throw new OcitrustError('DIST_TOO_LARGE', `body exceeds the limit of ${max} bytes`);
      parts.push(chunk);
    }
  } catch (e) {
    if (e instanceof OcitrustError) throw e;
    throw new OcitrustError('DIST_MANIFEST_INVALID', 'request body interrupted', { cause: e });
  }
  return Buffer.concat(parts, total);
}

/** Inclusive byte range. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/**
 * Parses a chunk's `Content-Range` (distribution-spec: `^[0-9]+-[0-9]+$`, inclusive; a
 * `bytes ` / `bytes=` prefix is tolerated).
 * @throws OcitrustError DIST_BLOB_UPLOAD_INVALID
 */
export function parseContentRange(v: string): ByteRange {
  const m = /^(?:bytes[ =])?([0-9]{1,15})-([0-9]{1,15})(?:\/(?:[0-9]+|\*))?$/.exec(v.trim());
  if (!m) throw new OcitrustError('DIST_BLOB_UPLOAD_INVALID', `Content-Range ${JSON.stringify(v.slice(0, 60))} is not <start>-<end>`);
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end < start) throw new OcitrustError('DIST_BLOB_UPLOAD_INVALID', `Content-Range ${start}-${end} ends before it starts`);
  return { start, end };
}

/**
 * Parses a blob GET `Range` header against a blob of `size` bytes (RFC 9110 14.2): one range
 * `bytes=a-b`, `bytes=a-` or `bytes=-n`. Several ranges or another unit → undefined (the whole
 * blob is served, which RFC 9110 allows).
 * @throws OcitrustError DIST_RANGE_INVALID for an unsatisfiable range (answered 416 with Content-Range)
 */
export function parseRange(v: string | undefined, size: number): ByteRange | undefined {
  if (v === undefined) return undefined;
  const m = /^bytes=([0-9]{0,15})-([0-9]{0,15})$/.exec(v.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    start = Math.max(0, size - suffix);
    end = size - 1;
    if (suffix === 0) start = size;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return undefined; // syntactically invalid: ignored per RFC 9110
  }
  if (start >= size || end < start) {
    throw new OcitrustError('DIST_RANGE_INVALID', `range ${v.slice(0, 60)} not satisfiable for ${size} bytes`, {
      details: { headers: { 'Content-Range': `bytes */${size}` } },
    });
  }
  return { start, end };
}

/**
 * Page size and start of a list request: `n` (0 allowed) clamped to `max`; `last` as given.
 * @throws OcitrustError DIST_PARAM_INVALID for a non-numeric n
 */
export function pageParams(q: RegistryQuery, max: number): { n: number; last: string | undefined } {
  let n = max;
  if (q.n !== undefined) {
    if (!/^[0-9]{1,12}$/.test(q.n)) throw new OcitrustError('DIST_PARAM_INVALID', `n must be a non-negative integer, got ${JSON.stringify(q.n.slice(0, 20))}`);
    n = Math.min(Number(q.n), max);
  }
  return { n, last: q.last === undefined || q.last === '' ? undefined : q.last };
}

/** `Link: <url>; rel="next"` (RFC 8288). */
export function nextLink(path: string, params: Record<string, string | number | undefined>): string {
  const qs = Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`)
    .join('&');
  return `<${path}?${qs}>; rel="next"`;
}

/** The strong ETag of a digest-addressed object. */
export function etagOf(digest: string): string {
  return `"${digest}"`;
}

/**
 * Entity tags of an If-Match / If-None-Match header (quotes and W/ removed), or undefined.
 * `*` is returned as `['*']`.
 */
export function parseEtags(v: string | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  const t = v.trim();
  if (t === '*') return ['*'];
  const out = t
    .split(',')
    .map((s) => s.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1'))
    .filter((s) => s.length > 0);
  return out.length ? out : undefined;
}

/** `Range` header value of an upload at `size` bytes (Docker distribution's convention: 0-0 when empty). */
export function uploadRange(size: number): string {
  return `0-${Math.max(0, size - 1)}`;
}
