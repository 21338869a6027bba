import type { CodeTable } from '../spec.js';

/** Error codes of the oci area. Add entries here; docs/errors.md is generated from them. */
export const ociCodes = {
} as const satisfies CodeTable;
