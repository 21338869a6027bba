import type { Command } from 'commander';
import { copyImage } from '../../lib/usecases/copy.js';
import type { CliContext } from '../context.js';
import { signatureSummary, warnSkipped } from '../copy-summary.js';
import { progressBar } from '../progress.js';
import { example, type CommandKit } from '../program.js';

/** `trust copy`: an image and all its signatures to another repository or registry. */
export function register(program: Command, kit: CommandKit): void {
  example(
    program
      .command('copy')
      .description('copy an image (all platforms) and all its signatures and other referrers (ocitrust, cosign, Notation); referrers API or tag fallback on the destination')
      .argument('<src-image>', 'source reference')
      .argument('<dst-image>', 'destination reference (without a tag: the source tag)')
      .action(
        kit.action(async (ctx: CliContext, _opts, src: string, dst: string) => {
          const bar = progressBar(ctx.io, 'copying', ctx.out.quiet);
          let r;
          try {
            r = await copyImage({ source: src, destination: dst, registry: await ctx.registry(), onProgress: (d, t) => bar.update(d, t) });
          } finally {
            bar.end();
          }
          warnSkipped(ctx.out, r);
          if (ctx.out.json) return void ctx.out.data(r);
          const modes = [...new Set(r.signatures.map((s) => (s.mode === 'api' ? 'referrers API' : s.mode === 'fallback' ? 'tag fallback' : 'cosign tags')))].join(', ');
          ctx.out.text(`Copied ${r.source} → ${r.destination}: ${r.manifests} manifest(s), ${r.blobs} blob(s), ${signatureSummary(r)}${modes ? ` (${modes})` : ''}`);
        }),
      ),
    'trust copy registry-a.example.com/app:v1 registry-b.example.com/app',
  );
}
