import { BlockList, isIP } from 'node:net';
import { OcitrustError } from '../lib/errors/index.js';

/**
 * An IP allowlist of addresses and CIDR ranges (`10.0.0.0/8`, `127.0.0.1`, `::1`, `fd00::/8`).
 * IPv4-mapped IPv6 client addresses (`::ffff:10.1.2.3`) are matched as IPv4.
 */
export class IpAllowlist {
  readonly #list = new BlockList();
  readonly entries: readonly string[];

  /** @throws OcitrustError SERVER_CONFIG_INVALID for an entry that is not an address or CIDR */
  constructor(entries: readonly string[]) {
    this.entries = Object.freeze([...entries]);
    for (const raw of entries) {
      const e = raw.trim();
      const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(e);
      const family = m ? isIP(m[1]!) : 0;
      const prefix = m?.[2] === undefined ? undefined : Number(m[2]);
      if (!m || family === 0 || (prefix !== undefined && prefix > (family === 4 ? 32 : 128))) {
        throw new OcitrustError('SERVER_CONFIG_INVALID', `allowlist entry ${JSON.stringify(e.slice(0, 60))} is not an IP address or CIDR range`);
      }
      const type = family === 4 ? 'ipv4' : 'ipv6';
      if (prefix === undefined) this.#list.addAddress(m[1]!, type);
      else this.#list.addSubnet(m[1]!, prefix, type);
    }
  }

  /** True when `address` is allowed. */
  allows(address: string | undefined): boolean {
    if (!address) return false;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    const a = mapped ? mapped[1]! : address;
    const family = isIP(a);
    if (family === 0) return false;
    return this.#list.check(a, family === 4 ? 'ipv4' : 'ipv6');
  }
}
