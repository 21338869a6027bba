import type { CodeTable } from '../spec.js';

/**
 * Error codes of the notation area (lib/notation): Notation (Notary Project) signatures verified
 * under Notation's own trust policy and trust store. Each verdict code maps one Notation
 * validation type (integrity, authenticity, trusted identity, expiry, authentic timestamp,
 * revocation) or one malformed input. docs/errors.md is generated from this table.
 */
export const notationCodes = {
  NOTATION_ENVELOPE_INVALID: {
    meaning: 'A Notation signature envelope (JWS or COSE) is malformed, truncated, too large, or misses a required header; it was not verified.',
    action: 'Re-sign the image with notation; a registry serving a damaged envelope is broken or tampered.',
    exit: 1,
    http: 422,
  },
  NOTATION_SIGNATURE_INVALID: {
    meaning: 'A Notation signature does not verify with its signing certificate, or its algorithm does not match the certificate key (Notation "integrity").',
    action: 'Treat the signature as forged or damaged; re-sign the image.',
    exit: 1,
    http: 422,
  },
  NOTATION_TARGET_MISMATCH: {
    meaning: 'The descriptor a Notation signature signs (digest, size, media type) is not the image being verified.',
    action: 'The signature belongs to another image; sign this image.',
    exit: 1,
    http: 422,
  },
  NOTATION_CRITICAL_UNKNOWN: {
    meaning: 'A Notation signature marks a header critical that ocitrust does not process (an extended attribute, or a verification plugin), so it must be refused.',
    action: 'Sign without the extended critical attributes, or verify with the tool that understands them.',
    exit: 1,
    http: 422,
  },
  NOTATION_SIGNING_SCHEME_UNKNOWN: {
    meaning: 'A Notation signature names a signing scheme other than notary.x509 or notary.x509.signingAuthority.',
    action: 'Re-sign with a supported signing scheme.',
    exit: 1,
    http: 422,
  },
  NOTATION_CERT_CHAIN_INVALID: {
    meaning: 'The certificate chain of a Notation signature is malformed: too long, repeating a certificate, a link not signed by the next, or a certificate not allowed in its place (CA, key usage, code signing).',
    action: 'Re-sign with a proper code-signing certificate and its chain (leaf first, root last).',
    exit: 1,
    http: 422,
  },
  NOTATION_UNTRUSTED: {
    meaning: 'The certificate chain of a Notation signature does not end in a certificate of the trust stores the trust policy names (Notation "authenticity").',
    action: 'Add the signer\'s root certificate to the named trust store if it should be trusted.',
    exit: 1,
    http: 422,
  },
  NOTATION_IDENTITY_MISMATCH: {
    meaning: 'The signing certificate\'s subject matches none of the trust policy\'s trustedIdentities.',
    action: 'Add the subject to trustedIdentities if that signer should be trusted.',
    exit: 1,
    http: 422,
  },
  NOTATION_EXPIRED: {
    meaning: 'A Notation signature has passed its io.cncf.notary.expiry time (Notation "expiry").',
    action: 'Re-sign the image.',
    exit: 1,
    http: 422,
  },
  NOTATION_TIMESTAMP_INVALID: {
    meaning: 'The signing time of a Notation signature cannot be trusted inside its certificates\' validity: no or a bad RFC 3161 timestamp, a timestamp outside the validity, or an expired certificate without one (Notation "authentic timestamp").',
    action: 'Re-sign with a valid certificate, with a timestamp from a TSA the trust policy\'s tsa store trusts.',
    exit: 1,
    http: 422,
  },
  NOTATION_CERT_REVOKED: {
    meaning: 'A certificate of a Notation signature\'s chain is listed in its issuer\'s certificate revocation list (Notation "revocation").',
    action: 'The signer\'s certificate was revoked: do not run the image; re-sign with a valid certificate.',
    exit: 1,
    http: 422,
  },
  NOTATION_REVOCATION_UNKNOWN: {
    meaning: 'The revocation of a Notation signing certificate could not be checked: its CRL could not be fetched, parsed or verified, and the trust policy enforces revocation.',
    action: 'Check that the CRL distribution point is reachable from here; set revocation to log in the trust policy only if an unchecked certificate is acceptable.',
    exit: 3,
    http: 503,
  },
  NOTATION_NO_TRUST_POLICY: {
    meaning: 'No statement of the Notation trust policy applies to the image\'s repository (registryScopes).',
    action: 'Add the repository or "*" to a statement\'s registryScopes.',
    exit: 2,
    http: 400,
  },
  NOTATION_TRUST_POLICY_INVALID: {
    meaning: 'The Notation trust policy file is not valid (version, statement names, registryScopes, signatureVerification, trustStores or trustedIdentities).',
    action: 'Fix the file; the message names the field (notaryproject specifications trust-store-trust-policy.md).',
    exit: 2,
    http: 400,
  },
  NOTATION_TRUST_STORE_INVALID: {
    meaning: 'A trust store the Notation trust policy names is missing, empty, too large, or holds a file that is not a certificate.',
    action: 'Put the PEM or DER certificates under <trustStore>/x509/<ca|signingAuthority|tsa>/<name>/.',
    exit: 2,
    http: 400,
  },
} as const satisfies CodeTable;
