import type { CodeTable } from '../spec.js';

/** Error codes of the tuf area. Add entries here; docs/errors.md is generated from them. */
export const tufCodes = {
} as const satisfies CodeTable;
