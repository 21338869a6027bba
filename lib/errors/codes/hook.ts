import type { CodeTable } from '../spec.js';

/** Error codes of the hook area. Add entries here; docs/errors.md is generated from them. */
export const hookCodes = {
} as const satisfies CodeTable;
