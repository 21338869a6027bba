/**
 * The `notaryV1` signature scheme (lib/schemes): a policy rule verifies images signed with
 * `docker trust sign` (Docker Content Trust, Notary v1) against a pinned root:
 *
 * ```yaml
 * notaryV1:
 *   server: https://notary.example.com
 *   root: roots/team-app-root.crt        # the root key's certificate, or a root.json; required
 *   requiredDelegations: [releases]      # default targets/releases, as docker signs
 *   ca: notary-ca.pem                    # optional: the CA of the server's TLS certificate
 *   gun: registry.example.com/team/app   # optional: default the image's repository
 * ```
 *
 * The image's tag must be a target of every required delegation with the manifest's SHA-256
 * and size. Rollback state is persisted under the CLI's home and kept in memory in services.
 *
 * This module is the scheme's small face (policy key, validation, files): the Notary client
 * (verify-tag.ts) is imported on first verification only, so a policy or a verify that names
 * no `notaryV1` rule never loads it.
 */
import { isJsonObject } from '../json.js';
import type { SignatureScheme } from '../schemes/types.js';

/** A validated `notaryV1` block. */
export interface NotaryV1Config {
  readonly server: string;
  readonly root: string;
  readonly requiredDelegations: readonly string[];
  readonly ca?: string;
  readonly gun?: string;
}

/** The delegation docker signs every tag into. */
export const DEFAULT_DELEGATION = 'targets/releases';
const KEYS = new Set(['server', 'root', 'requiredDelegations', 'ca', 'gun']);

/** `releases` → `targets/releases`; `targets` stays (the top-level role). */
export function delegationName(n: string): string {
  return n === 'targets' || n.startsWith('targets/') ? n : `targets/${n}`;
}

/** The scheme (registered in lib/schemes/index.ts). */
export const notaryV1Scheme: SignatureScheme<NotaryV1Config> = {
  key: 'notaryV1',
  format: 'notary-v1',
  validate(raw, ptr, problems) {
    if (!isJsonObject(raw)) {
      problems.add(ptr, `expected {server, root, requiredDelegations?}, got ${JSON.stringify(raw)?.slice(0, 60)}`);
      return undefined;
    }
    let ok = true;
    const bad = (p: string, m: string) => {
      problems.add(`${ptr}${p}`, m);
      ok = false;
    };
    for (const k of Object.keys(raw)) if (!KEYS.has(k)) bad(`/${k}`, `unknown key: expected one of ${[...KEYS].join(', ')}`);
    if (typeof raw.server !== 'string' || !/^https?:\/\/[^/\s]+/.test(raw.server)) bad('/server', `expected the Notary server's https:// URL, got ${JSON.stringify(raw.server)?.slice(0, 60)}`);
    if (typeof raw.root !== 'string' || raw.root === '') bad('/root', 'expected the pinned root (a root certificate or root.json file): Notary v1 data is never trusted on first use');
    if (raw.ca !== undefined && (typeof raw.ca !== 'string' || raw.ca === '')) bad('/ca', 'expected a PEM file path');
    if (raw.gun !== undefined && (typeof raw.gun !== 'string' || raw.gun === '')) bad('/gun', 'expected a GUN (registry/repository)');
    let required = [DEFAULT_DELEGATION];
    if (raw.requiredDelegations !== undefined) {
      const r = raw.requiredDelegations;
      if (!Array.isArray(r) || r.length === 0 || r.length > 16 || !r.every((x) => typeof x === 'string' && /^[A-Za-z0-9_.\-/]{1,255}$/.test(x))) {
        bad('/requiredDelegations', `expected 1–16 delegation names (releases, targets/alice, targets), got ${JSON.stringify(r)?.slice(0, 80)}`);
      } else required = [...new Set(r.map(delegationName))];
    }
    if (!ok) return undefined;
    return {
      server: raw.server as string,
      root: raw.root as string,
      requiredDelegations: required,
      ...(raw.ca !== undefined ? { ca: raw.ca as string } : {}),
      ...(raw.gun !== undefined ? { gun: raw.gun as string } : {}),
    };
  },
  resolvePaths: (c, resolve) => ({ ...c, root: resolve(c.root), ...(c.ca !== undefined ? { ca: resolve(c.ca) } : {}) }),
  files: (c) => [c.root, ...(c.ca !== undefined ? [c.ca] : [])],
  async verify(config, input) {
    const { verifyNotaryV1 } = await import('./verify-tag.js');
    return verifyNotaryV1(config, input);
  },
};

