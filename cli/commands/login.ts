import type { Command } from 'commander';
import { OcitrustError } from '../../lib/errors/index.js';
import type { CliContext } from '../context.js';
import { example, type CommandKit } from '../program.js';
import { parseServerArg } from '../server-arg.js';

/** Largest token read from stdin. */
const MAX_TOKEN_BYTES = 64 * 1024;

/** The token to store: --token-file, else stdin (a no-echo prompt on a terminal). Never argv. */
async function readToken(ctx: CliContext): Promise<string> {
  if (ctx.globals.tokenFile) return (await ctx.readSecretFile(ctx.globals.tokenFile, '--token-file')).trim();
  const { canPrompt, promptHidden } = await import('../prompt.js');
  if (canPrompt(ctx.io)) return (await promptHidden(ctx.io, 'Token: ')).trim();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.io.stdin) {
    size += (chunk as Buffer).length;
    if (size > MAX_TOKEN_BYTES) throw new OcitrustError('CLI_USAGE', `token on stdin: expected at most ${MAX_TOKEN_BYTES} bytes, got more`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8').trim();
}

/** `trust login`: check a token with the trust server and store it for later commands. */
export function register(program: Command, kit: CommandKit): void {
  example(
    program
      .command('login')
      .description('store a trust server token for later commands (like docker login): read from --token-file or stdin, checked with the server, kept mode 0600 under the ocitrust home; OCITRUST_TOKEN and --token-file still win')
      .argument('[server]', 'trust server URL or HOST:PORT (default: --server, OCITRUST_SERVER, http://127.0.0.1:7443)')
      .action(
        kit.action(async (ctx: CliContext, _opts, server?: string) => {
          const url = server !== undefined ? parseServerArg(server) : ctx.serverUrl;
          const token = await readToken(ctx);
          if (token === '') throw new OcitrustError('CLI_USAGE', 'token: expected a token (ocit_…) on stdin or in --token-file, got nothing');
          const { TrustServerClient } = await import('../../lib/trust-client.js');
          const who = await new TrustServerClient(url, { token, tokenSource: ctx.globals.tokenFile ? `--token-file ${ctx.globals.tokenFile}` : 'stdin' }).whoami();
          const { writeLogin } = await import('../logins.js');
          const file = writeLogin(ctx.home.dir, url, token);
          if (ctx.out.json) return void ctx.out.data({ server: url, file, token: who });
          ctx.out.text(`Logged in to ${url} as ${who.name} (${who.role} on ${who.patterns.join(', ')}; ${who.expiresAt ? `expires ${who.expiresAt}` : 'never expires'}); token stored in ${file}`);
        }),
      ),
    'trust login http://127.0.0.1:7443 --token-file /var/lib/ocitrust/admin-token',
    'printf %s "$TOKEN" | trust login registry.example.com:7443',
  );
}
