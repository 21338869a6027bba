import type { Command } from 'commander';
import { systemClock } from '../../lib/clock.js';
import { parseReference } from '../../lib/reference.js';
import { loadChoice, selectSigning, signImage, type SigningChoice } from '../../lib/usecases/sign.js';
import { isOcitrustError } from '../../lib/errors/index.js';
import type { Signer } from '../../lib/keys/signer.js';
import { isExternalKeyRef } from '../../lib/keys/external.js';
import type { ImageReference } from '../../lib/reference.js';
import { DEFAULT_CONCURRENCY, pool } from '../pool.js';
import type { CliContext } from '../context.js';
import { parseDuration } from '../duration.js';
import { progressBar } from '../progress.js';
import { example, intOption, type CommandKit } from '../program.js';

/** What signing one image came to, for the report. */
interface SignOutcome {
  readonly image: string;
  readonly result?: Awaited<ReturnType<typeof signImage>>;
  readonly error?: { code: string; message: string; exit: number };
  readonly short?: string;
}

/** `trust sign`: sign images as a delegated signer (DESIGN §4). */
export function register(program: Command, kit: CommandKit): void {
  example(
    program
      .command('sign')
      .description('sign images: a DSSE statement pushed to the registry as a referrer of each manifest')
      .argument('<image...>', 'image references (repository:tag or repository@digest)')
      .option('--signer <name>', 'the signer role to sign as (default: the one role your local keys can sign for)')
      .option('--key <name|uri>', 'the key to sign with (name, keyid or keyid prefix; or a pkcs11: URI / plugin:NAME:KEYREF, recorded in the key store)')
      .option('--recursive', 'also sign every child manifest of an index (multi-arch)')
      .option('--expires <duration>', 'signature lifetime, e.g. 90d, 1y (default: no expiry)')
      .option('--collection <name>', 'trust collection (default: the image\'s repository)')
      .option('--concurrency <n>', `images signed at once (default ${DEFAULT_CONCURRENCY})`, intOption('--concurrency', 1))
      .addHelpText('after', '\nAn oci-layout:PATH:REF reference signs the image inside a local layout (folder or .tar): the signature becomes a referrer there, and trust load pushes both together (docs/airgap.md).\n')
      .action(
        kit.action(async (ctx: CliContext, opts, images: string[]) => {
          // Every reference is checked before anything is signed: a typo in the 900th must not
          // leave 899 signed and a usage error.
          // oci-layout: references sign inside the layout, before any push (cli/layout-write.ts).
          const inLayout = images.some((i) => i.startsWith('oci-layout:')) ? await (await import('../layout-write.js')).openWritableLayout(ctx, images) : undefined;
          const refs = inLayout ? inLayout.refs : images.map((i) => parseReference(i));
          const expiresIn = opts.expires ? parseDuration(opts.expires as string, '--expires') : undefined;
          const now = systemClock.now();
          const expires = expiresIn !== undefined ? new Date(Math.floor(now.getTime() / 1000) * 1000 + expiresIn * 1000) : undefined;
          // A token or plugin key is recorded in the key store once, so that it is chosen by keyid like any other.
          const keyName = opts.key && isExternalKeyRef(opts.key as string) ? (await ctx.keys.addReference(opts.key as string)).name : (opts.key as string | undefined);
          const registry = inLayout ? inLayout.registry : await ctx.registry();
          // Keys are decrypted once per (role, keys), however many images they sign.
          const loaded = new Map<string, Promise<{ choice: SigningChoice; signers: Signer[] }>>();
          const prepare = async (ref: ImageReference): Promise<{ choice: SigningChoice; signers: Signer[] }> => {
            const trust = await ctx.openTrust(opts.collection ? ctx.repository(opts.collection as string) : ref.repository);
            const choice = await selectSigning(trust.refresh.trusted, ctx.keys, ref, {
              ...(opts.signer ? { signer: opts.signer as string } : {}),
              ...(keyName ? { key: keyName } : {}),
            });
            const key = JSON.stringify([choice.role, choice.keys.map((k) => k.keyid)]);
            let p = loaded.get(key);
            if (!p) {
              p = loadChoice(ctx.keys, choice, ctx.passphrase).then((signers) => ({ choice, signers }));
              loaded.set(key, p);
            }
            return p;
          };
          const signOne = async (ref: ImageReference, onProgress?: (d: number, t: number) => void): Promise<Awaited<ReturnType<typeof signImage>> & { short: string | undefined }> => {
            const { choice, signers } = await prepare(ref);
            const r = await signImage({
              reference: ref,
              registry,
              signer: signers,
              role: choice.role,
              recursive: opts.recursive === true,
              ...(expires ? { expires } : {}),
              ...(onProgress ? { onProgress } : {}),
            });
            const short = signers.length < choice.threshold ? `signer ${choice.role} needs ${choice.threshold} distinct keys; ${signers.length} signed here, the others must sign too` : undefined;
            return { ...r, short };
          };

          const bar = progressBar(ctx.io, 'signing', ctx.out.quiet);
          let outcomes: SignOutcome[];
          try {
            if (refs.length === 1) {
              // One image: its errors are the command's (exit code and message as always).
              const r = await signOne(refs[0]!, (d, t) => bar.update(d, t));
              outcomes = [{ image: images[0]!, result: r, ...(r.short ? { short: r.short } : {}) }];
            } else {
              let done = 0;
              outcomes = await pool(
                refs,
                (opts.concurrency as number | undefined) ?? DEFAULT_CONCURRENCY,
                async (ref, i): Promise<SignOutcome> => {
                  try {
                    const r = await signOne(ref);
                    return { image: images[i]!, result: r, ...(r.short ? { short: r.short } : {}) };
                  } catch (e) {
                    if (!isOcitrustError(e)) throw e;
                    return { image: images[i]!, error: { code: e.code, message: e.message, exit: e.exitCode } };
                  }
                },
                () => bar.update(++done, refs.length),
              );
            }
            await inLayout?.commit();
          } finally {
            bar.end();
            await inLayout?.close();
          }
          const how = (m: 'api' | 'fallback'): string => (m === 'api' ? 'referrers API' : 'tag fallback');
          const json = (r: NonNullable<SignOutcome['result']>) => ({
            reference: r.reference,
            digest: r.digest,
            role: r.role,
            keyids: r.keyids,
            signed: r.signed.map((s) => ({ digest: s.digest, mediaType: s.mediaType, ...(s.tag ? { tag: s.tag } : {}), signature: s.signature })),
          });
          if (ctx.out.json) {
            // One image: the documented object; several: {"results": [...]} with errors inline.
            if (refs.length === 1) ctx.out.data(json(outcomes[0]!.result!));
            else ctx.out.data({ results: outcomes.map((o) => (o.result ? json(o.result) : { reference: o.image, error: { code: o.error!.code, message: o.error!.message } })) });
          } else {
            for (const [i, o] of outcomes.entries()) {
              if (o.error) {
                // The reference once: most messages name it already.
                ctx.io.stderr.write(`trust: ${o.error.message.includes(o.image) ? '' : `${o.image}: `}${o.error.message} [${o.error.code}]\n`);
                continue;
              }
              const r = o.result!;
              const repo = refs[i]!.repository;
              // The reference as typed (tag included) leads each line: in a bulk run it is what
              // the user looks for; the child manifests of --recursive say whose children they are.
              for (const s of r.signed) {
                const what = s.digest === r.digest ? o.image : `${o.image} child`;
                // A result: kept with -q, as the documented "only results and errors".
                ctx.out.result(`Signed ${what} (${repo}@${s.digest}) as ${r.role} → ${s.signature.digest} (${how(s.signature.mode)})`);
              }
            }
          }
          for (const n of new Set(outcomes.map((o) => o.short).filter((x): x is string => x !== undefined))) ctx.out.notice(n);
          const failed = outcomes.filter((o) => o.error);
          if (refs.length > 1) ctx.out.notice(`${outcomes.length - failed.length} of ${outcomes.length} images signed${failed.length > 0 ? `; ${failed.length} failed` : ''}`);
          return failed.reduce((m, o) => Math.max(m, o.error!.exit), 0);
        }),
      ),
    'trust sign registry.example.com/app:v1',
    'trust sign --signer alice --recursive --expires 90d registry.example.com/app:v1',
    "trust --pin-file pin.txt sign --key 'pkcs11:token=ci;object=release?module-path=/usr/lib/softhsm/libsofthsm2.so' registry.example.com/app:v1",
    'trust sign --concurrency 16 registry.example.com/app:v1 registry.example.com/app:v2 registry.example.com/web:v7',
  );
}
