import type { CodeTable } from '../spec.js';

/**
 * Error codes of the registry area: the embedded OCI registry (`server/registry`) and the
 * database layer it introduced (`server/storage`, shared with the trust server).
 *
 * `DIST_*` codes are what the embedded registry answers to clients; each maps to one wire code
 * of the OCI distribution spec ("Error Codes", code-1…code-14) and to the status the spec names.
 * `STORAGE_*` codes come from the database layer.
 */
export const registryCodes = {
  DIST_BLOB_UNKNOWN: {
    meaning: 'The embedded registry has no blob with that digest in this repository (OCI BLOB_UNKNOWN).',
    action: 'Push the blob first, or mount it from the repository that has it.',
    exit: 2,
    http: 404,
  },
  DIST_BLOB_UPLOAD_INVALID: {
    meaning: 'A blob upload request is malformed: bad Content-Range, chunk out of order or upload too large (OCI BLOB_UPLOAD_INVALID).',
    action: 'Send chunks in order starting at the offset the registry reported (GET the upload URL to learn it).',
    exit: 2,
    http: 400,
  },
  DIST_BLOB_UPLOAD_UNKNOWN: {
    meaning: 'The upload session does not exist: never started, finished, cancelled or expired (OCI BLOB_UPLOAD_UNKNOWN).',
    action: 'Start a new upload with POST /v2/<name>/blobs/uploads/.',
    exit: 2,
    http: 404,
  },
  DIST_RANGE_INVALID: {
    meaning: 'A chunk did not start where the upload stands, or a blob Range cannot be satisfied (HTTP 416).',
    action: 'GET the upload URL for the current offset and resume from there; request a range inside the blob.',
    exit: 2,
    http: 416,
  },
  DIST_DIGEST_INVALID: {
    meaning: 'A digest is malformed or does not match the uploaded content (OCI DIGEST_INVALID).',
    action: 'Compute the digest over exactly the bytes sent, as sha256:<64 lowercase hex>.',
    exit: 2,
    http: 400,
  },
  DIST_SIZE_INVALID: {
    meaning: 'A declared length does not match the content received (OCI SIZE_INVALID).',
    action: 'Send a Content-Length (and descriptor size) equal to the real number of bytes.',
    exit: 2,
    http: 400,
  },
  DIST_TOO_LARGE: {
    meaning: 'A manifest or blob is larger than the embedded registry accepts (HTTP 413).',
    action: 'Keep manifests under 4 MiB; raise the registry limits if large blobs are legitimate.',
    exit: 2,
    http: 413,
  },
  DIST_MANIFEST_INVALID: {
    meaning: 'A pushed manifest is not valid: not JSON, unknown media type, Content-Type disagreeing with mediaType, or a malformed descriptor (OCI MANIFEST_INVALID).',
    action: 'Push an OCI or Docker schema 2 manifest with Content-Type equal to its mediaType.',
    exit: 2,
    http: 400,
  },
  DIST_MANIFEST_BLOB_UNKNOWN: {
    meaning: 'A pushed manifest references a config, layer or child manifest the repository does not have (OCI MANIFEST_BLOB_UNKNOWN).',
    action: 'Push every blob and child manifest before the manifest or index that references them.',
    exit: 2,
    http: 400,
  },
  DIST_MANIFEST_UNKNOWN: {
    meaning: 'The repository has no manifest for that tag or digest (OCI MANIFEST_UNKNOWN).',
    action: 'Check the tag or digest; push the image first.',
    exit: 2,
    http: 404,
  },
  DIST_NAME_INVALID: {
    meaning: 'A repository name, tag or reference does not follow the distribution spec grammar (OCI NAME_INVALID).',
    action: 'Use lowercase path components [a-z0-9]+([._-][a-z0-9]+)* separated by "/", under 256 characters, and tags [A-Za-z0-9_][A-Za-z0-9._-]{0,127}.',
    exit: 2,
    http: 400,
  },
  DIST_NAME_UNKNOWN: {
    meaning: 'The repository does not exist in the embedded registry (OCI NAME_UNKNOWN).',
    action: 'Check the repository name; push something to create it.',
    exit: 2,
    http: 404,
  },
  DIST_UNAUTHORIZED: {
    meaning: 'The embedded registry needs credentials for this request (OCI UNAUTHORIZED).',
    action: 'Authenticate as the WWW-Authenticate header says.',
    exit: 2,
    http: 401,
  },
  DIST_DENIED: {
    meaning: 'The embedded registry refused the request for this repository and action, or a pull policy refused the manifest (OCI DENIED).',
    action: 'Use credentials with the needed rights; for a policy denial, read the reason and sign or fix the image.',
    exit: 2,
    http: 403,
  },
  DIST_PRECONDITION_FAILED: {
    meaning: 'An If-Match / If-None-Match condition on a manifest push did not hold: the tag changed since it was read.',
    action: 'Read the tag again, redo the change on the current content and push again.',
    exit: 2,
    http: 412,
  },
  DIST_UNSUPPORTED: {
    meaning: 'The embedded registry does not support this operation or parameter (OCI UNSUPPORTED).',
    action: 'Check the method, path and query parameters against the OCI distribution spec.',
    exit: 2,
    http: 405,
  },
  DIST_PARAM_INVALID: {
    meaning: 'A query parameter of a registry request is malformed (for example n is not a number).',
    action: 'Fix the parameter named in the message.',
    exit: 2,
    http: 400,
  },
  DIST_ENDPOINT_UNKNOWN: {
    meaning: 'The path under /v2/ is not an endpoint of the OCI distribution spec.',
    action: 'Check the URL: /v2/<name>/{manifests,blobs,tags,referrers}/… or /v2/_catalog.',
    exit: 2,
    http: 404,
  },
  DIST_TOO_MANY_REQUESTS: {
    meaning: 'Too many blob uploads are open at once in the embedded registry (OCI TOOMANYREQUESTS).',
    action: 'Finish or cancel open uploads, or retry later; unfinished uploads expire.',
    exit: 3,
    http: 429,
  },
  STORAGE_CONFLICT: {
    meaning: 'A database write conflicted with another one (unique constraint): another writer won the race.',
    action: 'Read the current state and retry the operation on top of it.',
    exit: 3,
    http: 409,
  },
  STORAGE_UNAVAILABLE: {
    meaning: 'The database could not be opened or reached, stayed locked too long, or is closed.',
    action: 'Check the database URL or file, that PostgreSQL is running and reachable, and the data directory permissions.',
    exit: 3,
    http: 503,
  },
  STORAGE_MIGRATION_FAILED: {
    meaning: 'A database schema migration failed, or the database schema is newer than this ocitrust.',
    action: 'Read the message; restore from backup or upgrade ocitrust to the version that wrote the database.',
    exit: 3,
    http: 500,
  },
  STORAGE_QUERY_FAILED: {
    meaning: 'A database statement failed for a reason other than a conflict or an outage (a bug or a damaged database).',
    action: 'Report it with the server log; check the database for damage.',
    exit: 3,
    http: 500,
  },
  PROXY_PULL_DENIED: {
    meaning: 'The verifying registry proxy (or the embedded registry\'s pull enforcement) refused a manifest because the image did not verify under the policy (OCI DENIED).',
    action: 'Read the failed check in the message; sign the image with a delegated key, or fix the policy or trust data.',
    exit: 1,
    http: 403,
  },
  PROXY_VERIFY_UNAVAILABLE: {
    meaning: 'The proxy could not decide whether an image verifies (trust data or the upstream registry could not be read) and refused the pull: it fails closed.',
    action: 'Check the upstream registry, the proxy\'s upstream credentials and the trust collection, then retry.',
    exit: 3,
    http: 403,
  },
  PROXY_UPSTREAM_BAD_RESPONSE: {
    meaning: 'The upstream registry answered with something the proxy will not pass on: a manifest larger than the limit, or bytes that do not match the requested digest.',
    action: 'Check the upstream registry for damage or tampering; raise the manifest size limit only for legitimate manifests.',
    exit: 3,
    http: 502,
  },
  PROXY_PATH_INVALID: {
    meaning: 'A request path under /v2/ is ambiguous (dot or empty segments, or a manifest path with an invalid name or reference), so the proxy will not forward it.',
    action: 'Use the canonical distribution API path /v2/<name>/manifests/<tag or digest>.',
    exit: 2,
    http: 400,
  },
  NOTIFY_ENVELOPE_INVALID: {
    meaning: 'A registry notification was not a valid Docker distribution events envelope ({"events":[…]}), or was too large.',
    action: 'Point only a registry\'s notifications endpoint at /v1/registry/events, with the default envelope format.',
    exit: 2,
    http: 400,
  },
  NOTIFY_AUTH_FAILED: {
    meaning: 'A registry notification did not carry the configured bearer token.',
    action: 'Set the endpoint\'s headers in the registry config to Authorization: [Bearer <the receiver token>].',
    exit: 2,
    http: 401,
  },
} as const satisfies CodeTable;
