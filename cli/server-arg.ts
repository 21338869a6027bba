import { OcitrustError } from '../lib/errors/index.js';

/**
 * The SERVER argument of `trust login` / `trust logout`: an http(s) URL, or `host:port` without
 * a scheme (http for loopback addresses, where the server runs without TLS by default; https
 * otherwise), as `docker login` takes a bare host.
 * @throws CLI_USAGE
 */
export function parseServerArg(s: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(s) ? s : `${/^(127\.[0-9.]+|localhost|\[::1\])(:|$)/i.test(s) ? 'http' : 'https'}://${s}`;
  try {
    const u = new URL(withScheme);
    if ((u.protocol === 'http:' || u.protocol === 'https:') && u.host !== '') return u.origin;
  } catch {
    /* reported below */
  }
  throw new OcitrustError('CLI_USAGE', `SERVER: expected a trust server URL (http://127.0.0.1:7443) or HOST:PORT, got ${JSON.stringify(s.slice(0, 100))}`);
}
