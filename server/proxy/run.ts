/**
 * Runs the trust server as a verifying proxy from the environment (containers, process
 * supervisors, tests that need the proxy in its own process): the same loader and the same
 * variables as `trust server` and server/run.ts (server/config/, listed in docs/cli.md), with
 * OCITRUST_PROXY_UPSTREAM required.
 *
 * Prints one JSON line `{"listening": url}` once it listens; exit code 2 or 3 on a start failure.
 */
import { pathToFileURL } from 'node:url';
import { OcitrustError, isOcitrustError } from '../../lib/errors/index.js';
import { loadServerSettings } from '../config/load.js';
import { startFromSettings } from '../config/start.js';

/** Starts the proxy from `env`; resolves with the running server. */
export async function runProxyFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<{ url: string; close(): Promise<void> }> {
  const loaded = loadServerSettings({ env });
  if (loaded.settings.proxyUpstream === undefined) throw new OcitrustError('SERVER_CONFIG_INVALID', 'OCITRUST_PROXY_UPSTREAM is not set: give the upstream registry URL');
  const s = await startFromSettings(loaded, { name: 'ocitrust proxy' });
  return { url: s.url, close: () => s.close() };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const s = await runProxyFromEnv();
    process.stdout.write(JSON.stringify({ listening: s.url }) + '\n');
  } catch (e) {
    process.stderr.write(JSON.stringify({ error: isOcitrustError(e) ? e.code : 'INTERNAL', message: (e as Error).message }) + '\n');
    process.exitCode = isOcitrustError(e) ? e.exitCode : 3;
  }
}
