import { pathToFileURL } from 'node:url';
import { isOcitrustError } from '../lib/errors/index.js';
import { loadServerSettings } from './config/load.js';
import { serverOptionsFromSettings, startFromSettings } from './config/start.js';
import type { ServerOptions } from './main.js';

/**
 * Server options from the environment (`OCITRUST_*`), for library users and tests that start
 * the server in-process the way the container does. It is the same loader as `trust server`'s
 * (server/config/load.ts; the variables are listed in docs/cli.md, generated from
 * server/config/settings.ts), without flags.
 *
 * @throws OcitrustError SERVER_CONFIG_INVALID for a malformed value, naming the variable
 */
export async function serverOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<ServerOptions> {
  return serverOptionsFromSettings(loadServerSettings({ env }).settings);
}

/**
 * Runs the server from the environment (`node dist/server/run.js`: containers, process
 * supervisors, tests that need the server in its own process). Warnings about unknown
 * `OCITRUST_*` variables and the start line go to stderr; one JSON line `{"listening": url}`
 * goes to stdout once it listens. Exit code 2 or 3 on a start failure.
 */
export async function runFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  try {
    const s = await startFromSettings(loadServerSettings({ env }), { name: 'ocitrust server' });
    process.stdout.write(JSON.stringify({ listening: s.url }) + '\n');
  } catch (e) {
    const code = isOcitrustError(e) ? e.code : 'INTERNAL';
    process.stderr.write(JSON.stringify({ error: code, message: (e as Error).message }) + '\n');
    process.exitCode = isOcitrustError(e) ? e.exitCode : 3;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) void runFromEnv();
