import type { Command } from 'commander';
import { parseReference } from '../../lib/reference.js';
import { inspectReference, type InspectedSignature } from '../../lib/usecases/inspect.js';
import { formatPlatform } from '../../lib/usecases/verify.js';
import type { CliContext } from '../context.js';
import { table } from '../output.js';
import { example, type CommandKit } from '../program.js';

function sigRows(sigs: readonly InspectedSignature[]): string[][] {
  return sigs.map((s) => [
    `${s.manifestDigest.slice(0, 19)}…`,
    s.role ?? '?',
    (s.keyids[0] ?? '').slice(0, 12),
    s.signedAt ?? '',
    s.counts ? 'counts' : `does not count: ${s.failures[0]?.code ?? ''}`,
  ]);
}

/** `trust inspect`: signatures and trust data of an image. */
export function register(program: Command, kit: CommandKit): void {
  example(
    program
      .command('inspect')
      .description('show an image, every signature stored for it and the signers of its collection (JSON, or text with --pretty)')
      .argument('<image>', 'image reference')
      .option('--pretty', 'human-readable text instead of JSON')
      .option('--root <file>', 'pin this root metadata file (else the pinned root, or trust on first use)')
      .option('--collection <name>', 'trust collection (default: the image\'s repository)')
      .option('--offline', "do not contact the trust server: use the trust data persisted by an earlier run while it is unexpired; no network but the images' registries (none with a layout), enforced (docs/airgap.md)")
      .option('--bundle-max-age <duration>', 'oci-layout: images: admit a bundle whose timestamp expired at most this long ago (at most 30d; docs/airgap.md)')
      .action(
        kit.action(async (outer: CliContext, opts, image: string) => {
          let ctx = outer;
          let ref;
          if (image.startsWith('oci-layout:')) {
            // From a layout: its registry and its trust bundle (cli/layout-context.ts).
            const { resolveInLayout } = await import('../layout-context.js');
            const r = await resolveInLayout(outer, image, opts.bundleMaxAge ? { bundleMaxAgeSeconds: (await import('../duration.js')).parseDuration(opts.bundleMaxAge as string, '--bundle-max-age') } : {});
            ctx = r.ctx;
            ref = r.reference;
          } else {
            ref = parseReference(image);
            // `--offline`: this image's registry is the one place inspect may reach (cli/offline-guard.ts).
            (await import('../offline-state.js')).allowOfflineRegistry(ref.registry, await ctx.registry());
          }
          const root = opts.root ? await ctx.readInput(opts.root as string, 'root file') : undefined;
          const collection = opts.collection ? ctx.repository(opts.collection as string) : ref.repository;
          const trust = await ctx.openTrust(collection, { ...(root ? { root } : {}), ...(opts.offline ? { offline: true } : {}) });
          const i = await inspectReference({
            reference: ref,
            registry: await ctx.registry(),
            collection,
            metadata: { root: trust.refresh.metadata.root.signed, targets: trust.refresh.metadata.targets.signed },
          });
          if (!opts.pretty || ctx.out.json) return void ctx.out.data(i);
          const s = ctx.out.style;
          let text = `${s.bold('Image')}  ${i.reference}\n${s.bold('Type')}   ${i.mediaType} (${i.size} bytes)\n\n`;
          text += i.signatures.length === 0 ? 'No signatures.\n' : table([['SIGNATURE', 'SIGNER', 'KEY', 'SIGNED AT', 'STATUS'], ...sigRows(i.signatures)]);
          if (i.otherSignatures.length > 0) {
            text += `\n${s.bold('Other formats')} (as they claim; a policy rule decides whether they count: trust verify --policy)\n`;
            text += table([['FORMAT', 'ARTIFACT', 'SIGNER', 'LOGGED AT'], ...i.otherSignatures.map((x) => [
              x.format,
              `${x.manifestDigest.slice(0, 19)}…`,
              x.problem ? `unreadable: ${x.problem}` : x.identity?.subject ? `${x.identity.subject}${x.identity.issuer ? ` (${x.identity.issuer})` : ''}` : x.keyHint ? `key ${x.keyHint}` : 'key',
              x.loggedAt ?? '',
            ])]);
          }
          for (const c of i.children ?? []) {
            text += `\n${s.bold(c.platform ? formatPlatform(c.platform) : 'child')} ${c.digest}\n`;
            text += c.signatures.length === 0 ? '  no signatures\n' : table([['SIGNATURE', 'SIGNER', 'KEY', 'SIGNED AT', 'STATUS'], ...sigRows(c.signatures)]);
          }
          const t = i.trust;
          text += `\n${s.bold('Signers')} of ${t.collection} (targets version ${t.targetsVersion}, expires ${t.targetsExpires})\n`;
          text += t.signers.length === 0 ? 'none\n' : table([['SIGNER', 'THRESHOLD', 'KEYS'], ...t.signers.map((x) => [x.name, String(x.threshold), x.keyids.map((k) => k.slice(0, 12)).join(',')])]);
          text += `\n${s.bold('Administrative keys')} (root version ${t.rootVersion})\n`;
          text += table([
            ['root', t.rootKeyids.map((k) => k.slice(0, 12)).join(',')],
            ['targets', t.targetsKeyids.map((k) => k.slice(0, 12)).join(',')],
          ]);
          const revs = t.revocations.filter((r) => r.digest === i.digest);
          if (revs.length > 0) text += `\n${s.bold('Revoked')}: ${revs.map((r) => `${r.role ?? 'all roles'}${r.signature ? ` signature by key ${r.signature.key.slice(0, 12)} over ${r.signature.pae.slice(0, 19)}…` : ''}${r.envelope ? ` envelope ${r.envelope.slice(0, 19)}…` : ''}: ${r.reason}`).join('; ')}\n`;
          ctx.out.result(text);
        }),
      ),
    'trust inspect --pretty registry.example.com/app:v1',
    'trust inspect --offline oci-layout:images.tar:registry.example.com/app:v1',
  );
}
