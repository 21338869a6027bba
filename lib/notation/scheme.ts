/**
 * The `notation:` signature scheme: a policy rule names Notation's own trust policy file and
 * trust store folder,
 *
 *     notation: {trustPolicy: notation/trustpolicy.json, trustStore: notation/truststore}
 *
 * and an image under that rule is verified as `notation verify` would: the trust policy
 * statement whose registryScopes hold the image's repository decides the level, the trust
 * stores and the identities; the image verifies when one of its Notation signatures passes.
 *
 * This module is the scheme's small face (policy key, validation, files): the verifier
 * (verify-image.ts, with the X.509, ASN.1 and CBOR parsers) is imported on first verification
 * only, so a policy or a verify that names no `notation` rule never loads it.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { SchemeInput, SignatureScheme, SchemeVerification } from '../schemes/types.js';
import { STORE_TYPES } from './store-types.js';

/** A rule's `notation:` block, paths absolute after resolvePaths. */
export interface NotationConfig {
  readonly trustPolicy: string;
  readonly trustStore: string;
}

const MAX_STORE_FILES = 1024;

/** Files of the trust store folder (`x509/<type>/<name>/<file>`), bounded; missing parts are skipped. */
function storeFileList(root: string): string[] {
  const out: string[] = [];
  const list = (dir: string): string[] => {
    try {
      return readdirSync(dir).filter((n) => !n.startsWith('.')).sort();
    } catch {
      return [];
    }
  };
  for (const type of STORE_TYPES) {
    for (const name of list(join(root, 'x509', type))) {
      for (const f of list(join(root, 'x509', type, name))) {
        const p = join(root, 'x509', type, name, f);
        try {
          if (statSync(p).isFile()) out.push(p);
        } catch {
          /* vanished: verification will report the store */
        }
        if (out.length >= MAX_STORE_FILES) return out;
      }
    }
  }
  return out;
}

/** The Notation scheme. */
export const notationScheme: SignatureScheme<NotationConfig> = Object.freeze({
  key: 'notation',
  format: 'notation',
  validate(raw: unknown, ptr: string, problems: { add(ptr: string, message: string): void }): NotationConfig | undefined {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      problems.add(ptr, `expected {trustPolicy: path, trustStore: path}, got ${JSON.stringify(raw)?.slice(0, 80)}`);
      return undefined;
    }
    const r = raw as Record<string, unknown>;
    let ok = true;
    for (const k of Object.keys(r)) {
      if (k !== 'trustPolicy' && k !== 'trustStore') {
        problems.add(`${ptr}/${k}`, 'unknown field (expected trustPolicy and trustStore)');
        ok = false;
      }
    }
    for (const k of ['trustPolicy', 'trustStore'] as const) {
      if (typeof r[k] !== 'string' || (r[k] as string).length === 0) {
        problems.add(`${ptr}/${k}`, `expected a path, got ${JSON.stringify(r[k])}`);
        ok = false;
      }
    }
    return ok ? { trustPolicy: r['trustPolicy'] as string, trustStore: r['trustStore'] as string } : undefined;
  },
  resolvePaths: (c: NotationConfig, resolve: (p: string) => string): NotationConfig => ({ trustPolicy: resolve(c.trustPolicy), trustStore: resolve(c.trustStore) }),
  files: (c: NotationConfig): readonly string[] => [c.trustPolicy, ...storeFileList(c.trustStore)],
  async verify(c: NotationConfig, input: SchemeInput): Promise<SchemeVerification> {
    const { verifyNotation } = await import('./verify-image.js');
    return verifyNotation(c, input);
  },
});
