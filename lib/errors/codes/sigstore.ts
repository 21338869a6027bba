import type { CodeTable } from '../spec.js';

/**
 * Error codes of cosign and Sigstore-bundle verification (lib/cosign). A code with exit 1 is one
 * reason a cosign signature did not count; exit 2 is a mistake in the policy's own files (keys,
 * trusted root). docs/errors.md is generated from this table.
 */
export const sigstoreCodes = {
  COSIGN_PAYLOAD_INVALID: {
    meaning: 'A cosign signature layer is not a simple-signing payload ocitrust accepts (malformed JSON, wrong critical.type, missing digest, oversized, or a layer without its signature annotation).',
    action: 'Re-sign the image with cosign; the signature was not counted.',
    exit: 1,
    http: 422,
  },
  COSIGN_DIGEST_MISMATCH: {
    meaning: 'A cosign payload (or a bundle\'s statement or message digest) signs another manifest digest than the image being verified.',
    action: 'The signature is for other content; sign the current digest if it is intended.',
    exit: 1,
    http: 422,
  },
  COSIGN_REFERENCE_MISMATCH: {
    meaning: 'The policy requires the signed docker-reference to match the image reference, and the cosign payload names another one.',
    action: 'Sign the image under the reference it is deployed as, or drop matchReference from the rule.',
    exit: 1,
    http: 422,
  },
  COSIGN_SIG_NOT_MANIFEST: {
    meaning: 'A cosign `sha256-<hex>.sig` tag (or a Sigstore bundle referrer) is not a single image manifest (for example an image index), so it carries no signature ocitrust reads.',
    action: 'Push cosign signatures as cosign does (one manifest per .sig tag); the artifact was not counted.',
    exit: 1,
    http: 422,
  },
  COSIGN_NO_SIGNATURES: {
    meaning: 'No cosign signature or Sigstore bundle for the image was found, or none verified under the rule.',
    action: 'Sign the image with cosign (key or keyless) as the rule requires, or check the rule\'s keys and identities.',
    exit: 1,
    http: 422,
  },
  SIGSTORE_BUNDLE_INVALID: {
    meaning: 'A Sigstore bundle is not valid: malformed or truncated JSON, an unknown media type or version, an oversized bundle, or content the bundle format forbids.',
    action: 'Re-create the bundle with a Sigstore client; the bundle was not counted.',
    exit: 1,
    http: 422,
  },
  SIGSTORE_SIGNATURE_INVALID: {
    meaning: 'A cosign signature or Sigstore bundle signature does not verify with its key or certificate, or uses a signing scheme ocitrust does not know.',
    action: 'The signature was not counted; re-sign, or check that the rule names the right key.',
    exit: 1,
    http: 422,
  },
  SIGSTORE_KEY_UNTRUSTED: {
    meaning: 'A key-signed cosign signature or bundle was not made by any of the rule\'s keys (or the key was not valid at the signing time).',
    action: 'Add the signer\'s public key to the rule\'s keys if it should be trusted; otherwise the signature is rightly ignored.',
    exit: 1,
    http: 422,
  },
  SIGSTORE_CERTIFICATE_INVALID: {
    meaning: 'A signing certificate does not chain to a certificate authority of the trust root at the signing time, has no valid SCT, or its chain is malformed, loops or is too deep.',
    action: 'Check the rule\'s trustedRoot (or Fulcio CA certificates); the signature was not counted.',
    exit: 1,
    http: 422,
  },
  SIGSTORE_IDENTITY_MISMATCH: {
    meaning: 'A certificate-signed cosign signature verified, but its certificate identity (subject or OIDC issuer) matches none of the rule\'s identities.',
    action: 'Add the signer\'s identity to the rule if it should be trusted; otherwise the signature is rightly ignored.',
    exit: 1,
    http: 422,
  },
  SIGSTORE_TLOG_INVALID: {
    meaning: 'A transparency log entry (Rekor SET, inclusion proof or checkpoint) does not verify against the trust root, does not match the signature, is missing where the rule requires one, or has an integrated time in the future.',
    action: 'Check the rule\'s trustedRoot or rekorKeys; a signature without a valid log entry was not counted.',
    exit: 1,
    http: 422,
  },
  SIGSTORE_TIMESTAMP_INVALID: {
    meaning: 'A signature\'s timestamps (RFC 3161 or log integrated time) are missing, untrusted, or outside the validity of the signing certificate or key.',
    action: 'Check the trust root\'s timestamp authorities; the signature was not counted.',
    exit: 1,
    http: 422,
  },
  COSIGN_TRUST_FILE_INVALID: {
    meaning: 'A file the cosign rule names (public key, certificate, trusted root JSON) is missing, unreadable, malformed or of an unsupported key type, or the trusted root is incomplete.',
    action: 'Fix the file named in the message (PEM public keys and certificates; a Sigstore trusted_root.json with validFor.start on every key).',
    exit: 2,
    http: 400,
  },
} as const satisfies CodeTable;
