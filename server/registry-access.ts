import { isOcitrustError } from '../lib/errors/index.js';
import type { Authz } from './auth.js';
import type { AccessDecision, AccessRequest, AuthorizeHook } from './registry/options.js';
import type { TokenRole } from './tokens.js';

/** The challenge the embedded registry sends: Basic, so `docker login -u any -p <token>` works. */
export const REGISTRY_CHALLENGE = 'Basic realm="ocitrust"';

/** What a registry client is told to send when it has no (valid) token. */
export const REGISTRY_CREDENTIALS_HINT = 'send a trust server token as the Basic password, any user name (docker login HOST -u token; skopeo --creds token:$TOKEN; trust login SERVER for the trust CLI)';

/**
 * Access control of the embedded registry with the trust server's tokens: pulling needs
 * reader (or anonymous reads on), pushing and deleting need publisher, on a pattern matching
 * the repository's collection-qualified name (`<registry name>/<repository>`, as on the trust
 * API: a host-less pattern such as `team/*` matches nothing here). When the registry's name is
 * unknown only tokens for every collection (`**`) qualify. Registry-wide endpoints (`/v2/`,
 * `_catalog`) need any valid token when anonymous reads are off; `/v2/` without an
 * Authorization header always challenges. Denials are audited by {@link Authz.require}; a
 * missing token gets a 401 challenge so registry clients log in.
 */
export function registryAuthorizer(authz: Authz): AuthorizeHook {
  return async (request, access: AccessRequest): Promise<AccessDecision> => {
    const p = request.principal;
    const need: TokenRole = access.action === 'pull' ? 'reader' : 'publisher';
    if (access.repository === null && access.action === 'pull') {
      // The base endpoint is how clients discover auth (distribution spec "API version check"):
      // without credentials it challenges, so clients that have a token send it from then on,
      // and clients without one retry with empty credentials, which count as anonymous.
      const base = request.url.split('?')[0] === '/v2/';
      if (p.token || (authz.anonymousRead && !(base && request.headers.authorization === undefined))) return true;
      return { allow: false, status: 401, message: `authentication required: ${REGISTRY_CREDENTIALS_HINT}`, wwwAuthenticate: REGISTRY_CHALLENGE };
    }
    try {
      await authz.require(p, need, access.name, `registry.${access.action}`);
      return true;
    } catch (e) {
      if (isOcitrustError(e, 'AUTH_REQUIRED')) return { allow: false, status: 401, message: `${e.message}: ${REGISTRY_CREDENTIALS_HINT}`, wwwAuthenticate: REGISTRY_CHALLENGE };
      if (isOcitrustError(e, 'PERMISSION_DENIED')) {
        const why = access.name === null ? `; the registry's name is unknown (set registryName), so only tokens for every collection (**) may ${access.action} ${access.repository}` : '';
        return { allow: false, status: 403, message: e.message + why };
      }
      throw e;
    }
  };
}
