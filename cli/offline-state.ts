/**
 * What every command asks about `--offline` (cli/offline-guard.ts) without loading the guard:
 * the mode a command line asks for, the installed guard's allowlist, allowing an image's
 * registry. The guard itself, which patches net, dns and dgram, is imported only under
 * `--offline`.
 */
import type { OfflineAllowlist } from './offline-allowlist.js';

/** The part of an installed guard the cheap questions need. */
interface ActiveGuard {
  readonly allowlist: OfflineAllowlist | undefined;
}

/** The guard of this process, while one is installed. */
let active: ActiveGuard | undefined;

/** The installed guard, if any. */
export function activeGuard(): ActiveGuard | undefined {
  return active;
}

/** Records the guard being installed (undefined when it is uninstalled); cli/offline-guard.ts only. */
export function setActiveGuard(g: ActiveGuard | undefined): void {
  active = g;
}

/**
 * What a command line asks for: `--offline` (before `--`) with a layout input (an
 * `oci-layout:` reference or `--layout`) → `'nothing'`; `--offline` otherwise →
 * `'registries'` (the registries of the images it verifies); no `--offline` → undefined.
 */
export function offlineGuardMode(argv: readonly string[]): 'nothing' | 'registries' | undefined {
  const end = argv.indexOf('--');
  const args = end < 0 ? argv : argv.slice(0, end);
  if (!args.includes('--offline')) return undefined;
  return args.some((a) => a.startsWith('oci-layout:') || a === '--layout' || a.startsWith('--layout=')) ? 'nothing' : 'registries';
}

/**
 * Allows the registry an image is read from while an `--offline` guard with an allowlist is
 * installed (a no-op otherwise, and for a layout input). The endpoint is the registry client's
 * own answer (`HttpRegistryClient#baseUrl`: `docker.io` → https://registry-1.docker.io, plain
 * HTTP for loopback or `--plain-http`), so the endpoint is exactly the one it dials.
 */
export function allowOfflineRegistry(registry: string, client: object): void {
  const list = active?.allowlist;
  const baseUrl = (client as { baseUrl?: unknown }).baseUrl;
  // A layout's client has no base URL: nothing to allow (a layout input allows nothing anyway).
  if (!list || typeof baseUrl !== 'function') return;
  list.addUrl(String(baseUrl.call(client, registry)), `registry of ${registry}`);
}

/** Whether an `--offline` guard with an allowlist (registry references) is installed. */
export function offlineAllowlistActive(): boolean {
  return active?.allowlist !== undefined;
}
