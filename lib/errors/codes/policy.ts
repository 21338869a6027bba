import type { CodeTable } from '../spec.js';

/** Error codes of the policy area. Add entries here; docs/errors.md is generated from them. */
export const policyCodes = {
} as const satisfies CodeTable;
