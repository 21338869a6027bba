import type { Command } from 'commander';
import { Option } from 'commander';
import { OcitrustError } from '../../lib/errors/index.js';
import { normalizeRepository, parseReference, type ImageReference } from '../../lib/reference.js';
import type { Policy } from '../../lib/policy/types.js';
import type { VerifyPolicyOptions, MultiArchMode } from '../../lib/verify/policy.js';
import { parsePlatform, verifyReference, formatPlatform, type ReferenceVerification } from '../../lib/usecases/verify.js';
import { planUnderPolicy, ruleRootBytes } from '../../lib/usecases/policy-verify.js';
import type { CliContext } from '../context.js';
import type { Style } from '../output.js';
import { progressBar } from '../progress.js';
import { collect, example, intOption, type CommandKit } from '../program.js';
import { DEFAULT_CONCURRENCY, pool } from '../pool.js';

/** One entry of `verify -o json` (`{"results":[…]}`). */
export interface VerifyJson {
  reference: string;
  digest: string;
  verified: boolean;
  signatures: { role: string; keyid: string; signedAt: string }[];
  failures: { code: string; message: string }[];
  children?: (VerifyJson & { platform?: string })[];
  /** With --policy: the rule's mode when it is not enforce (`warn`, `skip`), or `unmatched`. */
  policy?: { rule?: string; mode: 'enforce' | 'warn' | 'skip' | 'unmatched-allow' | 'deny' };
}

/** What one image came to: its JSON entry and how it bears on the exit code. */
export interface ImageOutcome {
  readonly json: VerifyJson;
  /** 0 verified (or not enforced), 1 failed, 2 input error, 3 could not decide. */
  readonly exit: 0 | 1 | 2 | 3;
}

/** The verifier's result in the documented JSON shape. */
export function toJson(r: ReferenceVerification): VerifyJson {
  return {
    reference: r.reference,
    digest: r.digest,
    verified: r.verified,
    signatures: r.signatures.map((s) => ({ role: s.role, keyid: s.keyid, signedAt: s.signedAt })),
    failures: r.failures.map((f) => ({ code: f.code, message: f.message })),
    ...(r.children ? { children: r.children.map((c) => ({ ...toJson(c), ...(c.platform ? { platform: formatPlatform(c.platform) } : {}) })) } : {}),
  };
}

/** The failure that explains a verdict best: a specific one before the NO_SIGNATURES summary. */
export function mainReason(failures: readonly { code: string; message: string }[]): { code: string; message: string } | undefined {
  return failures.find((f) => f.code !== 'NO_SIGNATURES' && f.code !== 'CHILD_NOT_VERIFIED') ?? failures[0];
}

/** Options of {@link verifyOne}. */
export interface VerifyOneOptions {
  readonly policyFile?: Policy;
  readonly flags?: VerifyPolicyOptions;
  readonly root?: Uint8Array;
  readonly platform?: ReturnType<typeof parsePlatform>;
  /** Verify a mirror (or copy) as the original repository: its collection, its statements. */
  readonly mirrorOf?: string;
  /** The trust collection (default: the image's repository). */
  readonly collection?: string;
  /** `--offline`: verify against the persisted trust data without contacting the trust server. */
  readonly offline?: boolean;
}

/**
 * Verifies one image for `trust verify` and `trust verify-manifests`: plans under the policy
 * file when there is one, opens the collection's trust, verifies. Errors become outcomes with
 * their exit code, so one unreachable registry does not hide the other images' verdicts.
 */
export async function verifyOne(ctx: CliContext, image: string | ImageReference, o: VerifyOneOptions): Promise<ImageOutcome> {
  const shown = typeof image === 'string' ? image : `${image.repository}${image.tag ? `:${image.tag}` : ''}${image.digest ? `@${image.digest}` : ''}`;
  try {
    const ref = typeof image === 'string' ? parseReference(image) : image;
    let collection = o.collection ?? ref.repository;
    let server: string | undefined;
    let root = o.root;
    let policy: VerifyPolicyOptions = o.flags ?? {};
    let mode: 'enforce' | 'warn' = 'enforce';
    let rule: string | undefined;
    let maxCacheAgeSeconds: number | undefined;
    if (o.policyFile) {
      const plan = planUnderPolicy(o.policyFile, ref);
      if (plan.kind === 'deny') return { json: { ...toJson(plan.result), policy: { mode: 'deny' } }, exit: 1 };
      if (plan.kind === 'skip' || plan.kind === 'allow-unmatched') {
        const json: VerifyJson = {
          reference: shown,
          digest: ref.digest ?? '',
          verified: false,
          signatures: [],
          failures: [],
          policy: plan.kind === 'skip' ? { rule: plan.rule, mode: 'skip' } : { mode: 'unmatched-allow' },
        };
        return { json, exit: 0 };
      }
      collection = plan.options.collection;
      server = plan.options.server;
      root = ruleRootBytes(plan.options) ?? root;
      policy = plan.options.verify;
      mode = plan.mode;
      rule = plan.rule;
      maxCacheAgeSeconds = plan.options.trustMaxAgeSeconds;
    } else if (o.mirrorOf !== undefined) {
      // Statements name the original repository; the policy maps this one back to it explicitly.
      const original = normalizeRepository(o.mirrorOf);
      collection = o.collection ?? original;
      policy = { ...policy, identityRemap: { from: ref.repository, to: original } };
    }
    const r = await verifyReference({
      reference: ref,
      registry: await ctx.registry(),
      trust: {
        refresh: async () =>
          (
            await ctx.openTrust(collection, {
              ...(root ? { root } : {}),
              ...(server ? { server } : {}),
              ...(o.offline ? { offline: true } : {}),
              ...(maxCacheAgeSeconds !== undefined ? { maxCacheAgeSeconds } : {}),
            })
          ).refresh,
      },
      policy,
      ...(o.platform ? { platform: o.platform } : {}),
    });
    const json = toJson(r);
    if (o.policyFile) json.policy = { ...(rule ? { rule } : {}), mode };
    return { json, exit: r.verified || mode === 'warn' ? 0 : 1 };
  } catch (e) {
    if (!(e instanceof OcitrustError)) throw e;
    return {
      json: { reference: shown, digest: '', verified: false, signatures: [], failures: [{ code: e.code, message: e.message }] },
      exit: e.exitCode === 1 ? 1 : e.exitCode,
    };
  }
}

/** The exit code of many outcomes: could not decide (3) over input errors (2) over failures (1). */
export function combinedExit(outcomes: readonly ImageOutcome[]): number {
  for (const c of [3, 2, 1] as const) if (outcomes.some((o) => o.exit === c)) return c;
  return 0;
}

/** Text lines for one outcome. */
export function describeOutcome(o: ImageOutcome, s: Style, verbose: boolean): string {
  const j = o.json;
  const lines: string[] = [];
  const name = j.digest && !j.reference.includes('@') ? `${j.reference}@${j.digest}` : j.reference;
  if (j.policy?.mode === 'skip' || j.policy?.mode === 'unmatched-allow') {
    lines.push(`${s.dim('-')} ${name}  ${s.dim(j.policy.mode === 'skip' ? `not verified: rule ${j.policy.rule ?? ''} skips it` : 'not verified: no rule matches and the policy allows it')}`);
    return lines.join('\n');
  }
  if (o.exit >= 2) {
    const f = j.failures[0];
    lines.push(`${s.red('✗')} ${name}  ${s.red('could not be verified')}: ${f ? `${f.message} [${f.code}]` : 'no reason given'}`);
    return lines.join('\n');
  }
  if (j.verified) {
    const who = j.signatures.map((x) => `${x.role} (${x.keyid.slice(0, 12)}, ${x.signedAt || 'no time'})`).join(', ');
    lines.push(`${s.green('✓')} ${name}  ${s.green('verified')}  ${who}`);
  } else {
    const why = mainReason(j.failures);
    const warn = j.policy?.mode === 'warn' ? s.yellow(' (warn mode: not enforced)') : '';
    lines.push(`${s.red('✗')} ${name}  ${s.red('NOT verified')}${warn}: ${why ? `${why.message} [${why.code}]` : 'no reason given'}`);
  }
  if (verbose) {
    const main = j.verified ? undefined : mainReason(j.failures);
    for (const f of j.failures) if (f !== main) lines.push(`    ${s.dim(`${f.code}: ${f.message}`)}`);
  }
  for (const c of j.children ?? []) {
    const label = c.platform ?? c.digest;
    if (c.verified) lines.push(`    ${s.green('✓')} ${label} ${c.digest}  signed by ${c.signatures.map((x) => x.role).join(', ')}`);
    else lines.push(`    ${s.red('✗')} ${label} ${c.digest}  ${mainReason(c.failures)?.code ?? 'not verified'}`);
  }
  return lines.join('\n');
}

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
      .option('--offline', 'do not contact the trust server: use the trust data persisted by an earlier run while it is unexpired (docs/failure-modes.md)')
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
          const root = opts.root ? await ctx.readInput(opts.root as string, 'root file') : undefined;
          const platform = opts.platform ? parsePlatform(opts.platform as string) : undefined;
          const outcomes: ImageOutcome[] = [];
          const bar = progressBar(ctx.io, 'verifying', ctx.out.quiet || images.length < 3);
          const one: VerifyOneOptions = { ...(policyFile ? { policyFile } : { flags }), ...(root ? { root } : {}), ...(platform ? { platform } : {}), ...(opts.mirrorOf ? { mirrorOf: opts.mirrorOf as string } : {}), ...(opts.collection ? { collection: ctx.repository(opts.collection as string) } : {}), ...(opts.offline ? { offline: true } : {}) };
          let done = 0;
          try {
            // Results keep the command line's order; the trust metadata of a collection is
            // refreshed once and shared by every image in it (CliContext caches the opening).
            outcomes.push(...(await pool(images, (opts.concurrency as number | undefined) ?? DEFAULT_CONCURRENCY, (image) => verifyOne(ctx, image, one), () => bar.update(++done, images.length))));
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
  );
}
