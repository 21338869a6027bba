import type { Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { OcitrustError } from '../../lib/errors/index.js';
import type { CliContext } from '../context.js';
import { example, type CommandKit } from '../program.js';

/**
 * `trust root export`: the root a collection is pinned to in this home, for a service's policy
 * (`root:`): the admission webhooks and the proxy never trust a remote root on first use
 * (lib/gate). The fingerprint goes to stderr so the user compares it out of band.
 */
export function register(program: Command, kit: CommandKit): void {
  const root = example(program.command('root').description('the trusted root of a collection: export it to pin it elsewhere (policy `root:`)'), 'trust root export registry.example.com/app > root.json');
  example(
    root
      .command('export')
      .description('print the root metadata this home trusts for a collection (pinned by `trust init`, --root or first use), with its SHA-256 fingerprint on stderr')
      .argument('<collection>', 'repository or collection name, e.g. registry.example.com/app')
      .option('--out <file>', 'write to this file instead of stdout (never overwrites)')
      .option('--offline', 'do not contact the trust server: export the pinned root as it is; no network at all, enforced (docs/airgap.md)')
      .action(
        kit.action(async (ctx: CliContext, opts, name: string) => {
          const collection = ctx.repository(name);
          const t = await ctx.openTrust(collection, opts.offline ? { offline: true } : {});
          const fingerprint = `sha256:${t.pinFingerprint}`;
          if (opts.out) {
            try {
              await writeFile(ctx.path(opts.out as string), t.pin.root, { mode: 0o644, flag: 'wx' });
            } catch (e) {
              throw new OcitrustError('CLI_OUTPUT_FAILED', `root file ${opts.out as string}: expected a new writable file, got ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
            }
          } else {
            // Root metadata is canonical JSON text.
            ctx.io.stdout.write(Buffer.from(t.pin.root).toString('utf8'));
          }
          const how = t.pin.how === 'tofu' ? 'trusted on first use' : t.pin.how === 'init' ? 'created by trust init' : 'pinned from a root file';
          ctx.io.stderr.write(`root of ${collection}: ${fingerprint} (${how}, ${t.pin.pinnedAt}); compare this fingerprint with the collection owner's before pinning it\n`);
        }),
      ),
    'trust root export registry.example.com/app --out root.json',
  );
}
