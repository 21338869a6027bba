/**
 * SSRF protection for webhook URLs: which URLs are acceptable at all, and which resolved
 * addresses the server may connect to. The check runs when a subscription is made and again on
 * every delivery against the address actually connected to (the DNS answer may change).
 */
import { lookup as dnsLookup } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { OcitrustError } from '../../lib/errors/index.js';

/** Longest webhook URL accepted. */
export const MAX_URL_LENGTH = 2048;

const internal = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.0.0.0', 24],
  ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24],
  ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) internal.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [['::', 128], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8], ['2001:db8::', 32], ['100::', 64]] as const) internal.addSubnet(net, bits, 'ipv6');
const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** Which internal addresses a server may call. */
export interface AddressPolicy {
  /** Every address, private ones included (`--webhook-allow-private`). */
  readonly allowPrivate: boolean;
  /** Loopback addresses (the server itself listens only on loopback). */
  readonly allowLoopback: () => boolean;
}

/** The IPv4 address embedded in an IPv4-mapped/-translated IPv6 address, if any. */
function embeddedV4(a: string): string | null {
  const m = /^(?:::ffff:|::ffff:0:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  if (m) return m[1]!;
  const h = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(a);
  if (!h) return null;
  const hi = parseInt(h[1]!, 16);
  const lo = parseInt(h[2]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** `loopback`, `internal` or `public` for an IP address literal. */
export function classify(address: string): 'loopback' | 'internal' | 'public' {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const v4 = isIP(bare) === 6 ? embeddedV4(bare) : null;
  const a = v4 ?? bare;
  const type = isIP(a) === 4 ? 'ipv4' : 'ipv6';
  if (isIP(a) === 0) return 'internal';
  if (loopback.check(a, type)) return 'loopback';
  return internal.check(a, type) ? 'internal' : 'public';
}

/**
 * Throws unless `address` may be called under `policy`.
 * @throws OcitrustError WEBHOOK_ADDRESS_REFUSED
 */
export function checkAddress(address: string, policy: AddressPolicy, what: string): void {
  const c = classify(address);
  if (c === 'public' || policy.allowPrivate || (c === 'loopback' && policy.allowLoopback())) return;
  throw new OcitrustError(
    'WEBHOOK_ADDRESS_REFUSED',
    `${what}: expected a public address, got ${c} address ${address}; internal receivers need --webhook-allow-private (OCITRUST_WEBHOOK_ALLOW_PRIVATE=true)${c === 'loopback' ? ', or a server listening only on loopback' : ''}`,
  );
}

/**
 * Parses and checks a webhook URL's form: absolute http(s), no user info, at most
 * {@link MAX_URL_LENGTH} characters. Returns the normalized URL (fragment dropped).
 * @throws OcitrustError WEBHOOK_URL_INVALID
 */
export function parseWebhookUrl(s: unknown): URL {
  const bad = (why: string): never => {
    throw new OcitrustError('WEBHOOK_URL_INVALID', `url: expected an absolute http(s) URL without credentials, got ${typeof s === 'string' ? JSON.stringify(s.slice(0, 120)) : typeof s} (${why})`);
  };
  if (typeof s !== 'string' || s.length === 0) return bad('empty');
  if (s.length > MAX_URL_LENGTH) return bad(`longer than ${MAX_URL_LENGTH} characters`);
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return bad('not a URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return bad(`scheme ${u.protocol}`);
  if (u.username || u.password) return bad('user info in the URL');
  if (!u.hostname) return bad('no host');
  u.hash = '';
  return u;
}

/**
 * Resolves the URL's host (all addresses, within 5 s) and checks each; an IP literal is checked
 * as is. A name that does not resolve (yet) passes: deliveries resolve again and retry.
 * @throws OcitrustError WEBHOOK_ADDRESS_REFUSED
 */
export async function checkUrlAddresses(u: URL, policy: AddressPolicy): Promise<void> {
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) return checkAddress(host, policy, `url ${u.host}`);
  if (policy.allowPrivate) return;
  let timer: NodeJS.Timeout | undefined;
  const addrs = await Promise.race([
    new Promise<{ address: string }[]>((resolve) => dnsLookup(host, { all: true, verbatim: true }, (err, a) => resolve(err ? [] : a))),
    new Promise<{ address: string }[]>((resolve) => (timer = setTimeout(() => resolve([]), 5000))),
  ]).finally(() => clearTimeout(timer));
  for (const a of addrs) checkAddress(a.address, policy, `url host ${host}`);
}

/**
 * A `lookup` for node:http that refuses to connect to an address the policy forbids, so the
 * address checked is the one connected to (no DNS-rebinding window between check and connect).
 */
export function guardedLookup(policy: AddressPolicy): LookupFunction {
  return ((hostname: string, options: object, callback: (err: Error | null, address?: unknown, family?: number) => void) => {
    dnsLookup(hostname, { ...(options as object), all: true, verbatim: true }, (err, addrs) => {
      if (err) return callback(err);
      try {
        for (const a of addrs) checkAddress(a.address, policy, `host ${hostname}`);
      } catch (e) {
        return callback(e as Error);
      }
      if ((options as { all?: boolean }).all) return callback(null, addrs);
      callback(null, addrs[0]!.address, addrs[0]!.family);
    });
  }) as LookupFunction;
}
