import type { Command } from 'commander';
import { OcitrustError } from '../../lib/errors/index.js';
import type { CliContext } from '../context.js';
import { example, type CommandKit } from '../program.js';

/** `trust whoami`: the token the CLI would send, as the server knows it. */
export function register(program: Command, kit: CommandKit): void {
  example(
    program
      .command('whoami')
      .description('show the token the CLI sends to the trust server (OCITRUST_TOKEN, --token-file or the stored login): its name, role, collection patterns and expiry, as the server knows them')
      .action(
        kit.action(async (ctx: CliContext) => {
          const token = await ctx.token();
          if (!token) throw new OcitrustError('AUTH_REQUIRED', `no token for ${ctx.serverUrl}: run \`trust login ${ctx.serverUrl}\`, or set OCITRUST_TOKEN or --token-file`);
          const who = await (await ctx.trustServer()).whoami();
          const source = ctx.tokenSource ?? 'the configuration';
          if (ctx.out.json) return void ctx.out.data({ server: ctx.serverUrl, source, token: who });
          ctx.out.text(`${who.name} (${who.id}) on ${ctx.serverUrl}: ${who.role} on ${who.patterns.join(', ')}; ${who.expiresAt ? `expires ${who.expiresAt}` : 'never expires'}; token from ${source}`);
        }),
      ),
    'trust whoami',
  );
}
