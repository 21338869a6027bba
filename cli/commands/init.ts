import type { Command } from 'commander';
import { initCollection } from '../../lib/usecases/admin.js';
import type { CliContext } from '../context.js';
import { example, type CommandKit } from '../program.js';

/** `trust init`: create a collection on the trust server (root v1 + targets v1). */
export function register(program: Command, kit: CommandKit): void {
  example(
    program
      .command('init')
      .description('create the trust collection of a repository: root and targets keys, server keys fetched, first publish')
      .argument('<repo>', 'repository or collection name, e.g. registry.example.com/app')
      .option('--root-key <name|uri>', 'root key: a key store name (default "root", generated when missing), a pkcs11: URI or plugin:NAME:KEYREF')
      .option('--targets-key <name|uri>', 'targets key: a key store name (default: generated as targets-<repo>-<hash>), a pkcs11: URI or plugin:NAME:KEYREF')
      .action(
        kit.action(async (ctx: CliContext, opts, repo: string) => {
          const collection = ctx.repository(repo);
          const r = await initCollection(await ctx.admin(), {
            collection,
            ...(opts.rootKey ? { rootKey: opts.rootKey as string } : {}),
            ...(opts.targetsKey ? { targetsKey: opts.targetsKey as string } : {}),
          });
          if (ctx.out.json) {
            return void ctx.out.data({ collection, server: ctx.serverUrl, rootKey: r.rootKey, targetsKey: r.targetsKey, serverKeys: r.serverKeys, versions: r.versions, rootFingerprint: r.rootFingerprint });
          }
          const gen = (g: boolean): string => (g ? ' (generated)' : '');
          ctx.out.text(
            `Initialized ${collection} on ${ctx.serverUrl}\n` +
              `  root key     ${r.rootKey.name} ${r.rootKey.keyid.slice(0, 16)}…${gen(r.rootKey.generated)}\n` +
              `  targets key  ${r.targetsKey.name} ${r.targetsKey.keyid.slice(0, 16)}…${gen(r.targetsKey.generated)}\n` +
              `  root         ${r.rootFingerprint} (compare it out of band before pinning it elsewhere: trust root export ${collection})\n` +
              `  root pinned in ${ctx.home.dir}; keep the root key offline`,
          );
        }),
      ),
    'trust init registry.example.com/app',
    "trust --pin-file pin.txt init registry.example.com/app --root-key 'pkcs11:token=ci;object=root?module-path=/usr/lib/softhsm/libsofthsm2.so'",
  );
}
