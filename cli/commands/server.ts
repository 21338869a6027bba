import { join } from 'node:path';
import type { Command } from 'commander';
import { OcitrustError } from '../../lib/errors/index.js';
import type { CliContext } from '../context.js';
import { table } from '../output.js';
import { example, type CommandKit } from '../program.js';

/** The server's data folder: --data, else OCITRUST_DATA_DIR, else <home>/server. */
function dataDir(ctx: CliContext, opt: string | undefined): string {
  if (opt) return ctx.path(opt);
  if (ctx.io.env.OCITRUST_DATA_DIR) return ctx.path(ctx.io.env.OCITRUST_DATA_DIR);
  return join(ctx.home.dir, 'server');
}

/**
 * Parses `--listen`: `HOST:PORT`, `[IPv6]:PORT`, `:PORT` or `PORT`.
 * @throws CLI_USAGE
 */
export function parseListen(s: string): { host?: string; port: number } {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):)?([0-9]{1,5})$/.exec(s);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new OcitrustError('CLI_USAGE', `--listen: expected HOST:PORT (e.g. 127.0.0.1:7443), got ${JSON.stringify(s.slice(0, 60))}`);
  const host = m[1] ? m[1].replace(/^\[|\]$/g, '') : undefined;
  return { ...(host ? { host } : {}), port };
}

/** Webhook settings: the flag, else OCITRUST_WEBHOOK_* (server/webhooks/options.ts). */
async function webhookSettings(env: NodeJS.ProcessEnv, allowPrivate: boolean): Promise<{ webhooks?: object }> {
  const { webhookOptionsFromEnv } = await import('../../server/webhooks/options.js');
  const fromEnv = webhookOptionsFromEnv(env);
  const w = { ...(fromEnv ?? {}), ...(allowPrivate ? { allowPrivate: true } : {}) };
  return Object.keys(w).length ? { webhooks: w } : {};
}

/** `trust server`: run the trust server (with the embedded registry), and administer its tokens. */
export function register(program: Command, kit: CommandKit): void {
  const server = program
    .command('server')
    .description('run the trust server: TUF trust data per collection, publishing, tokens, audit, embedded OCI registry')
    .option('--data <dir>', 'data folder: SQLite database, registry blobs, server secret (env OCITRUST_DATA_DIR, default <home>/server)')
    .option('--listen <addr>', 'address to listen on', '127.0.0.1:7443')
    .option('--database <url>', 'postgres://… URL or SQLite file (default <data>/ocitrust.db)')
    .option('--no-registry', 'do not serve the embedded OCI registry at /v2/')
    .option('--no-anonymous-read', 'require a token for reads too')
    .option('--tls-cert <file>', 'PEM certificate chain: serve HTTPS')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option('--log-level <level>', 'fatal, error, warn, info, debug (env OCITRUST_LOG_LEVEL)', undefined)
    .option('--admission-policy <file>', 'serve the Kubernetes admission webhooks /admission/validate and /admission/mutate with this policy file (docs/admission.md; env OCITRUST_ADMISSION_POLICY)')
    .option('--proxy-upstream <url>', 'serve /v2/ as a verifying proxy in front of this registry instead of the embedded registry (docs/proxy.md; env OCITRUST_PROXY_UPSTREAM)')
    .option('--proxy-registry-name <host>', 'registry host that trust data names the proxied repositories under (default: the upstream host:port)')
    .option('--policy <file>', 'with --proxy-upstream: the policy file (docs/policy.md); default: enforce every repository that has a trust collection on this server')
    .option('--notifications-token-file <file>', 'with --proxy-upstream: accept the upstream\'s notification events at POST /v1/registry/events with the bearer token in this file')
    .option('--webhook-allow-private', 'let webhooks call private, link-local and loopback addresses (env OCITRUST_WEBHOOK_ALLOW_PRIVATE; loopback is allowed anyway when listening only on loopback)')
    .option('--admission-timeout <seconds>', 'the webhook configurations\' timeoutSeconds, 1-30 (env OCITRUST_ADMISSION_TIMEOUT_SECONDS, default 10); the server answers within 80 % of it')
    .action(
      kit.action(async (ctx: CliContext, opts) => {
        const { host, port } = parseListen(opts.listen as string);
        const { startServer } = await import('../../server/main.js');
        const data = dataDir(ctx, (opts.data ?? server.opts().data) as string | undefined);
        const admissionPolicy = (opts.admissionPolicy as string | undefined) ?? (ctx.io.env.OCITRUST_ADMISSION_POLICY || undefined);
        const timeoutText = (opts.admissionTimeout as string | undefined) ?? (ctx.io.env.OCITRUST_ADMISSION_TIMEOUT_SECONDS || undefined);
        const admissionTimeout = timeoutText === undefined ? undefined : Number(timeoutText);
        if (admissionTimeout !== undefined && !(Number.isInteger(admissionTimeout) && admissionTimeout >= 1 && admissionTimeout <= 30)) {
          throw new OcitrustError('CLI_USAGE', `--admission-timeout: expected whole seconds from 1 to 30, got ${JSON.stringify(String(timeoutText).slice(0, 20))}`);
        }
        if (admissionTimeout !== undefined && !admissionPolicy) throw new OcitrustError('CLI_USAGE', '--admission-timeout needs --admission-policy');
        const upstream = (opts.proxyUpstream as string | undefined) ?? (ctx.io.env.OCITRUST_PROXY_UPSTREAM || undefined);
        if (!upstream && (opts.policy || opts.proxyRegistryName || opts.notificationsTokenFile)) {
          throw new OcitrustError('CLI_USAGE', '--policy, --proxy-registry-name and --notifications-token-file need --proxy-upstream');
        }
        const plugins = [];
        if (upstream) {
          const { proxyServerPlugin } = await import('../../server/proxy/server-plugin.js');
          const { loadPolicyFile } = await import('../../lib/policy/load.js');
          const { readFile } = await import('node:fs/promises');
          const policy = opts.policy ? await loadPolicyFile(ctx.path(opts.policy as string)) : undefined;
          let notificationsToken: string | undefined;
          if (opts.notificationsTokenFile) {
            notificationsToken = (await readFile(ctx.path(opts.notificationsTokenFile as string), 'utf8').catch((e: unknown) => {
              throw new OcitrustError('CLI_INPUT_UNREADABLE', `--notifications-token-file: ${(e as Error).message}`);
            })).trim();
          }
          plugins.push(
            proxyServerPlugin({
              upstream,
              ...(opts.proxyRegistryName ? { registryName: opts.proxyRegistryName as string } : {}),
              ...(policy ? { policy } : {}),
              ...(notificationsToken ? { notificationsToken } : {}),
            }),
          );
        }
        const s = await startServer({
          ...(plugins.length ? { plugins } : {}),
          dataDir: data,
          port,
          host: host ?? '127.0.0.1',
          registry: opts.registry !== false && !upstream,
          anonymousRead: opts.anonymousRead !== false,
          logger: { level: (opts.logLevel as string | undefined) ?? ctx.io.env.OCITRUST_LOG_LEVEL ?? 'info' },
          ...((opts.database ?? server.opts().database) ? { database: (opts.database ?? server.opts().database) as string } : {}),
          ...(opts.tlsCert ? { tlsCert: ctx.path(opts.tlsCert as string) } : {}),
          ...(opts.tlsKey ? { tlsKey: ctx.path(opts.tlsKey as string) } : {}),
          ...(await webhookSettings(ctx.io.env, opts.webhookAllowPrivate === true)),
          ...(admissionPolicy ? { admission: { policy: ctx.path(admissionPolicy), ...(admissionTimeout !== undefined ? { timeoutSeconds: admissionTimeout } : {}) } } : {}),
        });
        if (ctx.out.json) ctx.out.data({ listening: s.url, data });
        else ctx.io.stderr.write(`trust server listening on ${s.url} (data ${data})\n`);
      }),
    );
  example(server, 'trust server --data /var/lib/ocitrust --listen 127.0.0.1:7443', 'trust server token create --role admin --collections "**"');

  const token = example(
    server.command('token').description('administer the server\'s bearer tokens (directly in its database)'),
    'trust server token create --role publisher --collections "registry.example.com/team/*"',
    'trust server token list',
  );
  const db = (c: Command): Command =>
    c
      .option('--data <dir>', 'the server\'s data folder (env OCITRUST_DATA_DIR, default <home>/server)')
      .option('--database <url>', 'postgres://… URL or SQLite file (default <data>/ocitrust.db)');

  example(
    db(
      token
        .command('create')
        .description('create a token and print its secret (shown once)')
        .requiredOption('--role <role>', 'reader, publisher or admin')
        .requiredOption('--collections <patterns>', 'comma-separated collection patterns, e.g. "registry.example.com/team/*" or "**"')
        .option('--name <label>', 'label shown in the audit log')
        .option('--expires <time>', 'expiry, YYYY-MM-DDTHH:MM:SSZ'),
    ).action(
      kit.action(async (ctx: CliContext, opts) => {
        const { tokenCommand } = await import('../../server/token-command.js');
        const r = await tokenCommand({
          action: 'create',
          dataDir: dataDir(ctx, (opts.data ?? server.opts().data) as string | undefined),
          ...((opts.database ?? server.opts().database) ? { database: (opts.database ?? server.opts().database) as string } : {}),
          role: opts.role as string,
          collections: opts.collections as string,
          ...(opts.name ? { name: opts.name as string } : {}),
          ...(opts.expires ? { expires: opts.expires as string } : {}),
        });
        if (r.action !== 'create') return 3;
        if (ctx.out.json) return void ctx.out.data({ secret: r.secret, token: r.token });
        ctx.out.notice(`Created token ${r.token.id} (${r.token.role} on ${r.token.patterns.join(', ')}); use it as OCITRUST_TOKEN or with --token-file`);
        ctx.out.result(r.secret);
      }),
    ),
    'export OCITRUST_TOKEN=$(trust server token create --role publisher --collections "registry.example.com/team/*")',
  );

  example(
    db(token.command('list').description('list tokens (never their secrets)')).action(
      kit.action(async (ctx: CliContext, opts) => {
        const { tokenCommand } = await import('../../server/token-command.js');
        const r = await tokenCommand({ action: 'list', dataDir: dataDir(ctx, (opts.data ?? server.opts().data) as string | undefined), ...((opts.database ?? server.opts().database) ? { database: (opts.database ?? server.opts().database) as string } : {}) });
        if (r.action !== 'list') return 3;
        if (ctx.out.json) return void ctx.out.data({ tokens: r.tokens });
        ctx.out.result(
          table([
            ['ID', 'NAME', 'ROLE', 'COLLECTIONS', 'EXPIRES', 'REVOKED'],
            ...r.tokens.map((t) => [t.id, t.name || '-', t.role, t.patterns.join(','), t.expiresAt ?? '-', t.revokedAt ?? '-']),
          ]),
        );
      }),
    ),
    'trust server token list',
  );

  example(
    db(token.command('revoke').description('revoke a token').argument('<id>', 'token id (tok_…)')).action(
      kit.action(async (ctx: CliContext, opts, id: string) => {
        const { tokenCommand } = await import('../../server/token-command.js');
        const r = await tokenCommand({ action: 'revoke', id, dataDir: dataDir(ctx, (opts.data ?? server.opts().data) as string | undefined), ...((opts.database ?? server.opts().database) ? { database: (opts.database ?? server.opts().database) as string } : {}) });
        if (r.action !== 'revoke') return 3;
        if (ctx.out.json) return void ctx.out.data({ token: r.token });
        ctx.out.text(`Revoked token ${r.token.id}`);
      }),
    ),
    'trust server token revoke tok_0123456789abcdef',
  );
}
