import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { collect, example, type CommandKit } from '../program.js';

/** `trust server import PATH`: trust data of a bundle into read-only mirrors (issue 17, docs/airgap.md). */
export function register(program: Command, kit: CommandKit): void {
  const server = program.commands.find((c) => c.name() === 'server');
  if (!server) return;
  example(
    server
      .command('import')
      .description('import the trust data of a layout (trust save) into this server as read-only mirrors of its collections: versions kept, signatures and rollback checked, later bundles advance them (directly in its database)')
      .argument('<path>', 'layout folder or .tar')
      .option('--collection <name>', 'only this collection (repeatable; default: every collection in the layout)', collect)
      .option('--root <file>', 'trust anchor of a new mirror (else its version 1 root from the bundle, recorded as first use in the audit log)')
      .option('--data <dir>', 'the server\'s data folder (env OCITRUST_DATA_DIR, default <home>/server)')
      .option('--database <url>', 'postgres://… URL or SQLite file (env OCITRUST_DATABASE, default <data>/ocitrust.db)')
      .action(
        kit.action(async (ctx: CliContext, opts, path: string) => {
          const [{ loadServerSettings }, { importCommand }] = await Promise.all([import('../../server/config/load.js'), import('../../server/mirror-command.js')]);
          const env = { OCITRUST_DATA_DIR: ctx.io.env.OCITRUST_DATA_DIR, OCITRUST_DATABASE: ctx.io.env.OCITRUST_DATABASE };
          // `trust server` has --data/--database too and takes them wherever they stand on the line.
          const flag = (k: 'data' | 'database'): string | undefined => (opts[k] ?? server.opts()[k]) as string | undefined;
          const { settings } = loadServerSettings({ flags: { dataDir: flag('data'), database: flag('database') }, env, cwd: ctx.io.cwd, home: ctx.home.dir });
          const root = opts.root ? await ctx.readInput(opts.root as string, 'root file') : undefined;
          const results = await importCommand({
            path: ctx.path(path),
            dataDir: settings.dataDir,
            ...(settings.database !== undefined ? { database: settings.database } : {}),
            ...(opts.collection ? { collections: (opts.collection as string[]).map((c) => ctx.repository(c)) } : {}),
            ...(root ? { root } : {}),
          });
          if (ctx.out.json) return void ctx.out.data({ imported: results });
          for (const r of results) {
            const v = r.versions;
            ctx.out.text(
              r.changed
                ? `${r.created ? 'Created mirror' : 'Advanced mirror'} ${r.collection}: root v${v.root}, targets v${v.targets}, snapshot v${v.snapshot}, timestamp v${v.timestamp}${r.created ? '' : ` (was timestamp v${r.before.timestamp})`}`
                : `Mirror ${r.collection} is already at timestamp v${v.timestamp}: nothing newer in the bundle`,
            );
          }
        }),
      ),
    'trust server import --data /var/lib/ocitrust images.tar',
  );
}
