import type { CodeTable } from '../spec.js';

/**
 * Error codes of the oci area: image references, the registry client (transport, auth,
 * manifests, blobs, referrers) and signature artifacts. A registry is untrusted, so content
 * that disagrees with its digest is exit 1 (verification cannot pass on it); a registry that
 * cannot be reached or answers nonsense is exit 3 (could not decide).
 */
export const ociCodes = {
  REFERENCE_INVALID: {
    meaning: 'An image reference does not follow the distribution reference grammar (host[:port]/path[:tag][@digest]).',
    action: 'Use lowercase repository paths, a tag of [A-Za-z0-9_][A-Za-z0-9._-]{0,127} and a sha256:/sha512: digest.',
    exit: 2,
    http: 400,
  },
  MANIFEST_INVALID: {
    meaning: 'A manifest or index given as input (a file, a push) is not valid JSON or does not have the shape the OCI image spec requires. One a registry serves is REGISTRY_BAD_RESPONSE instead.',
    action: 'Fix the manifest; for one the registry served, check the image in the registry and treat the content as untrusted or corrupted.',
    exit: 2,
    http: 400,
  },
  MANIFEST_UNSUPPORTED: {
    meaning: 'A manifest has a media type ocitrust does not handle (for example Docker schema 1).',
    action: 'Re-push the image as an OCI or Docker v2 schema 2 manifest.',
    exit: 2,
    http: 415,
  },
  MANIFEST_NOT_FOUND: {
    meaning: 'The registry has no manifest (or repository) for the given tag or digest.',
    action: 'Check the reference; push the image first or fix the tag.',
    exit: 2,
    http: 404,
  },
  BLOB_NOT_FOUND: {
    meaning: 'The registry has no blob with the given digest in this repository.',
    action: 'Push the blob (or the image) first; check the repository name.',
    exit: 2,
    http: 404,
  },
  MANIFEST_DIGEST_MISMATCH: {
    meaning: 'Manifest bytes from the registry do not hash to the digest they were requested or described by.',
    action: 'The registry (or something between) altered content; do not use it and investigate.',
    exit: 1,
    http: 502,
  },
  BLOB_DIGEST_MISMATCH: {
    meaning: 'Blob bytes from the registry do not hash to the requested digest.',
    action: 'The registry (or something between) altered content; do not use it and investigate.',
    exit: 1,
    http: 502,
  },
  BLOB_SIZE_MISMATCH: {
    meaning: 'Content from the registry has a different length than its descriptor says.',
    action: 'Treat the content as tampered or truncated; retry, and investigate if it persists.',
    exit: 1,
    http: 502,
  },
  REGISTRY_UNREACHABLE: {
    meaning: 'The registry could not be reached (DNS, connection refused or reset, TLS failure).',
    action: 'Check the registry address, network and TLS settings; use plain HTTP only for loopback or with the insecure option.',
    exit: 3,
    http: 502,
  },
  REGISTRY_TIMEOUT: {
    meaning: 'The registry did not answer (or finish a body) within the request timeout.',
    action: 'Retry later or raise the request timeout.',
    exit: 3,
    http: 504,
  },
  REGISTRY_AUTH_FAILED: {
    meaning: 'The registry or its token service refused the credentials, or no credentials were found for a registry that needs them.',
    action: 'Log in (docker login) or fix the credentials in the Docker config or credential helper. An ocitrust embedded registry takes a trust server token as the password: `trust login SERVER` for the trust CLI, `docker login HOST -u token` (token on stdin) or `skopeo copy --dest-creds token:$TOKEN` for other tools (docs/cli.md, "Tokens and registry credentials").',
    exit: 3,
    http: 502,
  },
  REGISTRY_DENIED: {
    meaning: 'The registry answered 403: the credentials are valid but lack permission for this repository or action.',
    action: 'Ask for pull/push rights on the repository, or use other credentials.',
    exit: 3,
    http: 502,
  },
  REGISTRY_RATE_LIMITED: {
    meaning: 'The registry kept answering 429/502/503/504 after the bounded retries.',
    action: 'Retry later; authenticate to get a higher rate limit.',
    exit: 3,
    http: 503,
  },
  REGISTRY_RESPONSE_TOO_LARGE: {
    meaning: 'A registry response is larger than the limit for its kind (checked before and while reading).',
    action: 'Treat the registry as hostile or misconfigured; raise the limit only if the content is legitimate.',
    exit: 3,
    http: 502,
  },
  REGISTRY_BAD_RESPONSE: {
    meaning: 'The registry answered with something that is not a valid answer to the request (wrong content type, junk, missing headers).',
    action: 'Check that the address points at an OCI distribution registry; report the registry bug.',
    exit: 3,
    http: 502,
  },
  REGISTRY_ERROR: {
    meaning: 'The registry answered with an unexpected error status.',
    action: 'Read the registry error in the message; retry or contact the registry operator.',
    exit: 3,
    http: 502,
  },
  REGISTRY_UNSUPPORTED: {
    meaning: 'The registry does not support the requested operation (for example manifest DELETE is disabled).',
    action: 'Nothing is lost; enable the operation on the registry if you need it.',
    exit: 3,
    http: 501,
  },
  REGISTRY_CONFLICT: {
    meaning: 'The registry refused a conditional write (If-Match) because the content changed since it was read.',
    action: 'Read the current content again and retry; the client does this automatically a bounded number of times.',
    exit: 3,
    http: 409,
  },
  BLOB_UPLOAD_FAILED: {
    meaning: 'A blob upload session could not be completed (no Location, rejected chunk or final PUT).',
    action: 'Retry the push; check registry storage and upload size limits.',
    exit: 3,
    http: 502,
  },
  DOCKER_CONFIG_INVALID: {
    meaning: 'The Docker config file (~/.docker/config.json or $DOCKER_CONFIG) is malformed.',
    action: 'Fix or remove the config file; run docker login again.',
    exit: 2,
    http: 400,
  },
  CREDENTIAL_HELPER_FAILED: {
    meaning: 'A docker-credential-<name> helper failed, timed out or printed something that is not a credential.',
    action: 'Run the helper by hand (echo <server> | docker-credential-<name> get) and fix its setup.',
    exit: 3,
    http: 500,
  },
  REFERRERS_UPDATE_FAILED: {
    meaning: 'The referrers fallback index could not be updated after the bounded number of attempts (lost races or a refused write).',
    action: 'Retry; the signature itself is stored under its own tag and is still found by a complete listing.',
    exit: 3,
    http: 503,
  },
  REFERRERS_TOO_MANY: {
    meaning: 'Listing referrers exceeded the page or count limit.',
    action: 'Clean up old signatures in the registry or raise maxReferrersPages / maxSignatures.',
    exit: 3,
    http: 502,
  },
  SIGNATURE_ARTIFACT_INVALID: {
    meaning: 'A signature manifest or its envelope is malformed or inconsistent (annotation, layer and descriptor disagree).',
    action: 'The signature is ignored; re-sign the image if no valid signature remains.',
    exit: 1,
    http: 400,
  },
} as const satisfies CodeTable;
