/**
 * Runs the trust server as a verifying proxy from the environment (containers, process
 * supervisors, tests that need the proxy in its own process): the `OCITRUST_*` server
 * variables of server/run.ts plus
 *
 * OCITRUST_PROXY_UPSTREAM (required: the upstream registry URL), OCITRUST_PROXY_REGISTRY_NAME
 * (registry host in trust data; default the upstream's), OCITRUST_PROXY_POLICY (policy file),
 * OCITRUST_PROXY_UPSTREAM_AUTHORIZATION (Authorization sent upstream in place of an ocitrust
 * token), OCITRUST_NOTIFY_TOKEN (mounts POST /v1/registry/events with this bearer token).
 *
 * Prints one JSON line `{"listening": url}` once it listens; exit code 2 or 3 on a start failure.
 */
import { pathToFileURL } from 'node:url';
import { OcitrustError, isOcitrustError } from '../../lib/errors/index.js';
import { loadPolicyFile } from '../../lib/policy/load.js';
import { startServer } from '../main.js';
import { serverOptionsFromEnv } from '../run.js';
import { proxyServerPlugin } from './server-plugin.js';

/** Starts the proxy from `env`; resolves with the running server. */
export async function runProxyFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<{ url: string; close(): Promise<void> }> {
  const upstream = env.OCITRUST_PROXY_UPSTREAM;
  if (!upstream) throw new OcitrustError('SERVER_CONFIG_INVALID', 'OCITRUST_PROXY_UPSTREAM is not set: give the upstream registry URL');
  const policy = env.OCITRUST_PROXY_POLICY ? await loadPolicyFile(env.OCITRUST_PROXY_POLICY) : undefined;
  const plugin = proxyServerPlugin({
    upstream,
    ...(env.OCITRUST_PROXY_REGISTRY_NAME ? { registryName: env.OCITRUST_PROXY_REGISTRY_NAME } : {}),
    ...(policy ? { policy } : {}),
    ...(env.OCITRUST_PROXY_UPSTREAM_AUTHORIZATION ? { upstreamAuthorization: env.OCITRUST_PROXY_UPSTREAM_AUTHORIZATION } : {}),
    ...(env.OCITRUST_NOTIFY_TOKEN ? { notificationsToken: env.OCITRUST_NOTIFY_TOKEN } : {}),
  });
  const s = await startServer({ ...serverOptionsFromEnv(env), registry: false, plugins: [plugin] });
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
