import type { CodeTable } from '../spec.js';

/** Error codes of the registry area. Add entries here; docs/errors.md is generated from them. */
export const registryCodes = {
} as const satisfies CodeTable;
