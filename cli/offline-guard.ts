/**
 * The `--offline` guarantee for layout inputs (issue 17): no network access at all, enforced at
 * the socket level rather than trusted to every code path. While installed, every TCP/IPC
 * connect (`net.Socket#connect`, which http, https, tls and fetch all end in), every UDP send
 * or bind and every DNS lookup fails with OFFLINE_NETWORK_ATTEMPT, and is recorded; the CLI
 * then exits 3 naming the first attempt, whatever the command made of the failure (a fetch
 * error wrapped as "unreachable" must not pass as a normal offline answer).
 */
import dgram from 'node:dgram';
import dns from 'node:dns';
import net from 'node:net';
import { syncBuiltinESMExports } from 'node:module';
import { OcitrustError } from '../lib/errors/index.js';

/** An installed guard. */
export interface OfflineGuard {
  /** What was attempted (`connect 127.0.0.1:5000`, `lookup example.com`), in order. */
  readonly attempts: readonly string[];
  /** Restores the original functions. */
  uninstall(): void;
}

function refused(what: string): OcitrustError {
  return new OcitrustError('OFFLINE_NETWORK_ATTEMPT', `--offline: refused a network access (${what}); nothing may use the network in offline mode`);
}

function describeConnect(args: unknown[]): string {
  const a = args[0];
  if (Array.isArray(a)) return describeConnect(a);
  if (typeof a === 'object' && a !== null) {
    const o = a as { host?: unknown; port?: unknown; path?: unknown };
    if (typeof o.path === 'string') return `connect ${o.path}`;
    return `connect ${String(o.host ?? 'localhost')}:${String(o.port ?? '')}`;
  }
  if (typeof a === 'string' && !/^\d+$/.test(a)) return `connect ${a}`;
  return `connect ${typeof args[1] === 'string' ? args[1] : 'localhost'}:${String(a)}`;
}

/**
 * Installs the guard for this process.
 * @example const g = installOfflineGuard(); try { await run(); } finally { g.uninstall(); }
 */
export function installOfflineGuard(): OfflineGuard {
  const attempts: string[] = [];
  const restore: (() => void)[] = [];
  const patch = <T extends object>(obj: T, key: string, make: (orig: unknown) => unknown): void => {
    const rec = obj as Record<string, unknown>;
    const orig = rec[key];
    if (typeof orig !== 'function') return;
    rec[key] = make(orig);
    restore.push(() => {
      rec[key] = orig;
    });
  };

  patch(net.Socket.prototype, 'connect', () =>
    function (this: net.Socket, ...args: unknown[]) {
      const what = describeConnect(args);
      attempts.push(what);
      // Failed the way a refused connection fails: asynchronously, with an 'error' event.
      process.nextTick(() => this.destroy(refused(what)));
      return this;
    },
  );
  for (const key of ['send', 'bind', 'connect']) {
    patch(dgram.Socket.prototype, key, () =>
      function (this: dgram.Socket) {
        const what = `udp ${key}`;
        attempts.push(what);
        throw refused(what);
      },
    );
  }
  const dnsKeys = ['lookup', 'lookupService', 'resolve', 'resolve4', 'resolve6', 'resolveAny', 'resolveCname', 'resolveMx', 'resolveNs', 'resolveTxt', 'resolveSrv', 'resolvePtr', 'resolveNaptr', 'resolveSoa', 'resolveCaa', 'reverse'];
  for (const key of dnsKeys) {
    patch(dns, key, () =>
      function (...args: unknown[]) {
        const what = `${key} ${String(args[0])}`;
        attempts.push(what);
        const cb = args[args.length - 1];
        if (typeof cb === 'function') {
          process.nextTick(() => (cb as (e: Error) => void)(refused(what)));
          return undefined;
        }
        throw refused(what);
      },
    );
    patch(dns.promises, key, () =>
      async function (...args: unknown[]) {
        const what = `${key} ${String(args[0])}`;
        attempts.push(what);
        throw refused(what);
      },
    );
    for (const proto of [dns.Resolver.prototype, dns.promises.Resolver.prototype]) {
      patch(proto, key, () =>
        function (...args: unknown[]) {
          const what = `${key} ${String(args[0])}`;
          attempts.push(what);
          throw refused(what);
        },
      );
    }
  }
  // Named ESM imports of the built-ins (`import { lookup } from 'node:dns'`) see the patches too.
  syncBuiltinESMExports();
  return {
    attempts,
    uninstall() {
      for (const r of restore.reverse()) r();
      restore.length = 0;
      syncBuiltinESMExports();
    },
  };
}

/**
 * Whether a command line asks for the guard: `--offline` with a layout input (an
 * `oci-layout:` reference or `--layout`). `--offline` with registry references keeps its
 * meaning of 0.x — no trust server contact, the registry still read (docs/airgap.md).
 */
export function wantsOfflineGuard(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  const args = end < 0 ? argv : argv.slice(0, end);
  if (!args.includes('--offline')) return false;
  return args.some((a) => a.startsWith('oci-layout:') || a === '--layout' || a.startsWith('--layout='));
}

/** The error to report when the guard saw attempts. */
export function offlineViolation(g: OfflineGuard): OcitrustError | undefined {
  if (g.attempts.length === 0) return undefined;
  return new OcitrustError('OFFLINE_NETWORK_ATTEMPT', `--offline: refused ${g.attempts.length} network access(es), first: ${g.attempts[0]}; the result is not an offline answer`);
}
