/**
 * Telling a layout reference (`oci-layout:PATH[:REF|@DIGEST]`, parsed in layout-ref.ts) from a
 * registry reference, without loading the layout reader: `trust verify` asks this of every
 * image and opens a layout only for the ones that are.
 */

/** The scheme prefix of a layout reference. */
export const LAYOUT_SCHEME = 'oci-layout:';

/** True when `s` is written as a layout reference. */
export function isLayoutReference(s: string): boolean {
  return s.startsWith(LAYOUT_SCHEME);
}
