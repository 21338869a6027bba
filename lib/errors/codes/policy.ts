import type { CodeTable } from '../spec.js';

/** Error codes of the policy area. Add entries here; docs/errors.md is generated from them. */
export const policyCodes = {
  POLICY_INVALID: {
    meaning: 'Verification options are invalid: an unknown field, a wrong type, an empty role list, a negative clock skew or an unknown multiArch mode.',
    action: 'Fix the policy; the message names the field and what was expected.',
    exit: 2,
    http: 400,
  },
} as const satisfies CodeTable;
