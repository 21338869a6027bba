/**
 * Verifying from an OCI image layout (issue 17): `trust verify oci-layout:PATH:TAG`,
 * `trust verify-manifests --layout PATH`, `trust inspect oci-layout:PATH:TAG`. A
 * {@link LayoutCliContext} is the command's context with two things swapped: the registry is
 * the layout (lib/oci/layout-client.ts, read-only, every blob checked against its digest) and
 * a collection's trust comes from the layout's trust bundle through the TUF workflow against
 * this home's pin and rollback state (lib/usecases/bundle-trust.ts). Everything else — the
 * gate, the policy, the output — is what the commands do for a registry, so the verdicts and
 * codes are the same. Nothing here touches the network.
 */
import { rmSync } from 'node:fs';
import { OcitrustError } from '../lib/errors/index.js';
import type { RegistryClient } from '../lib/oci/client.js';
import type { OciLayout } from '../lib/oci/layout.js';
import { LayoutRegistryClient } from '../lib/oci/layout-client.js';
import { parseLayoutReference, resolveLayoutImage } from '../lib/oci/layout-ref.js';
import { openLayoutPath } from '../lib/oci/layout-tar.js';
import { readTrustBundle } from '../lib/oci/trust-bundle.js';
import { openBundleCollection, type BundleFreshness, type BundleTrust } from '../lib/usecases/bundle-trust.js';
import type { ImageReference } from '../lib/reference.js';
import { CliContext, type TrustOpenOptions } from './context.js';
import { exitOfCode } from '../lib/gate/index.js';
import { verifyOne, type ImageOutcome, type VerifyOneOptions } from './verify-outcome.js';

/** Layout options of the verifying commands. */
export interface LayoutOptions {
  /** `--bundle-max-age` in seconds: the explicit freshness bound for an expired bundle timestamp. */
  readonly bundleMaxAgeSeconds?: number;
}

/** A command context whose registry is a layout and whose trust comes from the layout's bundles. */
export class LayoutCliContext extends CliContext {
  readonly layout: OciLayout;
  readonly #client: LayoutRegistryClient;
  readonly #o: LayoutOptions;
  readonly #opened = new Map<string, Promise<BundleTrust>>();

  constructor(base: CliContext, layout: OciLayout, o: LayoutOptions) {
    super(base.io, base.globals);
    this.layout = layout;
    this.#client = new LayoutRegistryClient(layout, { readOnly: true });
    this.#o = o;
  }

  override registry(): Promise<RegistryClient> {
    return Promise.resolve(this.#client);
  }

  /** Trust of a collection from the layout's bundle (the server option does not apply: the bundle names its server). */
  override openTrust(collection: string, opts: TrustOpenOptions = {}): Promise<BundleTrust> {
    const key = JSON.stringify([collection, opts.root ? Buffer.from(opts.root).toString('base64') : null]);
    let p = this.#opened.get(key);
    if (!p) {
      p = (async () => {
        const bundle = await readTrustBundle(this.layout, collection);
        const t = await openBundleCollection({ home: this.home, bundle, ...(opts.root ? { root: opts.root } : {}), ...(this.#o.bundleMaxAgeSeconds !== undefined ? { bundleMaxAgeSeconds: this.#o.bundleMaxAgeSeconds } : {}) });
        this.reportTrust(t);
        const f = t.freshness;
        const why = f.rule === 'tuf-expiry' ? 'every document unexpired (TUF expiry)' : `timestamp expired at ${f.timestampExpires}, admitted by --bundle-max-age ${f.maxAgeSeconds} s`;
        // Said even with --quiet when the explicit bound admitted the data: freeze protection was relaxed.
        const line = `trust data of ${collection} from the bundle (saved from ${f.server}; root v${f.versions.root}, targets v${f.versions.targets}, timestamp v${f.versions.timestamp}): ${why}; admitted until ${f.admittedUntil}`;
        if (f.rule === 'bundle-max-age') this.out.warn(line);
        else this.out.notice(line);
        return t;
      })();
      this.#opened.set(key, p);
    }
    return p;
  }

  /** The freshness rules that admitted the collections opened so far. */
  async freshness(): Promise<Record<string, BundleFreshness>> {
    const out: Record<string, BundleFreshness> = {};
    for (const p of this.#opened.values()) {
      try {
        const t = await p;
        out[t.collection] = t.freshness;
      } catch {
        // its error is in the image's result
      }
    }
    return out;
  }
}

const contexts = new WeakMap<CliContext, Map<string, Promise<LayoutCliContext>>>();

/**
 * The layout context of a path for this command (a tar is extracted once, into a temporary
 * folder removed when the process exits).
 * @throws LAYOUT_INVALID, TAR_TRUNCATED, TAR_INVALID, LAYOUT_BLOB_MISMATCH, CLI_INPUT_UNREADABLE
 */
export function layoutContext(ctx: CliContext, path: string, o: LayoutOptions = {}): Promise<LayoutCliContext> {
  let m = contexts.get(ctx);
  if (!m) contexts.set(ctx, (m = new Map()));
  const full = ctx.path(path);
  let p = m.get(full);
  if (!p) {
    p = (async () => {
      const opened = await openLayoutPath(full);
      if (opened.layout.dir !== full) {
        const dir = opened.layout.dir;
        process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
      }
      return new LayoutCliContext(ctx, opened.layout, o);
    })();
    m.set(full, p);
  }
  return p;
}

/** An image resolved in a layout, with the context to verify it in. */
export async function resolveInLayout(ctx: CliContext, image: string, o: LayoutOptions = {}): Promise<{ ctx: LayoutCliContext; reference: ImageReference }> {
  const lref = parseLayoutReference(image);
  const lctx = await layoutContext(ctx, lref.path, o);
  const img = await resolveLayoutImage(lctx.layout, lref);
  return { ctx: lctx, reference: img.reference };
}

/**
 * `trust verify` of an `oci-layout:` reference (cli/verify-image.ts sends those here): the
 * image from the layout; its JSON entry then says which freshness rule admitted the trust data
 * (`trustData`). Errors opening the layout are the image's answer (exit from the catalogue).
 */
export async function verifyLayoutImage(ctx: CliContext, image: string, o: VerifyOneOptions & LayoutOptions): Promise<ImageOutcome> {
  let r;
  try {
    r = await resolveInLayout(ctx, image, o);
  } catch (e) {
    if (!(e instanceof OcitrustError)) throw e;
    return { json: { reference: image, digest: '', verified: false, signatures: [], failures: [{ code: e.code, message: e.message }] }, exit: exitOfCode(e.code) };
  }
  const out = await verifyOne(r.ctx, r.reference, o);
  const trustData = await r.ctx.freshness();
  const json = { ...out.json, layout: image, ...(Object.keys(trustData).length > 0 ? { trustData } : {}) };
  return { json, exit: out.exit };
}
