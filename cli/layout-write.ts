/**
 * Writing into an OCI image layout from the CLI (issue 17): `trust sign oci-layout:PATH:TAG`
 * signs an image before it is ever pushed — the signature becomes a referrer inside the layout —
 * and `trust load` pushes image and signature together. A tar is extracted, changed and written
 * back under a temporary name that replaces the original only when everything succeeded.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OcitrustError } from '../lib/errors/index.js';
import type { RegistryClient } from '../lib/oci/client.js';
import { OciLayout } from '../lib/oci/layout.js';
import { LayoutRegistryClient } from '../lib/oci/layout-client.js';
import { parseLayoutReference, resolveLayoutImage } from '../lib/oci/layout-ref.js';
import { extractLayoutTar, writeLayoutTar } from '../lib/oci/layout-tar.js';
import type { ImageReference } from '../lib/reference.js';
import type { CliContext } from './context.js';

/** A layout opened for writing: its client, the images named, and how to finish. */
export interface WritableLayout {
  readonly registry: RegistryClient;
  readonly refs: ImageReference[];
  /** Writes a tar back (atomically); nothing for a folder. */
  commit(): Promise<void>;
  /** Removes the extraction folder of a tar. */
  close(): Promise<void>;
}

/**
 * Opens the layout the `oci-layout:` references name (all must name the same PATH) for writing.
 * @throws CLI_USAGE (several layouts), LAYOUT_*, TAR_*
 */
export async function openWritableLayout(ctx: CliContext, images: readonly string[]): Promise<WritableLayout> {
  const lrefs = images.map((i) => parseLayoutReference(i));
  const path = ctx.path(lrefs[0]!.path);
  if (lrefs.some((l) => ctx.path(l.path) !== path)) throw new OcitrustError('CLI_USAGE', 'oci-layout: references of one command must name the same layout');
  const isDir = (await stat(path).catch(() => undefined))?.isDirectory() === true;
  let layout: OciLayout;
  let tmp: string | undefined;
  if (isDir) layout = await OciLayout.open(path);
  else {
    tmp = await mkdtemp(join(tmpdir(), 'ocitrust-layout-'));
    layout = await extractLayoutTar(path, join(tmp, 'layout'));
  }
  const refs: ImageReference[] = [];
  for (const l of lrefs) {
    const img = await resolveLayoutImage(layout, l);
    // Signing names the tag (tag binding) and the digest the layout holds.
    refs.push(img.reference);
  }
  return {
    registry: new LayoutRegistryClient(layout),
    refs,
    async commit() {
      if (!tmp) return;
      const next = `${path}.next-${process.pid}`;
      await rm(next, { force: true });
      await writeLayoutTar(layout, next);
      const { rename } = await import('node:fs/promises');
      await rename(next, path);
    },
    async close() {
      if (tmp) await rm(tmp, { recursive: true, force: true });
    },
  };
}
