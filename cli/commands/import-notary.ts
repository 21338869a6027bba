import type { Command } from 'commander';
import { OcitrustError } from '../../lib/errors/index.js';
import { importNotary, type ImportReport } from '../../lib/usecases/import-notary.js';
import type { CliContext } from '../context.js';
import { example, type CommandKit } from '../program.js';

/** `trust import-notary`: migrate a Docker Content Trust (Notary v1) repository (docs/migrate-from-dct.md). */
export function register(program: Command, kit: CommandKit): void {
  example(
    program
      .command('import-notary')
      .description('migrate a Docker Content Trust (Notary v1) repository: its signers become signer roles, its signed tags ocitrust signatures')
      .argument('<repo>', 'repository, e.g. registry.example.com/team/app (its Notary GUN)')
      .requiredOption('--notary-server <url>', 'the Notary server (Docker Hub: https://notary.docker.io)')
      .option('--root <file>', 'the Notary repository\'s pinned root: its root certificate or root.json')
      .option('--yes', 'without --root: trust the Notary root on first use (its key fingerprints are printed)')
      .option('--notary-trust-dir <dir>', 'docker or notary trust dir whose private/*.key sign the migrated tags (e.g. ~/.docker/trust)')
      .option('--notary-ca <file>', 'CA certificate(s) of the Notary server\'s TLS certificate (PEM)')
      .option('--gun <gun>', 'the Notary GUN when it is not the repository name')
      .option('--dry-run', 'verify and print the plan; write nothing')
      .option('--keep-root-key', 'a new collection\'s root and targets keys are the Notary repository\'s (from --notary-trust-dir), so a pinned Notary root key stays recognizable; default: new keys')
      .action(
        kit.action(async (ctx: CliContext, opts, repo: string) => {
          const repository = ctx.repository(repo);
          if (opts.keepRootKey && !opts.notaryTrustDir) throw new OcitrustError('CLI_USAGE', '--keep-root-key needs --notary-trust-dir: the folder that holds the Notary root and targets keys');
          if (opts.root && opts.yes) throw new OcitrustError('CLI_USAGE', '--yes confirms a first use; with --root the root is pinned: pass one of them');
          const r = await importNotary(await ctx.admin(), {
            repository,
            notaryServer: opts.notaryServer as string,
            registry: await ctx.registry(),
            ...(opts.gun ? { gun: opts.gun as string } : {}),
            ...(opts.root ? { root: await ctx.readInput(opts.root as string, 'Notary root file', 256 * 1024) } : {}),
            ...(opts.notaryCa ? { notaryCa: await ctx.readInput(opts.notaryCa as string, 'Notary CA file', 256 * 1024) } : {}),
            ...(opts.notaryTrustDir ? { trustDir: ctx.path(opts.notaryTrustDir as string) } : {}),
            ...(opts.dryRun ? { dryRun: true } : {}),
            ...(opts.keepRootKey ? { keepRootKey: true } : {}),
            confirmFirstUse: async (fps) => {
              ctx.io.stderr.write(`Notary root keys of ${repository} (first use): ${fps.join(', ')}\n`);
              if (!opts.yes) throw new OcitrustError('CLI_USAGE', 'the Notary root is not pinned: compare the fingerprints above with the repository owner\'s, then re-run with --yes, or pin it with --root');
              return true;
            },
          });
          if (ctx.out.json) return void ctx.out.data(r);
          ctx.out.text(describe(r));
          return 0;
        }),
      ),
    'trust import-notary registry.example.com/team/app --notary-server https://notary.example.com --root root.crt --notary-trust-dir ~/.docker/trust',
    'trust import-notary docker.io/team/app --notary-server https://notary.docker.io --root root.crt --dry-run -o json',
  );
}

function describe(r: ImportReport): string {
  const lines = [`${r.dryRun ? 'Plan for' : 'Imported'} ${r.gun} (Notary root v${r.notaryRoot.version}${r.notaryRoot.firstUse ? ', trusted on first use' : ', pinned'}) into ${r.repository}`];
  if (r.collection.keptNotaryKeys.length) lines.push(`  keys        kept from Notary: ${r.collection.keptNotaryKeys.join(', ')}`);
  lines.push(`  collection  ${r.collection.created ? 'created' : r.dryRun ? (r.collection.signersChanged ? 'signers to publish' : 'unchanged') : r.collection.signersChanged ? 'signers published' : 'unchanged'}${r.collection.newKeys.length ? ` (new ${r.collection.newKeys.join(', ')}; the Notary root and targets keys were not reused)` : ''}`);
  for (const s of r.signers) lines.push(`  signer      ${s.name} (from ${s.notaryRole}, threshold ${s.threshold}, ${s.keys.length} key${s.keys.length === 1 ? '' : 's'})${s.skipped ? ` not migrated: ${s.skipped}` : ''}`);
  for (const t of r.tags) lines.push(`  tag         ${t.tag} ${t.digest.slice(0, 19)}… ${t.status} (${t.roles.join(', ')})`);
  for (const s of r.skipped) lines.push(`  skipped     ${s.tag}${s.role ? ` (${s.role})` : ''}: ${s.reason}: ${s.detail}`);
  return lines.join('\n');
}
