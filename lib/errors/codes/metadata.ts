import type { CodeTable } from '../spec.js';

/** Error codes of the metadata area. Add entries here; docs/errors.md is generated from them. */
export const metadataCodes = {
} as const satisfies CodeTable;
