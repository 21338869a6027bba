import type { Command } from 'commander';
import { OcitrustError } from '../../lib/errors/index.js';
import type { CliContext } from '../context.js';
import { signatureSummary, warnSkipped } from '../copy-summary.js';
import { progressBar } from '../progress.js';
import { example, type CommandKit } from '../program.js';

/** `trust load`: push the images of a layout with their signatures, digests unchanged (issue 17). */
export function register(program: Command, kit: CommandKit): void {
  example(
    program
      .command('load')
      .description('push every image of an OCI image layout (folder or .tar from trust save) with all its signatures to a registry; digests unchanged, signatures by the referrers API or the tag fallback')
      .argument('<path>', 'the layout folder or .tar')
      .requiredOption('--to <registry>', 'destination REGISTRY[/PREFIX]: reg.example/app:v1 goes to REGISTRY/PREFIX/app:v1')
      .action(
        kit.action(async (ctx: CliContext, opts, path: string) => {
          const [{ openLayoutPath }, { LayoutRegistryClient }, { layoutImages }, { copyImage }, { parseReference }] = await Promise.all([
            import('../../lib/oci/layout-tar.js'),
            import('../../lib/oci/layout-client.js'),
            import('../../lib/oci/layout-ref.js'),
            import('../../lib/usecases/copy.js'),
            import('../../lib/reference.js'),
          ]);
          const to = String(opts.to).replace(/\/+$/, '');
          // Checked before anything is pushed: the destination must make valid references.
          parseReference(`${to}/x:v`);
          // A tar is extracted and every blob checked before the first push.
          const opened = await openLayoutPath(ctx.path(path));
          try {
            const images = await layoutImages(opened.layout);
            if (images.length === 0) throw new OcitrustError('LAYOUT_REFERENCE_INVALID', `layout ${path} names no image (expected entries written by trust save)`);
            const source = new LayoutRegistryClient(opened.layout, { readOnly: true });
            const registry = await ctx.registry();
            const results = [];
            const bar = progressBar(ctx.io, 'loading', ctx.out.quiet);
            try {
              for (const img of images) {
                const dest = `${to}/${img.reference.path}:${img.reference.tag}`;
                const r = await copyImage({ source: { ...img.reference, digest: undefined } as typeof img.reference, destination: dest, registry: source, destinationRegistry: registry, onProgress: (d, t) => bar.update(d, t) });
                if (r.digest !== img.digest) throw new OcitrustError('MANIFEST_DIGEST_MISMATCH', `${dest}: pushed ${r.digest}, the layout holds ${img.digest}`);
                results.push(r);
                warnSkipped(ctx.out, r);
                ctx.out.notice(`loaded ${r.destination}: ${r.manifests} manifest(s), ${r.blobs} blob(s), ${signatureSummary(r)}`);
              }
            } finally {
              bar.end();
            }
            if (ctx.out.json) return void ctx.out.data({ images: results });
            ctx.out.text(`Loaded ${results.length} image(s) into ${to}; their signatures name the original repositories: verify with --mirror-of ORIGINAL or a policy remap (docs/airgap.md)`);
          } finally {
            await opened.close();
          }
        }),
      ),
    'trust load images.tar --to registry.inside.example/mirror',
  );
}
