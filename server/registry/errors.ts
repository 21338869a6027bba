/**
 * OCI error bodies (distribution-spec "Error Codes"): `{"errors":[{"code","message","detail"}]}`
 * with the status the spec names. Every failure of the embedded registry goes through
 * {@link toWireError}, so a client mistake is a 4xx with a spec code, never a 500.
 */
import { CATALOGUE, OcitrustError, type ErrorCode } from '../../lib/errors/index.js';

/** The wire codes of distribution-spec code-1 … code-14 (plus UNKNOWN for server faults). */
export type WireCode =
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS'
  | 'UNKNOWN';

const WIRE: Partial<Record<ErrorCode, WireCode>> = {
  DIST_BLOB_UNKNOWN: 'BLOB_UNKNOWN',
  DIST_BLOB_UPLOAD_INVALID: 'BLOB_UPLOAD_INVALID',
  DIST_BLOB_UPLOAD_UNKNOWN: 'BLOB_UPLOAD_UNKNOWN',
  DIST_RANGE_INVALID: 'BLOB_UPLOAD_INVALID',
  DIST_DIGEST_INVALID: 'DIGEST_INVALID',
  DIST_SIZE_INVALID: 'SIZE_INVALID',
  DIST_TOO_LARGE: 'SIZE_INVALID',
  DIST_MANIFEST_INVALID: 'MANIFEST_INVALID',
  DIST_MANIFEST_BLOB_UNKNOWN: 'MANIFEST_BLOB_UNKNOWN',
  DIST_MANIFEST_UNKNOWN: 'MANIFEST_UNKNOWN',
  DIST_NAME_INVALID: 'NAME_INVALID',
  DIST_NAME_UNKNOWN: 'NAME_UNKNOWN',
  DIST_UNAUTHORIZED: 'UNAUTHORIZED',
  DIST_DENIED: 'DENIED',
  DIST_PRECONDITION_FAILED: 'DENIED',
  DIST_UNSUPPORTED: 'UNSUPPORTED',
  DIST_PARAM_INVALID: 'UNSUPPORTED',
  DIST_ENDPOINT_UNKNOWN: 'UNSUPPORTED',
  DIST_TOO_MANY_REQUESTS: 'TOOMANYREQUESTS',
  // Shared parser codes that reach the registry through manifest validation.
  JSON_MALFORMED: 'MANIFEST_INVALID',
  JSON_DUPLICATE_KEY: 'MANIFEST_INVALID',
  JSON_TOO_DEEP: 'MANIFEST_INVALID',
  INPUT_TOO_LARGE: 'SIZE_INVALID',
  MANIFEST_INVALID: 'MANIFEST_INVALID',
  MANIFEST_UNSUPPORTED: 'MANIFEST_INVALID',
};

/** A ready-to-send registry error. */
export interface WireError {
  readonly status: number;
  readonly body: { errors: { code: WireCode; message: string; detail?: unknown }[] };
  /** Extra response headers (WWW-Authenticate, Content-Range, Retry-After). */
  readonly headers: Readonly<Record<string, string>>;
}

function byStatus(status: number): WireCode {
  switch (status) {
    case 401:
      return 'UNAUTHORIZED';
    case 403:
      return 'DENIED';
    case 404:
      return 'NAME_UNKNOWN';
    case 413:
      return 'SIZE_INVALID';
    case 429:
      return 'TOOMANYREQUESTS';
    default:
      return status >= 500 ? 'UNKNOWN' : 'UNSUPPORTED';
  }
}

function headersOf(details: Readonly<Record<string, unknown>> | undefined): Record<string, string> {
  const h = details?.headers;
  if (!h || typeof h !== 'object') return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (typeof v === 'string') out[k] = v;
  return out;
}

/**
 * Maps anything thrown while serving a registry request to an OCI error answer.
 * - OcitrustError: its wire code from the table above, else by its HTTP status (so auth hooks
 *   throwing the trust server's 401/403 codes become UNAUTHORIZED/DENIED); `details.headers`
 *   become response headers and `details.detail` the OCI `detail`.
 * - fastify errors with a 4xx statusCode (validation, malformed request): 4xx with UNSUPPORTED,
 *   or SIZE_INVALID for 413.
 * - anything else: 500 UNKNOWN with a generic message (the cause is for the log only).
 */
export function toWireError(e: unknown): WireError {
  if (e instanceof OcitrustError) {
    const status = typeof e.details?.status === 'number' ? e.details.status : (CATALOGUE[e.code]?.http ?? 500);
    const code = WIRE[e.code] ?? byStatus(status);
    const message = status >= 500 ? `internal error (${e.code})` : e.message;
    const entry: { code: WireCode; message: string; detail?: unknown } = { code, message };
    if (e.details?.detail !== undefined) entry.detail = e.details.detail;
    return { status, body: { errors: [entry] }, headers: headersOf(e.details) };
  }
  const fst = e as { statusCode?: unknown; code?: unknown; message?: unknown; validation?: unknown } | null;
  if (fst && typeof fst.statusCode === 'number' && fst.statusCode >= 400 && fst.statusCode < 500) {
    const status = fst.statusCode;
    const message = typeof fst.message === 'string' ? fst.message : 'bad request';
    return { status, body: { errors: [{ code: byStatus(status === 404 ? 400 : status), message }] }, headers: {} };
  }
  return { status: 500, body: { errors: [{ code: 'UNKNOWN', message: 'internal error' }] }, headers: {} };
}
