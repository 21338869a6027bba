import type { Command } from 'commander';
import { Option } from 'commander';
import { OcitrustError } from '../../lib/errors/index.js';
import type { Policy } from '../../lib/policy/types.js';
import type { VerifyPolicyOptions, MultiArchMode } from '../../lib/verify/policy.js';
import { parsePlatform } from '../../lib/usecases/verify.js';
import type { CliContext } from '../context.js';
import { progressBar } from '../progress.js';
import { collect, example, intOption, type CommandKit } from '../program.js';
import { DEFAULT_CONCURRENCY, pool } from '../pool.js';
import { combinedExit, describeOutcome, type ImageOutcome, type VerifyOneOptions } from '../verify-outcome.js';
import { parseDuration } from '../duration.js';

/** `trust verify`: verify images before deploy (DESIGN §5). */
export function register(program: Command, kit: CommandKit): void {
  example(
    program
      .command('verify')
      .description('verify images: exit 0 when every image verifies, 1 when one does not, 3 when it could not be decided')
      .argument('<image...>', 'image references')
      .option('--policy <file>', 'policy file (docs/policy.md): rules, collections, pinned roots, required roles')
      .option('--root <file>', 'pin this root metadata file (else the pinned root, or trust on first use)')
      .option('--require <role>', 'this signer role must have signed (repeatable: all of them)', collect)
      .option('--bind-tag', 'signatures count for a tag only if they name that tag')
      .addOption(new Option('--multi-arch <mode>', 'for an index: which signatures are required').choices(['index', 'all-children', 'platform']))
      .option('--platform <os/arch>', 'with --multi-arch platform: the platform being deployed (default linux/amd64)')
      .option('--mirror-of <repo>', 'the images are copies of <repo>: verify them against its collection and signatures')
      .option('--collection <name>', 'trust collection (default: the image\'s repository; e.g. a prefix collection)')
      .option('--concurrency <n>', `images verified at once (default ${DEFAULT_CONCURRENCY})`, intOption('--concurrency', 1))
      .option('--notary-server <url>', 'verify Docker Content Trust (Notary v1) signatures from this Notary server instead of ocitrust\'s; needs --root (the repository\'s root certificate or root.json)')
      .option('--notary-delegation <name>', 'with --notary-server: this delegation must have signed the tag (repeatable; default targets/releases, as docker signs)', collect)
      .option('--notary-ca <file>', 'with --notary-server: the CA certificate(s) of the Notary server\'s TLS certificate (PEM)')
      .option('--offline', "do not contact the trust server: use the trust data persisted by an earlier run while it is unexpired; no network but the images' registries (none with a layout), enforced (docs/airgap.md)")
      .option('--bundle-max-age <duration>', 'oci-layout: images: admit a bundle whose timestamp expired at most this long ago (at most 30d; docs/airgap.md)')
      .action(
        kit.action(async (ctx: CliContext, opts, images: string[]) => {
          const flags: VerifyPolicyOptions = {
            ...(opts.require ? { requiredRoles: { allOf: opts.require as string[] } } : {}),
            ...(opts.bindTag ? { bindTag: true } : {}),
            ...(opts.multiArch ? { multiArch: opts.multiArch as MultiArchMode } : {}),
          };
          let policyFile: Policy | undefined;
          if (opts.policy) {
            if (Object.keys(flags).length > 0 || opts.root || opts.mirrorOf || opts.collection) {
              throw new OcitrustError('CLI_USAGE', '--policy sets roles, tag binding, multi-arch mode, remaps and roots per rule; do not combine it with --require, --bind-tag, --multi-arch, --mirror-of, --collection or --root');
            }
            const { loadPolicyFile } = await import('../../lib/policy/load.js');
            policyFile = await loadPolicyFile(ctx.path(opts.policy as string));
          }
          const notaryV1 = opts.notaryServer ? await notaryRule(ctx, opts) : undefined;
          if (!opts.notaryServer && (opts.notaryDelegation || opts.notaryCa)) throw new OcitrustError('CLI_USAGE', '--notary-delegation and --notary-ca need --notary-server');
          const root = opts.root && !notaryV1 ? await ctx.readInput(opts.root as string, 'root file') : undefined;
          const platform = opts.platform ? parsePlatform(opts.platform as string) : undefined;
          const outcomes: ImageOutcome[] = [];
          const bar = progressBar(ctx.io, 'verifying', ctx.out.quiet || images.length < 3);
          const one: VerifyOneOptions = { ...(policyFile ? { policyFile } : { flags }), ...(root ? { root } : {}), ...(platform ? { platform } : {}), ...(opts.mirrorOf ? { mirrorOf: opts.mirrorOf as string } : {}), ...(opts.collection ? { collection: ctx.repository(opts.collection as string) } : {}), ...(opts.offline ? { offline: true } : {}), ...(notaryV1 ? { notaryV1 } : {}) };
          // Loaded here: a command's registration stays cheap (cli/program.ts).
          const { verifyImage } = await import('../verify-image.js');
          const bundleMaxAge = opts.bundleMaxAge ? parseDuration(opts.bundleMaxAge as string, '--bundle-max-age') : undefined;
          let done = 0;
          try {
            // Results keep the command line's order; the trust metadata of a collection is
            // refreshed once and shared by every image in it (CliContext caches the opening).
            outcomes.push(...(await pool(images, (opts.concurrency as number | undefined) ?? DEFAULT_CONCURRENCY, (image) => verifyImage(ctx, image, { ...one, ...(bundleMaxAge !== undefined ? { bundleMaxAgeSeconds: bundleMaxAge } : {}) }), () => bar.update(++done, images.length))));
          } finally {
            bar.end();
          }
          if (ctx.out.json) ctx.out.data({ results: outcomes.map((o) => o.json) });
          else {
            for (const o of outcomes) {
              if (o.exit >= 2) {
                // Not a verdict: the image could not be checked. One line on stderr, like every error.
                const f = o.json.failures[0];
                ctx.io.stderr.write(`trust: ${f?.message.includes(o.json.reference) ? '' : `${o.json.reference}: `}${f ? `${f.message} [${f.code}]` : 'could not be verified'}\n`);
                continue;
              }
              const text = describeOutcome(o, ctx.out.style, !ctx.out.quiet);
              // A failure is a result: shown even with --quiet.
              if (o.exit === 0) ctx.out.text(text);
              else ctx.out.result(text);
            }
          }
          return combinedExit(outcomes);
        }),
      ),
    'trust verify registry.example.com/app:v1',
    'trust verify -o json --policy policy.yaml registry.example.com/app@sha256:…',
    'trust verify --mirror-of registry.example.com/app mirror.example.com/app:v1',
    'trust verify --notary-server https://notary.example.com --root team-app-root.crt registry.example.com/team/app:v1',
    'trust verify --offline oci-layout:images.tar:registry.example.com/app:v1',
  );
}

/** The `notaryV1` rule block the --notary-* flags make, validated by the scheme like a policy's. */
async function notaryRule(ctx: CliContext, opts: Record<string, any>): Promise<Record<string, unknown>> {
  if (!opts.root) throw new OcitrustError('CLI_USAGE', '--notary-server needs --root: the Notary repository\'s root certificate or root.json (Notary v1 data is never trusted on first use)');
  if (opts.policy || opts.mirrorOf || opts.require || opts.bindTag) throw new OcitrustError('CLI_USAGE', '--notary-server verifies Notary v1 signatures alone; do not combine it with --policy, --mirror-of, --require or --bind-tag');
  const { notaryV1Scheme } = await import('../../lib/notary/scheme.js');
  const raw = {
    server: opts.notaryServer as string,
    root: ctx.path(opts.root as string),
    ...(opts.notaryDelegation ? { requiredDelegations: opts.notaryDelegation as string[] } : {}),
    ...(opts.notaryCa ? { ca: ctx.path(opts.notaryCa as string) } : {}),
  };
  const problems: string[] = [];
  const config = notaryV1Scheme.validate(raw, '', { add: (ptr, m) => problems.push(`${ptr.replace(/^\//, '--').replace('requiredDelegations', 'notary-delegation').replace('server', 'notary-server')}: ${m}`) });
  if (!config) throw new OcitrustError('CLI_USAGE', problems.join('; '));
  return config as unknown as Record<string, unknown>;
}
