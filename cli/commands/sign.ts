import type { Command } from 'commander';
import { systemClock } from '../../lib/clock.js';
import { parseReference } from '../../lib/reference.js';
import { loadChoice, selectSigning, signImage } from '../../lib/usecases/sign.js';
import type { CliContext } from '../context.js';
import { parseDuration } from '../duration.js';
import { progressBar } from '../progress.js';
import { example, type CommandKit } from '../program.js';

/** `trust sign`: sign an image as a delegated signer (DESIGN §4). */
export function register(program: Command, kit: CommandKit): void {
  example(
    program
      .command('sign')
      .description('sign an image: a DSSE statement pushed to the registry as a referrer of the manifest')
      .argument('<image>', 'image reference (repository:tag or repository@digest)')
      .option('--signer <name>', 'the signer role to sign as (default: the one role your local keys can sign for)')
      .option('--key <name>', 'the key to sign with (name, keyid or keyid prefix)')
      .option('--recursive', 'also sign every child manifest of an index (multi-arch)')
      .option('--expires <duration>', 'signature lifetime, e.g. 90d, 1y (default: no expiry)')
      .option('--collection <name>', 'trust collection (default: the image\'s repository)')
      .action(
        kit.action(async (ctx: CliContext, opts, image: string) => {
          const ref = parseReference(image);
          const expiresIn = opts.expires ? parseDuration(opts.expires as string, '--expires') : undefined;
          const trust = await ctx.openTrust(opts.collection ? ctx.repository(opts.collection as string) : ref.repository);
          const choice = await selectSigning(trust.refresh.trusted, ctx.keys, ref, {
            ...(opts.signer ? { signer: opts.signer as string } : {}),
            ...(opts.key ? { key: opts.key as string } : {}),
          });
          const signers = await loadChoice(ctx.keys, choice, ctx.passphrase);
          const bar = progressBar(ctx.io, 'signing', ctx.out.quiet);
          const now = systemClock.now();
          let r;
          try {
            r = await signImage({
              reference: ref,
              registry: await ctx.registry(),
              signer: signers,
              role: choice.role,
              recursive: opts.recursive === true,
              ...(expiresIn !== undefined ? { expires: new Date(Math.floor(now.getTime() / 1000) * 1000 + expiresIn * 1000) } : {}),
              onProgress: (d, t) => bar.update(d, t),
            });
          } finally {
            bar.end();
          }
          if (ctx.out.json) {
            return void ctx.out.data({
              reference: r.reference,
              digest: r.digest,
              role: r.role,
              keyids: r.keyids,
              signed: r.signed.map((s) => ({ digest: s.digest, mediaType: s.mediaType, ...(s.tag ? { tag: s.tag } : {}), signature: s.signature })),
            });
          }
          const how = (m: 'api' | 'fallback'): string => (m === 'api' ? 'referrers API' : 'tag fallback');
          for (const s of r.signed) ctx.out.text(`Signed ${ref.repository}@${s.digest} as ${r.role} → ${s.signature.digest} (${how(s.signature.mode)})`);
          if (signers.length < choice.threshold) {
            ctx.out.notice(`signer ${choice.role} needs ${choice.threshold} distinct keys; ${signers.length} signed here, the others must sign too`);
          }
        }),
      ),
    'trust sign registry.example.com/app:v1',
    'trust sign --signer alice --recursive --expires 90d registry.example.com/app:v1',
  );
}
