import type { CodeTable } from '../spec.js';

/** Error codes of the server area. Add entries here; docs/errors.md is generated from them. */
export const serverCodes = {
} as const satisfies CodeTable;
