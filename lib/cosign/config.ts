/**
 * The `cosign:` block of a policy rule: whom to trust (keys and/or keyless identities) and the
 * trust material (a Sigstore trusted root, or PEM pieces), validated with JSON pointers.
 */
import type { SchemeProblems } from '../schemes/types.js';
import { isPlainObject } from '../json.js';
import type { TrustedIdentity } from './verify-entity.js';
import type { ReferenceMatch } from './simple-signing.js';

/** A validated `cosign:` block (plain JSON data: it is hashed into the policy revision). */
export interface CosignConfig {
  /** PEM public keys (cosign.pub): key-based signatures. */
  readonly keys?: readonly string[];
  /** Keyless signers: certificate OIDC issuer and subject. */
  readonly identities?: readonly TrustedIdentity[];
  /** A Sigstore trusted_root.json (Fulcio CAs, Rekor, CT logs, TSAs), used offline. */
  readonly trustedRoot?: string;
  /** PEM CA certificates (a Fulcio root, a private PKI's root and intermediates): one pool. */
  readonly caCerts?: readonly string[];
  /** PEM Rekor public keys (SETs and checkpoints), beside or instead of the trusted root's. */
  readonly rekorKeys?: readonly string[];
  /** PEM CT log public keys (SCTs), beside or instead of the trusted root's. */
  readonly ctKeys?: readonly string[];
  /** A transparency log entry must verify (default: for certificates yes, for keys no). */
  readonly requireTlog?: boolean;
  /** How the classic payload's docker-reference must match the image (default `ignore`, as cosign). */
  readonly matchReference?: ReferenceMatch;
}

const KEYS = ['keys', 'identities', 'trustedRoot', 'caCerts', 'rekorKeys', 'ctKeys', 'requireTlog', 'matchReference'];
const MAX_LIST = 64;
const MAX_REGEXP = 1024;

function paths(raw: unknown, ptr: string, problems: SchemeProblems): string[] | undefined {
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_LIST || !raw.every((p) => typeof p === 'string' && p.length > 0 && p.length <= 4096)) {
    problems.add(ptr, `expected a list of 1 to ${MAX_LIST} file paths, got ${JSON.stringify(raw)}`);
    return undefined;
  }
  return [...(raw as string[])];
}

function identity(raw: unknown, ptr: string, problems: SchemeProblems): TrustedIdentity | undefined {
  if (!isPlainObject(raw)) {
    problems.add(ptr, `expected {issuer, subject | subjectRegExp}, got ${JSON.stringify(raw)}`);
    return undefined;
  }
  const extra = Object.keys(raw).filter((k) => !['issuer', 'subject', 'subjectRegExp'].includes(k));
  if (extra.length > 0) problems.add(`${ptr}/${extra[0]}`, `expected only issuer, subject, subjectRegExp, got ${extra[0]}`);
  const { issuer, subject, subjectRegExp } = raw;
  let ok = extra.length === 0;
  if (issuer !== undefined && (typeof issuer !== 'string' || issuer.length === 0)) {
    problems.add(`${ptr}/issuer`, `expected the OIDC issuer URL, got ${JSON.stringify(issuer)}`);
    ok = false;
  }
  if ((subject === undefined) === (subjectRegExp === undefined)) {
    problems.add(ptr, 'expected exactly one of subject and subjectRegExp');
    ok = false;
  } else if (subject !== undefined && (typeof subject !== 'string' || subject.length === 0)) {
    problems.add(`${ptr}/subject`, `expected the certificate subject (email or URI), got ${JSON.stringify(subject)}`);
    ok = false;
  } else if (subjectRegExp !== undefined) {
    if (typeof subjectRegExp !== 'string' || subjectRegExp.length === 0 || subjectRegExp.length > MAX_REGEXP) {
      problems.add(`${ptr}/subjectRegExp`, `expected a regular expression of 1 to ${MAX_REGEXP} characters, got ${JSON.stringify(subjectRegExp)}`);
      ok = false;
    } else {
      try {
        new RegExp(subjectRegExp);
      } catch (e) {
        problems.add(`${ptr}/subjectRegExp`, `expected a valid regular expression, got ${(e as Error).message}`);
        ok = false;
      }
    }
  }
  if (!ok) return undefined;
  return {
    ...(typeof issuer === 'string' ? { issuer } : {}),
    ...(typeof subject === 'string' ? { subject } : {}),
    ...(typeof subjectRegExp === 'string' ? { subjectRegExp } : {}),
  };
}

/** Validates a rule's `cosign:` block; reports every mistake and returns undefined when there is one. */
export function validateCosignConfig(raw: unknown, ptr: string, problems: SchemeProblems): CosignConfig | undefined {
  if (!isPlainObject(raw)) {
    problems.add(ptr, `expected {keys: [paths]} and/or {identities: [...], trustedRoot: path}, got ${JSON.stringify(raw)}`);
    return undefined;
  }
  let ok = true;
  for (const k of Object.keys(raw)) {
    if (!KEYS.includes(k)) {
      problems.add(`${ptr}/${k}`, `expected one of ${KEYS.join(', ')}, got ${k}`);
      ok = false;
    }
  }
  const out: Record<string, unknown> = {};
  for (const k of ['keys', 'caCerts', 'rekorKeys', 'ctKeys'] as const) {
    if (raw[k] === undefined) continue;
    const p = paths(raw[k], `${ptr}/${k}`, problems);
    if (p) out[k] = p;
    else ok = false;
  }
  if (raw['trustedRoot'] !== undefined) {
    if (typeof raw['trustedRoot'] === 'string' && raw['trustedRoot'].length > 0) out['trustedRoot'] = raw['trustedRoot'];
    else {
      problems.add(`${ptr}/trustedRoot`, `expected the path of a Sigstore trusted_root.json, got ${JSON.stringify(raw['trustedRoot'])}`);
      ok = false;
    }
  }
  if (raw['identities'] !== undefined) {
    const ids = raw['identities'];
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > MAX_LIST) {
      problems.add(`${ptr}/identities`, `expected a list of 1 to ${MAX_LIST} identities, got ${JSON.stringify(ids)}`);
      ok = false;
    } else {
      const list = ids.map((id, i) => identity(id, `${ptr}/identities/${i}`, problems));
      if (list.every((x) => x !== undefined)) out['identities'] = list;
      else ok = false;
    }
  }
  if (raw['requireTlog'] !== undefined) {
    if (typeof raw['requireTlog'] === 'boolean') out['requireTlog'] = raw['requireTlog'];
    else {
      problems.add(`${ptr}/requireTlog`, `expected true or false, got ${JSON.stringify(raw['requireTlog'])}`);
      ok = false;
    }
  }
  if (raw['matchReference'] !== undefined) {
    if (['ignore', 'repository', 'exact'].includes(raw['matchReference'] as string)) out['matchReference'] = raw['matchReference'];
    else {
      problems.add(`${ptr}/matchReference`, `expected ignore, repository or exact, got ${JSON.stringify(raw['matchReference'])}`);
      ok = false;
    }
  }
  if (!ok) return undefined;
  if (out['keys'] === undefined && out['identities'] === undefined) {
    problems.add(ptr, 'expected keys and/or identities (whom to trust), got neither');
    return undefined;
  }
  if (out['identities'] !== undefined && out['trustedRoot'] === undefined && out['caCerts'] === undefined) {
    problems.add(`${ptr}/identities`, 'expected a trustedRoot or caCerts beside identities (the CA certificates must chain to), got neither');
    return undefined;
  }
  const hasLog = out['trustedRoot'] !== undefined || out['rekorKeys'] !== undefined;
  const tlogNeeded = out['requireTlog'] === true || (out['requireTlog'] === undefined && out['identities'] !== undefined);
  if (tlogNeeded && !hasLog) {
    problems.add(`${ptr}/requireTlog`, 'expected a trustedRoot or rekorKeys to check the required transparency log entry against (keyless signatures require one unless requireTlog: false)');
    return undefined;
  }
  return out as CosignConfig;
}

/** The block with every file path passed through `resolve`. */
export function resolveCosignPaths(c: CosignConfig, resolve: (p: string) => string): CosignConfig {
  const map = (l?: readonly string[]) => l?.map(resolve);
  return {
    ...c,
    ...(c.keys ? { keys: map(c.keys) } : {}),
    ...(c.caCerts ? { caCerts: map(c.caCerts) } : {}),
    ...(c.rekorKeys ? { rekorKeys: map(c.rekorKeys) } : {}),
    ...(c.ctKeys ? { ctKeys: map(c.ctKeys) } : {}),
    ...(c.trustedRoot ? { trustedRoot: resolve(c.trustedRoot) } : {}),
  };
}

/** The files whose bytes the verdicts depend on. */
export function cosignFiles(c: CosignConfig): string[] {
  return [...(c.keys ?? []), ...(c.trustedRoot ? [c.trustedRoot] : []), ...(c.caCerts ?? []), ...(c.rekorKeys ?? []), ...(c.ctKeys ?? [])];
}
