import type { Command } from 'commander';
import { OcitrustError } from '../../lib/errors/index.js';
import { parsePublicKeyPem } from '../../lib/keys/pem.js';
import { externalPublicKey, isExternalKeyRef } from '../../lib/keys/external.js';
import type { PublicKey } from '../../lib/keys/key.js';
import { addSigner, listSigners, removeSigner, rotateSigner } from '../../lib/usecases/admin.js';
import type { CliContext } from '../context.js';
import { table } from '../output.js';
import { collect, example, intOption, type CommandKit } from '../program.js';

/**
 * Detects `signer add|remove|rotate … REPO NAME` (the arguments swapped): the signer name looks like a
 * repository (a slash) and the only repository does not. Without this the command would
 * talk about a collection docker.io/library/<name> that nobody meant.
 * @throws CLI_USAGE
 */
function checkOrder(command: string, name: string, repos: readonly string[]): void {
  if (name.includes('/') && repos.length === 1 && !repos[0]!.includes('/')) {
    throw new OcitrustError(
      'CLI_USAGE',
      `signer ${command}: expected <signer> <repo...>, got the signer name ${JSON.stringify(name.slice(0, 100))} (a repository?) and the repository ${JSON.stringify(repos[0]!.slice(0, 100))}: the arguments look swapped; try \`trust signer ${command} … ${repos[0]!.slice(0, 100)} ${name.slice(0, 100)}\``,
    );
  }
}

/** The public keys `--key` names: SPKI PEM files, or pkcs11: URIs / plugin: references whose public key is read. */
async function readPublicKeys(ctx: CliContext, refs: readonly string[]): Promise<PublicKey[]> {
  const keys: PublicKey[] = [];
  for (const f of refs) {
    if (isExternalKeyRef(f)) keys.push(await externalPublicKey(f, ctx.externalKeys));
    else keys.push(parsePublicKeyPem(await ctx.readInput(f, 'public key file', 64 * 1024)));
  }
  return keys;
}

/** `trust signer …`: delegated signer roles of a collection (DESIGN §3). */
export function register(program: Command, kit: CommandKit): void {
  const signer = example(
    program.command('signer').description('manage who may sign a repository (delegated signer roles)'),
    'trust signer add --key alice.pub alice registry.example.com/app',
    'trust signer list registry.example.com/app',
  );

  example(
    signer
      .command('add')
      .description('add or update a signer: its public keys, threshold and paths (keys also join the "releases" role, as docker trust does)')
      .argument('<signer>', 'signer (role) name')
      .argument('<repo...>', 'repositories')
      .requiredOption('--key <pub.pem|uri>', 'public key file (SPKI PEM, e.g. from `trust key generate`), or a pkcs11: URI / plugin:NAME:KEYREF whose public key is read; repeatable', collect)
      .option('--threshold <n>', 'distinct keys that must sign (default: current, else 1)', intOption('--threshold', 1))
      .option('--paths <pattern>', 'TUF path pattern the signer may sign (default: <repo>:* and <repo>@*); repeatable', collect)
      .option('--no-releases', 'do not add the keys to the "releases" role')
      .action(
        kit.action(async (ctx: CliContext, opts, name: string, repos: string[]) => {
          checkOrder('add', name, repos);
          const keys = await readPublicKeys(ctx, opts.key as string[]);
          const admin = await ctx.admin();
          const out: unknown[] = [];
          for (const repo of repos) {
            const collection = ctx.repository(repo);
            const r = await addSigner(admin, {
              collection,
              name,
              keys,
              ...(opts.threshold !== undefined ? { threshold: opts.threshold as number } : {}),
              ...(opts.paths ? { paths: opts.paths as string[] } : {}),
              releases: opts.releases !== false,
            });
            ctx.reportTrust(r.trust);
            const role = r.trust.refresh.metadata.targets.signed.delegations?.role(name);
            out.push({ collection, signer: name, keyids: role?.keyids ?? [], threshold: role?.threshold, paths: role?.paths ?? [], releases: r.releases, version: r.version });
            ctx.out.text(`Added signer ${name} to ${collection} (targets version ${r.version})${r.releases ? '; keys also in releases' : ''}`);
          }
          if (ctx.out.json) ctx.out.data({ results: out });
        }),
      ),
    'trust signer add --key alice.pub alice registry.example.com/app',
  );

  example(
    signer
      .command('rotate')
      .description('rotate a signer\'s keys in one step: the new key joins, the old ones leave (and leave "releases"); signatures by a removed key stop counting')
      .argument('<signer>', 'signer (role) name')
      .argument('<repo...>', 'repositories')
      .requiredOption('--key <pub.pem|uri>', 'the new public key: file (SPKI PEM), pkcs11: URI or plugin:NAME:KEYREF; repeatable', collect)
      .option('--remove <keyid>', 'keyid (or a prefix of 8+ characters) of the signer to remove (default: every key of the signer but the new ones); repeatable', collect)
      .option('--threshold <n>', 'new threshold of the signer (default: its current one)', intOption('--threshold', 1))
      .action(
        kit.action(async (ctx: CliContext, opts, name: string, repos: string[]) => {
          checkOrder('rotate', name, repos);
          const keys = await readPublicKeys(ctx, opts.key as string[]);
          const admin = await ctx.admin();
          const out: unknown[] = [];
          for (const repo of repos) {
            const collection = ctx.repository(repo);
            const r = await rotateSigner(admin, {
              collection,
              name,
              keys,
              ...(opts.remove ? { remove: opts.remove as string[] } : {}),
              ...(opts.threshold !== undefined ? { threshold: opts.threshold as number } : {}),
            });
            ctx.reportTrust(r.trust);
            const x = r.rotation;
            out.push({ collection, signer: x.signer, keyidsAdded: x.keyidsAdded, keyidsRemoved: x.keyidsRemoved, keyids: x.keyids, threshold: x.threshold, releases: x.releases, version: r.version });
            const short = (ids: readonly string[]): string => ids.map((id) => id.slice(0, 12)).join(',') || 'none';
            ctx.out.text(`Rotated signer ${x.signer} of ${collection} (targets version ${r.version}): added ${short(x.keyidsAdded)}, removed ${short(x.keyidsRemoved)}, threshold ${x.threshold}`);
          }
          if (ctx.out.json) ctx.out.data({ results: out });
        }),
      ),
    'trust signer rotate --key alice-2026.pub alice registry.example.com/app',
  );

  example(
    signer
      .command('remove')
      .description('remove a signer; all its signatures stop counting')
      .argument('<signer>', 'signer (role) name')
      .argument('<repo...>', 'repositories')
      .action(
        kit.action(async (ctx: CliContext, _opts, name: string, repos: string[]) => {
          checkOrder('remove', name, repos);
          const admin = await ctx.admin();
          const out: unknown[] = [];
          for (const repo of repos) {
            const collection = ctx.repository(repo);
            const r = await removeSigner(admin, { collection, name });
            out.push({ collection, signer: name, version: r.version });
            ctx.out.text(`Removed signer ${name} from ${collection} (targets version ${r.version})`);
          }
          if (ctx.out.json) ctx.out.data({ results: out });
        }),
      ),
    'trust signer remove alice registry.example.com/app',
  );

  example(
    signer
      .command('list')
      .description('list the signers of a repository, from verified trust metadata')
      .argument('<repo>', 'repository')
      .option('--root <file>', 'pin this root metadata file (else the pinned root, or trust on first use)')
      .action(
        kit.action(async (ctx: CliContext, opts, repo: string) => {
          const collection = ctx.repository(repo);
          const root = opts.root ? await ctx.readInput(opts.root as string, 'root file') : undefined;
          const token = await ctx.token();
          const r = await listSigners({ home: ctx.home, keys: ctx.keys, serverUrl: ctx.serverUrl, ...(root ? { root } : {}), ...(token ? { token } : {}) }, collection);
          ctx.reportTrust(r.trust);
          if (ctx.out.json) {
            return void ctx.out.data({
              collection,
              version: r.version,
              expires: r.expires,
              signers: r.signers.map((s) => ({ name: s.name, threshold: s.threshold, keyids: s.keyids, paths: s.paths, terminating: s.terminating, localKeyids: s.localKeyids })),
            });
          }
          if (r.signers.length === 0) return void ctx.out.text(`${collection} has no signers (targets version ${r.version}); add one with \`trust signer add\``);
          ctx.out.result(
            table([
              ['SIGNER', 'THRESHOLD', 'KEYS', 'PATHS'],
              ...r.signers.map((s) => [
                s.name,
                String(s.threshold),
                s.keyids.map((k) => `${k.slice(0, 12)}${s.localKeyids.includes(k) ? '*' : ''}`).join(','),
                s.paths.join(' '),
              ]),
            ]),
          );
          ctx.out.text(ctx.out.style.dim(`targets version ${r.version}, expires ${r.expires}; * = key in the local key store`));
        }),
      ),
    'trust signer list registry.example.com/app -o json',
  );
}
