import type { Command } from 'commander';
import { OcitrustError } from '../../lib/errors/index.js';
import { parseReference } from '../../lib/reference.js';
import type { Policy } from '../../lib/policy/types.js';
import type { CliContext } from '../context.js';
import { table } from '../output.js';
import { progressBar } from '../progress.js';
import { example, type CommandKit } from '../program.js';
import { combinedExit, describeOutcome, verifyOne, type ImageOutcome } from '../verify-outcome.js';
import { pool } from '../pool.js';

/** Reads stdin to the end, bounded. */
async function readStdin(ctx: CliContext, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of ctx.io.stdin) {
    const b = Buffer.isBuffer(c) ? c : Buffer.from(String(c));
    n += b.length;
    if (n > max) throw new OcitrustError('INPUT_TOO_LARGE', `stdin: more than ${max} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** `trust verify-manifests`: every image of Kubernetes YAML, verified before deploy (DESIGN §8). */
export function register(program: Command, kit: CommandKit): void {
  example(
    program
      .command('verify-manifests')
      .description('find every container image in Kubernetes YAML (files or stdin) and verify each under the policy')
      .argument('[file...]', 'YAML files (default, or "-": stdin)')
      .option('--policy <file>', 'policy file (docs/policy.md); without it every image is verified against its own repository\'s collection')
      .option('--list', 'only list the images found and where, without verifying')
      .option('--pin', 'print the YAML with every verified image pinned to its digest (for kubectl apply)')
      .option('--offline', "do not contact the trust server: use the trust data persisted by an earlier run while it is unexpired; no network but the images' registries (none with a layout), enforced (docs/airgap.md)")
      .option('--layout <path>', 'verify from this OCI image layout (folder or .tar written by trust save) and its trust data, not from registries (docs/airgap.md)')
      .option('--bundle-max-age <duration>', 'with --layout: admit a bundle whose timestamp expired at most this long ago (at most 30d)')
      .action(
        kit.action(async (ctx: CliContext, opts, files: string[]) => {
          const { scanManifests, pinManifests, MAX_MANIFEST_BYTES } = await import('../../hook/manifests.js');
          const { pinnedReference } = await import('../../hook/images.js');
          if (opts.pin && ctx.out.json) throw new OcitrustError('CLI_USAGE', '--pin prints YAML; it cannot be combined with -o json');
          if (opts.pin && opts.list) throw new OcitrustError('CLI_USAGE', '--pin and --list exclude each other');
          const inputs: { file: string; text: string }[] = [];
          for (const f of files.length === 0 ? ['-'] : files) {
            const text = f === '-' ? await readStdin(ctx, MAX_MANIFEST_BYTES) : Buffer.from(await ctx.readInput(f, 'manifest file', MAX_MANIFEST_BYTES)).toString('utf8');
            inputs.push({ file: f, text });
          }
          const found = inputs.flatMap((i) => scanManifests(i.text, { file: i.file }));

          if (opts.list) {
            if (ctx.out.json) {
              return void ctx.out.data({
                images: found.map((o) => ({
                  file: o.file,
                  ...(o.kind !== undefined ? { kind: o.kind } : {}),
                  ...(o.name !== undefined ? { name: o.name } : {}),
                  ...(o.namespace !== undefined ? { namespace: o.namespace } : {}),
                  path: o.path,
                  ...(o.container !== undefined ? { container: o.container } : {}),
                  image: o.image,
                  ...(o.reference !== undefined ? { reference: o.reference } : {}),
                  ...(o.error ? { error: o.error } : {}),
                  ...(o.line !== undefined ? { line: o.line } : {}),
                })),
              });
            }
            return void ctx.out.result(
              table([
                ['FILE', 'OBJECT', 'PATH', 'IMAGE'],
                ...found.map((o) => [o.file, `${o.kind ?? '?'}/${o.name ?? '?'}`, o.path, o.error ? `${o.image} (invalid: ${o.error.message})` : (o.reference ?? o.image)]),
              ]),
            );
          }

          let policyFile: Policy | undefined;
          if (opts.policy) {
            const { loadPolicyFile } = await import('../../lib/policy/load.js');
            policyFile = await loadPolicyFile(ctx.path(opts.policy as string));
          }
          // With --layout, images are looked up by name in the layout and verified against its trust bundles.
          const vctx = opts.layout
            ? await (await import('../layout-context.js')).layoutContext(ctx, opts.layout as string, opts.bundleMaxAge ? { bundleMaxAgeSeconds: (await import('../duration.js')).parseDuration(opts.bundleMaxAge as string, '--bundle-max-age') } : {})
            : ctx;
          // Each distinct image, as written, is verified once.
          const distinct = [...new Set(found.map((o) => o.image))];
          const bar = progressBar(ctx.io, 'verifying', ctx.out.quiet || distinct.length < 3);
          let outcomes: ImageOutcome[];
          let done = 0;
          try {
            outcomes = await pool(
              distinct,
              4,
              async (image) => {
                try {
                  return await verifyOne(vctx, parseReference(image), { ...(policyFile ? { policyFile } : {}), ...(opts.offline ? { offline: true } : {}) });
                } catch (e) {
                  if (!(e instanceof OcitrustError)) throw e;
                  return { json: { reference: image, digest: '', verified: false, signatures: [], failures: [{ code: e.code, message: e.message }] }, exit: e.exitCode } as ImageOutcome;
                }
              },
              () => bar.update(++done, distinct.length),
            );
          } finally {
            bar.end();
          }
          const byImage = new Map(distinct.map((img, i) => [img, outcomes[i]!]));
          const placesOf = (img: string) =>
            found.filter((o) => o.image === img).map((o) => ({ file: o.file, ...(o.kind ? { kind: o.kind } : {}), ...(o.name ? { name: o.name } : {}), path: o.path, ...(o.line ? { line: o.line } : {}) }));
          const exit = combinedExit(outcomes);

          if (ctx.out.json) {
            ctx.out.data({ results: distinct.map((img) => ({ image: img, ...byImage.get(img)!.json, places: placesOf(img) })) });
            return exit;
          }
          // With --pin, stdout carries the YAML; the verdicts go to stderr.
          const say = (s: string, failed: boolean, error: boolean): void => {
            if (opts.pin || error) ctx.io.stderr.write(s + '\n');
            else if (failed) ctx.out.result(s);
            else ctx.out.text(s);
          };
          for (const img of distinct) {
            const o = byImage.get(img)!;
            const where = placesOf(img).map((p) => `    at ${p.kind ?? '?'}/${p.name ?? '?'}: ${p.path} (${p.file}${p.line ? `:${p.line}` : ''})`);
            say([describeOutcome(o, opts.pin ? ctx.out.errStyle : ctx.out.style, !ctx.out.quiet), ...where].join('\n'), o.exit !== 0, o.exit >= 2);
          }
          if (opts.pin) {
            if (exit !== 0) {
              ctx.io.stderr.write('trust: not every image verified; no YAML written\n');
              return exit;
            }
            const pins = new Map<string, string>();
            for (const img of distinct) {
              const j = byImage.get(img)!.json;
              if (j.verified && j.digest) pins.set(img, pinnedReference(img, j.digest));
            }
            ctx.io.stdout.write(inputs.map((i) => pinManifests(i.text, pins, { file: i.file })).join(inputs.length > 1 ? '\n---\n' : ''));
          }
          return exit;
        }),
      ),
    'helm template ./chart | trust verify-manifests --policy policy.yaml --pin | kubectl apply -f -',
    'trust verify-manifests --list -o json deploy.yaml',
  );
}
