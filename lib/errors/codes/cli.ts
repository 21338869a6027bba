import type { CodeTable } from '../spec.js';

/** Error codes of the cli area. Add entries here; docs/errors.md is generated from them. */
export const cliCodes = {
} as const satisfies CodeTable;
