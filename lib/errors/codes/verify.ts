import type { CodeTable } from '../spec.js';

/** Error codes of the verify area. Add entries here; docs/errors.md is generated from them. */
export const verifyCodes = {
} as const satisfies CodeTable;
