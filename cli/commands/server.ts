import { Option, type Command } from 'commander';
import { OcitrustError } from '../../lib/errors/index.js';
import type { FlagValues } from '../../server/config/load.js';
import { SETTINGS, type SettingSpec } from '../../server/config/settings.js';
import type { CliContext } from '../context.js';
import { parseDuration } from '../duration.js';
import { table } from '../output.js';
import { example, type CommandKit } from '../program.js';

/** The token roles (server/tokens.ts TOKEN_ROLES; not imported: it would load the server's storage). */
const TOKEN_ROLES: readonly string[] = ['reader', 'publisher', 'admin'];

/**
 * Where the server keeps its data, for the token commands: --data / --database, else
 * OCITRUST_DATA_DIR / OCITRUST_DATABASE, else <home>/server — through the server's own loader,
 * so that a token lands in the database the server with the same environment uses.
 */
async function storage(ctx: CliContext, opts: Record<string, unknown>, parent: Command): Promise<{ dataDir: string; database?: string }> {
  const { loadServerSettings } = await import('../../server/config/load.js');
  const flag = (k: 'data' | 'database'): string | undefined => (opts[k] ?? parent.opts()[k]) as string | undefined;
  const env = { OCITRUST_DATA_DIR: ctx.io.env.OCITRUST_DATA_DIR, OCITRUST_DATABASE: ctx.io.env.OCITRUST_DATABASE };
  const { settings } = loadServerSettings({ flags: { dataDir: flag('data'), database: flag('database') }, env, cwd: ctx.io.cwd, home: ctx.home.dir });
  return { dataDir: settings.dataDir, ...(settings.database !== undefined ? { database: settings.database } : {}) };
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

/** Help text of a setting: what it does, its variable and default (from the settings table). */
function settingHelp(spec: SettingSpec): string {
  const dflt = spec.defaultText ?? (spec.default === undefined ? undefined : String(spec.default));
  return `${spec.description} (env ${spec.env}${dflt !== undefined ? `; default ${dflt}` : ''})`;
}

/** Adds one option per row of the settings table (server/config/settings.ts): the flags are the table's. */
function addSettingOptions(cmd: Command): void {
  for (const spec of SETTINGS) {
    if (spec.type === 'bool') {
      // Both spellings, so that "not given" stays undefined and the environment can decide.
      cmd.addOption(new Option(spec.flag, settingHelp(spec)));
      cmd.addOption(new Option(`--no-${spec.flag.slice(2)}`, `turn ${spec.flag} off`));
    } else {
      cmd.addOption(new Option(`${spec.flag} ${spec.arg ?? '<value>'}`, settingHelp(spec)));
      for (const alias of spec.aliases ?? []) cmd.addOption(new Option(`${alias} ${spec.arg ?? '<value>'}`).hideHelp());
    }
  }
}

/** The flag values of `trust server`, keyed by setting ({@link FlagValues}), `--listen` split into host and port. */
function flagValues(opts: Record<string, unknown>): FlagValues {
  const out: Record<string, string | boolean | undefined> = {};
  const attr = (flag: string): string => new Option(flag).attributeName();
  for (const spec of SETTINGS) {
    let v = opts[attr(spec.flag)] as string | boolean | undefined;
    for (const alias of spec.aliases ?? []) {
      const a = opts[attr(alias)] as string | undefined;
      if (a === undefined) continue;
      if (v !== undefined) throw new OcitrustError('CLI_USAGE', `${alias} and ${spec.flag} are the same setting: give one`);
      v = a;
    }
    out[spec.key] = v;
  }
  if (opts.listen !== undefined) {
    if (out.host !== undefined || out.port !== undefined) throw new OcitrustError('CLI_USAGE', '--listen sets --host and --port: give either --listen or --host/--port');
    const { host, port } = parseListen(opts.listen as string);
    if (host !== undefined) out.host = host;
    out.port = String(port);
  }
  return out as FlagValues;
}

/** `trust server`: run the trust server (with the embedded registry), and administer its tokens. */
export function register(program: Command, kit: CommandKit): void {
  const server = program
    .command('server')
    .description('run the trust server: TUF trust data per collection, publishing, tokens, audit, embedded OCI registry; every setting is a flag and an OCITRUST_* variable (flag wins)')
    .option('--listen <addr>', 'HOST:PORT, [IPv6]:PORT, :PORT or PORT: --host and --port in one (default 127.0.0.1:7443)');
  addSettingOptions(server);
  server.action(
    kit.action(async (ctx: CliContext, opts) => {
      const { loadServerSettings } = await import('../../server/config/load.js');
      const { startFromSettings } = await import('../../server/config/start.js');
      const loaded = loadServerSettings({ flags: flagValues(opts as Record<string, unknown>), env: ctx.io.env, cwd: ctx.io.cwd, home: ctx.home.dir });
      const s = await startFromSettings(loaded, { stderr: ctx.io.stderr });
      if (ctx.out.json) ctx.out.data({ listening: s.url, data: loaded.settings.dataDir });
    }),
  );
  example(server, 'trust server --data /var/lib/ocitrust --listen 127.0.0.1:7443', 'OCITRUST_ALLOW_IPS=10.0.0.0/8 trust server --listen 0.0.0.0:7443 --tls-cert tls.crt --tls-key tls.key', 'trust server token create --role admin --collections "**"');

  const token = example(
    server.command('token').description('administer the server\'s bearer tokens (directly in its database)'),
    'trust server token create --role publisher --collections "registry.example.com/team/*"',
    'trust server token list',
  );
  const db = (c: Command): Command =>
    c
      .option('--data <dir>', 'the server\'s data folder (env OCITRUST_DATA_DIR, default <home>/server)')
      .option('--database <url>', 'postgres://… URL or SQLite file (env OCITRUST_DATABASE, default <data>/ocitrust.db)');

  example(
    db(
      token
        .command('create')
        .description('create a token and print its secret (shown once)')
        .requiredOption('--role <role>', 'reader, publisher or admin')
        .requiredOption('--collections <patterns>', 'comma-separated collection patterns, e.g. "registry.example.com/team/*" or "**"')
        .option('--name <label>', 'label shown in the audit log')
        .option('--expires <duration>', 'lifetime, e.g. 30d, 12h, 1y (as for trust sign), or an expiry time YYYY-MM-DDTHH:MM:SSZ'),
    ).action(
      kit.action(async (ctx: CliContext, opts) => {
        const role = opts.role as string;
        if (!TOKEN_ROLES.includes(role)) throw new OcitrustError('CLI_USAGE', `--role: expected ${TOKEN_ROLES.join(', ')}, got ${JSON.stringify(role.slice(0, 40))}`);
        // One duration syntax everywhere (trust sign --expires 90d); an absolute time still works.
        const expires = opts.expires === undefined ? undefined : /^\d{4}-/.test(opts.expires as string) ? (opts.expires as string) : new Date(Date.now() + parseDuration(opts.expires as string, '--expires') * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
        const { tokenCommand } = await import('../../server/token-command.js');
        const r = await tokenCommand({
          action: 'create',
          ...(await storage(ctx, opts, server)),
          role: opts.role as string,
          collections: opts.collections as string,
          ...(opts.name ? { name: opts.name as string } : {}),
          ...(expires ? { expires } : {}),
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
        const r = await tokenCommand({ action: 'list', ...(await storage(ctx, opts, server)) });
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
        const r = await tokenCommand({ action: 'revoke', id, ...(await storage(ctx, opts, server)) });
        if (r.action !== 'revoke') return 3;
        if (ctx.out.json) return void ctx.out.data({ token: r.token });
        ctx.out.text(`Revoked token ${r.token.id}`);
      }),
    ),
    'trust server token revoke tok_0123456789abcdef',
  );
}
