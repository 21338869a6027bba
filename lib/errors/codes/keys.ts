import type { CodeTable } from '../spec.js';

/** Error codes of the keys area. Add entries here; docs/errors.md is generated from them. */
export const keysCodes = {
  KEY_INVALID: {
    meaning: 'A public or private key is malformed, not on the curve, non-canonical or of small order.',
    action: 'Regenerate or re-export the key; only Ed25519 keys are accepted.',
    exit: 2,
    http: 400,
  },
  KEY_UNSUPPORTED: {
    meaning: 'A key has a type or scheme other than ed25519.',
    action: 'Use an Ed25519 key (openssl genpkey -algorithm ed25519, or trust key generate).',
    exit: 2,
    http: 400,
  },
} as const satisfies CodeTable;
