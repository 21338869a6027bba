/**
 * What `--offline` lets a command reach (issue 17), as pure data: `host:port` pairs, each with
 * the reason it is allowed. The socket guard (cli/offline-guard.ts) asks it about every TCP
 * connect (`allowsConnect`) and every DNS query (`allowsLookup`: only the host names of
 * allowed entries resolve). Hosts are compared normalized: lowercase, no trailing dot, IPv6
 * without brackets and in its canonical text form (`0:0::1` → `::1`); a URL without a port
 * stands for its scheme's default (80 for http, 443 for https), as the HTTP client dials it.
 */

/** One allowed destination. */
export interface AllowedEndpoint {
  /** Normalized host (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
  /** Why (`registry of docker.io`, `token realm of ghcr.io`). */
  readonly why: string;
}

/**
 * Normalizes a host as written in a URL, a connect call or a DNS query.
 * @example normalizeHost('[0:0:0:0:0:0:0:1]') // '::1'
 */
export function normalizeHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.')) h = h.slice(0, -1);
  if (h.includes(':')) {
    // An IPv6 literal: the WHATWG URL parser prints the canonical (RFC 5952) form.
    try {
      return new URL(`http://[${h}]/`).hostname.slice(1, -1);
    } catch {
      return h;
    }
  }
  return h;
}

/** Formats `host:port`, bracketing IPv6. */
export function formatEndpoint(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * The endpoint a URL is dialled at: `https://registry-1.docker.io/v2/` → registry-1.docker.io:443.
 * @throws TypeError for a string that is not an http(s) URL
 */
export function endpointOfUrl(url: string): { host: string; port: number } {
  const u = new URL(url);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new TypeError(`not an http(s) URL: ${u.protocol}`);
  const port = u.port !== '' ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
  return { host: normalizeHost(u.hostname), port };
}

/** The allowlist: empty (nothing at all) until endpoints are added. */
export class OfflineAllowlist {
  readonly #entries: AllowedEndpoint[] = [];

  /** Entries in the order added. */
  get entries(): readonly AllowedEndpoint[] {
    return this.#entries;
  }

  /** Allows the endpoint of an http(s) URL; returns it. */
  addUrl(url: string, why: string): AllowedEndpoint {
    const { host, port } = endpointOfUrl(url);
    return this.add(host, port, why);
  }

  /** Allows `host:port` (idempotent: the first reason is kept). */
  add(host: string, port: number, why: string): AllowedEndpoint {
    const h = normalizeHost(host);
    const found = this.#entries.find((e) => e.host === h && e.port === port);
    if (found) return found;
    const e = { host: h, port, why };
    this.#entries.push(e);
    return e;
  }

  /** The entry allowing a connect to `host:port`, if any. */
  allowsConnect(host: string, port: number | string): AllowedEndpoint | undefined {
    const h = normalizeHost(host);
    const p = typeof port === 'number' ? port : /^[0-9]{1,5}$/.test(port) ? Number(port) : NaN;
    return this.#entries.find((e) => e.host === h && e.port === p);
  }

  /** Whether `name` may be resolved: it is the host of an allowed entry. */
  allowsLookup(name: string): boolean {
    const h = normalizeHost(name);
    return this.#entries.some((e) => e.host === h);
  }

  /** `host:port (why), …` or `nothing`, for messages. */
  describe(): string {
    return this.#entries.length === 0 ? 'nothing' : this.#entries.map((e) => `${formatEndpoint(e.host, e.port)} (${e.why})`).join(', ');
  }
}
