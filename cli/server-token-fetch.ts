/**
 * The CLI's trust server token on registry requests to the trust server's own host (issue 13):
 * the verifying proxy and the embedded registry are served there, and the proxy lets a
 * publisher read the unsigned manifest it is about to sign only when it sees the token
 * (`X-Ocitrust-Token`, docs/proxy.md). A registry client sends credentials only after a 401
 * challenge, and a proxy in front of an anonymous registry never sends one, so the header goes
 * on every request to that host.
 *
 * The token never leaves that host: redirects are followed here, and a hop to any other host
 * is made without it.
 */
import { defaultFetch } from '../lib/http/fetch.js';
import { cancelBody } from '../lib/http/body.js';
import type { FetchLike } from '../lib/oci/transport.js';

const TOKEN_HEADER = 'x-ocitrust-token';
const MAX_REDIRECTS = 10;

/**
 * A fetch adding `X-Ocitrust-Token: <token>` to requests whose URL host (`host[:port]`) is
 * `host`, when there is a token.
 */
export function tokenForOwnHost(host: string, token: () => Promise<string | undefined>, inner: FetchLike = defaultFetch): FetchLike {
  const go = async (url: string, init: RequestInit, hops: number): Promise<Response> => {
    const t = new URL(url).host === host ? await token() : undefined;
    if (t === undefined || t === '') {
      // Another host (or no token): the caller's own redirect handling, untouched.
      return inner(url, hops === 0 ? init : { ...init, redirect: 'follow' });
    }
    const res = await inner(url, { ...init, headers: { ...(init.headers as Record<string, string> | undefined), [TOKEN_HEADER]: t }, redirect: 'manual' });
    const location = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || location === null || init.redirect === 'manual' || hops >= MAX_REDIRECTS) return res;
    await cancelBody(res);
    const next = new URL(location, url).toString();
    // 303 (and 301/302 after a POST) turn into a GET without a body, as fetch does.
    const toGet = res.status === 303 || ((res.status === 301 || res.status === 302) && init.method === 'POST');
    return go(next, toGet ? { ...init, method: 'GET', body: null } : init, hops + 1);
  };
  return (url, init) => go(url, init, 0);
}
