import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OcitrustError } from '../../lib/errors/index.js';
import type { CliContext } from '../context.js';
import { signatureSummary, warnSkipped } from '../copy-summary.js';
import { progressBar } from '../progress.js';
import { collect, example, type CommandKit } from '../program.js';

/** `trust save`: images, their signatures and their trust data into one OCI image layout (issue 17). */
export function register(program: Command, kit: CommandKit): void {
  example(
    program
      .command('save')
      .description('save images (all platforms), every signature and the trust data of their collections into one OCI image layout (a folder, or a .tar) for an air-gapped transfer')
      .argument('<image...>', 'image references REPOSITORY:TAG')
      // Not -o: that is the global output format (-o json).
      .requiredOption('--out <path>', 'the layout to write: a folder (created or added to) or a file ending in .tar (must not exist)')
      .option('--root <file>', 'pin this root metadata file for the collections (else the pinned root, or trust on first use)')
      .option('--collection <name>', 'trust collection of every image (default: each image\'s repository)', undefined)
      .option('--also <collection>', 'also save the trust data of this collection (repeatable)', collect)
      .action(
        kit.action(async (ctx: CliContext, opts, images: string[]) => {
          const [{ OciLayout }, { writeLayoutTar }, { saveImages, exportTrustBundle }, { HttpMetadataSource }] = await Promise.all([
            import('../../lib/oci/layout.js'),
            import('../../lib/oci/layout-tar.js'),
            import('../../lib/usecases/save.js'),
            import('../../lib/tuf/source.js'),
          ]);
          const out = ctx.path(opts.out as string);
          const asTar = out.endsWith('.tar');
          if (asTar && existsSync(out)) throw new OcitrustError('CLI_OUTPUT_EXISTS', `--out ${opts.out}: the archive exists; name a new file (a layout folder can be added to)`);
          const root = opts.root ? await ctx.readInput(opts.root as string, 'root file') : undefined;
          const collection = opts.collection ? ctx.repository(opts.collection as string) : undefined;
          const tmp = asTar ? await mkdtemp(join(tmpdir(), 'ocitrust-save-')) : undefined;
          try {
            const layout = await OciLayout.create(tmp ? join(tmp, 'layout') : out);
            const token = await ctx.token();
            const trust = async (c: string) => {
              // The normal TUF workflow against the pinned root, online: what is saved is what verified here.
              const t = await ctx.openTrust(c, { ...(root ? { root } : {}), online: true });
              const source = new HttpMetadataSource(ctx.serverUrl, c, token ? { headers: { authorization: `Bearer ${token}` } } : {});
              return exportTrustBundle({ collection: c, server: ctx.serverUrl, refresh: t.refresh, cache: ctx.home.trustCache(), source });
            };
            const bar = progressBar(ctx.io, 'saving', ctx.out.quiet);
            let r;
            try {
              r = await saveImages({
                images,
                registry: await ctx.registry(),
                layout,
                trust,
                ...(collection ? { collectionOf: () => collection } : {}),
                onProgress: (_image, d, t) => bar.update(d, t),
              });
            } finally {
              bar.end();
            }
            const { writeTrustBundle } = await import('../../lib/oci/trust-bundle.js');
            for (const c of (opts.also as string[] | undefined) ?? []) await writeTrustBundle(layout, await trust(ctx.repository(c)));
            for (const i of r.images) {
              warnSkipped(ctx.out, i);
              ctx.out.notice(`saved ${i.source}: ${i.manifests} manifest(s), ${i.blobs} blob(s), ${signatureSummary(i)}`);
            }
            for (const c of r.collections) ctx.out.notice(`saved trust data of ${c.collection} from ${c.server}: ${Object.entries(c.versions).map(([k, v]) => `${k} v${v}`).join(', ')}`);
            if (asTar) {
              ctx.out.notice(`writing ${opts.out}`);
              await writeLayoutTar(layout, out);
            }
            if (ctx.out.json) return void ctx.out.data({ layout: out, images: r.images, collections: r.collections });
            ctx.out.text(`Saved ${r.images.length} image(s) and the trust data of ${r.collections.length} collection(s) to ${opts.out}`);
          } finally {
            if (tmp) await rm(tmp, { recursive: true, force: true });
          }
        }),
      ),
    'trust save --out images.tar registry.example.com/app:v1 registry.example.com/db:v3',
    'trust save --out /media/usb/layout registry.example.com/app:v1',
  );
}
