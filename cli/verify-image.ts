/**
 * One image of `trust verify`: a registry reference is verified by verifyOne; an `oci-layout:`
 * reference goes to cli/layout-context.ts, which is imported only then (the layout reader, the
 * tar extraction and the bundle's TUF workflow are not on a registry verify's path).
 */
import { isLayoutReference } from '../lib/oci/layout-scheme.js';
import type { CliContext } from './context.js';
import type { LayoutOptions } from './layout-context.js';
import { verifyOne, type ImageOutcome, type VerifyOneOptions } from './verify-outcome.js';

/** `verifyOne` for `trust verify`, layouts included (see cli/layout-context.ts verifyLayoutImage). */
export async function verifyImage(ctx: CliContext, image: string, o: VerifyOneOptions & LayoutOptions): Promise<ImageOutcome> {
  if (!isLayoutReference(image)) return verifyOne(ctx, image, o);
  const { verifyLayoutImage } = await import('./layout-context.js');
  return verifyLayoutImage(ctx, image, o);
}
