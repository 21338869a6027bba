import type { Command } from 'commander';
import { parseReference } from '../../lib/reference.js';
import { revokeSignatures } from '../../lib/usecases/admin.js';
import type { CliContext } from '../context.js';
import { example, type CommandKit } from '../program.js';

/** `trust revoke`: revoke signatures of an image in signed trust metadata (DESIGN §6). */
export function register(program: Command, kit: CommandKit): void {
  example(
    program
      .command('revoke')
      .description('revoke the signatures of an image (a signed targets entry), then delete the referrers where possible')
      .argument('<image>', 'image reference; a tag is resolved to its current digest')
      .option('--signer <name>', 'only this signer\'s signatures')
      .option('--envelope <digest>', 'only the signatures in the envelope with this digest (see `trust inspect`); they are revoked by signing key and signed statement, so re-encoded copies stay revoked')
      .option('--reason <text>', 'why (recorded in the trust metadata)', 'revoked with trust revoke')
      .option('--collection <name>', 'trust collection (default: the image\'s repository)')
      .action(
        kit.action(async (ctx: CliContext, opts, image: string) => {
          const ref = parseReference(image);
          const r = await revokeSignatures(await ctx.admin(), {
            reference: ref,
            registry: await ctx.registry(),
            reason: opts.reason as string,
            ...(opts.collection ? { collection: ctx.repository(opts.collection as string) } : {}),
            ...(opts.signer ? { role: opts.signer as string } : {}),
            ...(opts.envelope ? { envelope: opts.envelope as string } : {}),
          });
          if (ctx.out.json) {
            return void ctx.out.data({
              collection: r.collection,
              digest: r.digest,
              version: r.version,
              ...(r.role !== undefined ? { role: r.role } : {}),
              signatures: r.signatures.map((x) => ({ key: x.key, keyid: x.keyid, pae: x.pae })),
              removed: r.removed,
              ...(r.removeError ? { removeError: r.removeError } : {}),
            });
          }
          const what = opts.envelope
            ? `${r.signatures.length} signature(s) (key ${r.signatures.map((x) => x.key.slice(0, 12)).join(', ')}; statement PAE ${r.signatures[0]?.pae ?? ''}) in envelope ${opts.envelope as string} of`
            : `${r.role !== undefined ? `${r.role}'s ` : ''}signatures of`;
          ctx.out.text(`Revoked ${what} ${ref.repository}@${r.digest} (targets version ${r.version}); ${r.removed.length} referrer(s) deleted`);
          if (r.removeError) ctx.out.notice(`could not delete referrers (the revocation stands): ${r.removeError}`);
        }),
      ),
    'trust revoke --signer alice --reason "built from a compromised commit" registry.example.com/app:v1',
    'trust revoke --envelope sha256:<envelopeDigest from trust inspect> --reason "signed by mistake" registry.example.com/app:v1',
  );
}
