import type { Command } from 'commander';
import { OcitrustError } from '../../lib/errors/index.js';
import type { CliContext } from '../context.js';
import { table } from '../output.js';
import { example, type CommandKit } from '../program.js';

interface SubscriptionView {
  id: string;
  url: string;
  events: string[];
  collections: string[];
  format: string;
  secrets: number;
  createdAt: string;
}

interface DeliveryView {
  id: number;
  eventId: string;
  subscriptionId: string;
  type: string;
  collection: string | null;
  status: string;
  attempts: number;
  createdAt: string;
  nextAttemptAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
}

const ID_RE = /^whk_[0-9a-f]{16}$/;

function checkId(id: string): string {
  if (!ID_RE.test(id)) throw new OcitrustError('CLI_USAGE', `expected a subscription id like whk_0123456789abcdef, got ${JSON.stringify(id.slice(0, 40))}`);
  return id;
}

/** The secrets in a secret file: one, or two during a rotation (new first), one per line. */
async function secretsFrom(ctx: CliContext, file: string): Promise<string[]> {
  const text = await ctx.readSecretFile(file, '--secret-file');
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0 && !l.startsWith('#'));
}

/**
 * `trust server webhook …`: webhook subscriptions over the server's admin API (an admin token
 * on every collection: OCITRUST_TOKEN or --token-file; --server or OCITRUST_SERVER).
 */
export function register(program: Command, kit: CommandKit): void {
  const server = program.commands.find((c) => c.name() === 'server');
  if (!server) return;
  const webhook = example(
    server.command('webhook').description('send trust events (signers, keys, revocations, signatures, denials) to CI/CD and chat as signed webhooks (docs/webhooks.md)'),
    'trust server webhook add --url https://ci.example.com/hooks/ocitrust --secret-file hook.secret',
    'trust server webhook deliveries --dead',
  );

  example(
    webhook
      .command('add')
      .description('subscribe a URL (prints the subscription id)')
      .requiredOption('--url <url>', 'receiver URL (http or https; private addresses are refused unless the server allows them)')
      .option('--events <list>', 'comma-separated events, e.g. signer.added,signature.revoked (default: every event)')
      .option('--collections <patterns>', 'comma-separated collection patterns, e.g. "registry.example.com/team/*" (default: every collection)')
      .option('--format <format>', 'cloudevents (default), slack or chat')
      .requiredOption('--secret-file <file>', 'file holding the Standard Webhooks secret (whsec_…); two lines during a rotation'),
    'trust server webhook add --url https://hooks.slack.com/services/T0/B0/X --format slack --events admission.denied,proxy.denied --secret-file hook.secret',
  ).action(
    kit.action(async (ctx: CliContext, opts) => {
      const secrets = await secretsFrom(ctx, opts.secretFile as string);
      const body: Record<string, unknown> = { url: opts.url as string, secrets };
      if (opts.events !== undefined) body.events = String(opts.events).split(',').map((x) => x.trim());
      if (opts.collections !== undefined) body.collections = String(opts.collections).split(',').map((s) => s.trim()).filter(Boolean);
      if (opts.format !== undefined) body.format = opts.format as string;
      const s = (await (await ctx.trustServer()).api('POST', '/v1/webhooks', body)) as SubscriptionView;
      if (ctx.out.json) return void ctx.out.data({ subscription: s });
      ctx.out.notice(`Subscribed ${s.url} to ${s.events.join(',')} on ${s.collections.join(',')} (${s.format})`);
      ctx.out.result(s.id);
    }),
  );

  example(
    webhook.command('list').description('list subscriptions (never their secrets)'),
    'trust server webhook list',
  ).action(
    kit.action(async (ctx: CliContext) => {
      const r = (await (await ctx.trustServer()).api('GET', '/v1/webhooks')) as { subscriptions: SubscriptionView[] };
      if (ctx.out.json) return void ctx.out.data(r);
      ctx.out.result(table([['ID', 'URL', 'EVENTS', 'COLLECTIONS', 'FORMAT', 'SECRETS'], ...r.subscriptions.map((s) => [s.id, s.url, s.events.join(','), s.collections.join(','), s.format, String(s.secrets)])]));
    }),
  );

  example(
    webhook.command('remove').description('remove a subscription and its undelivered events').argument('<id>', 'subscription id (whk_…)'),
    'trust server webhook remove whk_0123456789abcdef',
  ).action(
    kit.action(async (ctx: CliContext, _opts, id: string) => {
      const s = (await (await ctx.trustServer()).api('DELETE', `/v1/webhooks/${checkId(id)}`)) as SubscriptionView;
      if (ctx.out.json) return void ctx.out.data({ subscription: s });
      ctx.out.text(`Removed webhook ${s.id} (${s.url})`);
    }),
  );

  example(
    webhook.command('test').description('queue a signed dev.ocitrust.webhook.test event for one subscription').argument('<id>', 'subscription id (whk_…)'),
    'trust server webhook test whk_0123456789abcdef',
  ).action(
    kit.action(async (ctx: CliContext, _opts, id: string) => {
      const r = (await (await ctx.trustServer()).api('POST', `/v1/webhooks/${checkId(id)}/test`, {})) as { eventId: string };
      if (ctx.out.json) return void ctx.out.data(r);
      ctx.out.notice('Queued a test event; see it with trust server webhook deliveries');
      ctx.out.result(r.eventId);
    }),
  );

  example(
    webhook
      .command('rotate')
      .description('replace the signing secrets: give the new and the old secret (two lines) while receivers switch, then the new one alone')
      .argument('<id>', 'subscription id (whk_…)')
      .requiredOption('--secret-file <file>', 'file with the new secret, and the old one on a second line during the switch'),
    'trust server webhook rotate whk_0123456789abcdef --secret-file both.secret',
  ).action(
    kit.action(async (ctx: CliContext, opts, id: string) => {
      const secrets = await secretsFrom(ctx, opts.secretFile as string);
      const s = (await (await ctx.trustServer()).api('PUT', `/v1/webhooks/${checkId(id)}/secrets`, { secrets })) as SubscriptionView;
      if (ctx.out.json) return void ctx.out.data({ subscription: s });
      ctx.out.text(`Webhook ${s.id} now signs with ${s.secrets} secret(s)`);
    }),
  );

  example(
    webhook
      .command('deliveries')
      .description('list deliveries, newest first; --dead shows the dead-letter list')
      .option('--subscription <id>', 'only this subscription')
      .option('--dead', 'only deliveries parked after failing for the whole retry window')
      .option('--status <status>', 'pending, delivered or dead')
      .option('--limit <n>', '1-1000 (default 100)'),
    'trust server webhook deliveries --dead',
  ).action(
    kit.action(async (ctx: CliContext, opts) => {
      const q = new URLSearchParams();
      if (opts.subscription) q.set('subscription', checkId(opts.subscription as string));
      const status = opts.dead ? 'dead' : (opts.status as string | undefined);
      if (status !== undefined) {
        if (!['pending', 'delivered', 'dead'].includes(status)) throw new OcitrustError('CLI_USAGE', `--status: expected pending, delivered or dead, got ${JSON.stringify(status.slice(0, 20))}`);
        q.set('status', status);
      }
      if (opts.limit !== undefined) {
        if (!/^[0-9]{1,4}$/.test(String(opts.limit)) || Number(opts.limit) < 1 || Number(opts.limit) > 1000) throw new OcitrustError('CLI_USAGE', `--limit: expected an integer from 1 to 1000, got ${JSON.stringify(String(opts.limit).slice(0, 20))}`);
        q.set('limit', String(opts.limit));
      }
      const qs = q.toString();
      const r = (await (await ctx.trustServer()).api('GET', `/v1/webhooks/deliveries${qs ? `?${qs}` : ''}`)) as { deliveries: DeliveryView[] };
      if (ctx.out.json) return void ctx.out.data(r);
      ctx.out.result(
        table([
          ['ID', 'EVENT', 'TYPE', 'COLLECTION', 'SUBSCRIPTION', 'STATUS', 'ATTEMPTS', 'LAST ERROR'],
          ...r.deliveries.map((d) => [String(d.id), d.eventId, d.type.replace(/^dev\.ocitrust\./, ''), d.collection ?? '-', d.subscriptionId, d.status, String(d.attempts), (d.lastError ?? '-').slice(0, 80)]),
        ]),
      );
    }),
  );

  example(
    webhook
      .command('redeliver')
      .description('resend parked (dead) deliveries with the same event id: one by id, or all of a subscription')
      .argument('[delivery-id]', 'delivery id (a number from webhook deliveries)')
      .option('--subscription <id>', 'every dead delivery of this subscription'),
    'trust server webhook redeliver 42',
    'trust server webhook redeliver --subscription whk_0123456789abcdef',
  ).action(
    kit.action(async (ctx: CliContext, opts, id: string | undefined) => {
      if ((id === undefined) === (opts.subscription === undefined)) throw new OcitrustError('CLI_USAGE', 'redeliver: expected a delivery id or --subscription, got ' + (id === undefined ? 'neither' : 'both'));
      if (id !== undefined && !/^[1-9][0-9]{0,15}$/.test(id)) throw new OcitrustError('CLI_USAGE', `delivery id: expected a positive integer, got ${JSON.stringify(id.slice(0, 20))}`);
      const body = id !== undefined ? { id: Number(id) } : { subscription: checkId(opts.subscription as string) };
      const r = (await (await ctx.trustServer()).api('POST', '/v1/webhooks/deliveries/redeliver', body)) as { requeued: number };
      if (ctx.out.json) return void ctx.out.data(r);
      ctx.out.text(`Requeued ${r.requeued} delivery(ies)`);
    }),
  );
}
