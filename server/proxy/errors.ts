/**
 * The proxy's own answers in the OCI error format (distribution-spec "Error Codes"), so that
 * registry clients show the message: skopeo prints `denied: <message>` for a refused pull.
 */
import { CATALOGUE, OcitrustError, type ErrorCode } from '../../lib/errors/index.js';
import { toWireError, type WireCode, type WireError } from '../registry/errors.js';

const WIRE: Partial<Record<ErrorCode, WireCode>> = {
  PROXY_PULL_DENIED: 'DENIED',
  PROXY_VERIFY_UNAVAILABLE: 'DENIED',
  PROXY_PATH_INVALID: 'NAME_INVALID',
  REGISTRY_UNREACHABLE: 'UNKNOWN',
  REGISTRY_TIMEOUT: 'UNKNOWN',
  // The upstream's 404, with the catalogue's code in `detail` as every face names it.
  MANIFEST_NOT_FOUND: 'MANIFEST_UNKNOWN',
  PROXY_UPSTREAM_BAD_RESPONSE: 'UNKNOWN',
  AUTH_TOKEN_INVALID: 'UNAUTHORIZED',
};

/**
 * Maps anything thrown while proxying to an OCI error answer. The proxy's codes keep their
 * message (it names the failed check or the upstream problem and never holds a secret);
 * everything else goes through the embedded registry's mapping, which hides server faults.
 */
export function proxyWireError(e: unknown): WireError {
  if (e instanceof OcitrustError && WIRE[e.code] !== undefined) {
    const entry: { code: WireCode; message: string; detail?: unknown } = { code: WIRE[e.code]!, message: e.message };
    // The OCI code (UNKNOWN, DENIED…) is coarse: the catalogue code rides in `detail` so that a
    // client (or a test comparing the faces, issue 13) can tell an unreachable upstream apart.
    entry.detail = e.details?.detail !== undefined ? e.details.detail : { code: e.code };
    const headers: Record<string, string> = {};
    const h = e.details?.headers;
    if (h && typeof h === 'object') for (const [k, v] of Object.entries(h)) if (typeof v === 'string') headers[k] = v;
    return { status: CATALOGUE[e.code].http, body: { errors: [entry] }, headers };
  }
  return toWireError(e);
}
