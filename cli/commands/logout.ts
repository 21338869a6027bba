import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { example, type CommandKit } from '../program.js';
import { parseServerArg } from '../server-arg.js';

/** `trust logout`: forget the token `trust login` stored for a server. */
export function register(program: Command, kit: CommandKit): void {
  example(
    program
      .command('logout')
      .description('remove the token `trust login` stored for a trust server (the token itself stays valid: revoke it with `trust server token revoke`)')
      .argument('[server]', 'trust server URL or HOST:PORT (default: --server, OCITRUST_SERVER, http://127.0.0.1:7443)')
      .action(
        kit.action(async (ctx: CliContext, _opts, server?: string) => {
          const url = server !== undefined ? parseServerArg(server) : ctx.serverUrl;
          const { removeLogin } = await import('../logins.js');
          const removed = removeLogin(ctx.home.dir, url);
          if (ctx.out.json) return void ctx.out.data({ server: url, removed });
          ctx.out.text(removed ? `Logged out of ${url}` : `Not logged in to ${url}: nothing to remove`);
        }),
      ),
    'trust logout http://127.0.0.1:7443',
  );
}
