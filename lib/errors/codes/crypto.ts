import type { CodeTable } from '../spec.js';

/** Error codes of the crypto area (hashes, digests, canonical forms). */
export const cryptoCodes = {
  INVALID_DIGEST: {
    meaning: 'A digest is not of the form sha256:<64 lowercase hex> or sha512:<128 lowercase hex>.',
    action: 'Check the digest string; OCI digests are lowercase.',
    exit: 2,
    http: 400,
  },
} as const satisfies CodeTable;
