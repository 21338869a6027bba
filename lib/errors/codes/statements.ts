import type { CodeTable } from '../spec.js';

/** Error codes of the statements area. Add entries here; docs/errors.md is generated from them. */
export const statementsCodes = {
} as const satisfies CodeTable;
