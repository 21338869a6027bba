/**
 * Notation's trust policy file, version 1.0 (notaryproject/specifications
 * specs/trust-store-trust-policy.md "Trust policy"): statements with registryScopes,
 * signatureVerification (level strict / permissive / audit / skip, per-validation overrides,
 * verifyTimestamp), trustStores (`ca:`, `signingAuthority:`, `tsa:`) and trustedIdentities
 * (`x509.subject: <DN>` or `*`). Validated as strictly as notation does; every mistake is
 * reported with its JSON pointer in one NOTATION_TRUST_POLICY_INVALID error.
 */
import { OcitrustError, isOcitrustError } from '../errors/index.js';
import { parseJson, isJsonObject } from '../json.js';
import { STORE_NAME, STORE_TYPES, type StoreType } from './truststore.js';
import { parseDn } from './x509.js';

/** The validation types, in the order notation runs them. */
export type ValidationType = 'integrity' | 'authenticity' | 'authenticTimestamp' | 'expiry' | 'revocation';
/** What a failed validation does: fail the signature, log (report, still count), or not run. */
export type Action = 'enforce' | 'log' | 'skip';
export type Level = 'strict' | 'permissive' | 'audit' | 'skip';

/** The spec's table "Signature Verification details". */
export const LEVELS: Readonly<Record<Level, Readonly<Record<ValidationType, Action>>>> = Object.freeze({
  strict: { integrity: 'enforce', authenticity: 'enforce', authenticTimestamp: 'enforce', expiry: 'enforce', revocation: 'enforce' },
  permissive: { integrity: 'enforce', authenticity: 'enforce', authenticTimestamp: 'log', expiry: 'log', revocation: 'log' },
  audit: { integrity: 'enforce', authenticity: 'log', authenticTimestamp: 'log', expiry: 'log', revocation: 'log' },
  skip: { integrity: 'skip', authenticity: 'skip', authenticTimestamp: 'skip', expiry: 'skip', revocation: 'skip' },
});

/** One trust policy statement, validated. */
export interface TrustPolicyStatement {
  readonly name: string;
  readonly registryScopes: readonly string[];
  readonly level: Level;
  /** The level's actions with the overrides applied. */
  readonly actions: Readonly<Record<ValidationType, Action>>;
  readonly verifyTimestamp: 'always' | 'afterCertExpiry';
  readonly trustStores: readonly { readonly type: StoreType; readonly name: string }[];
  /** `'*'`, or subject DNs as attribute → value. */
  readonly trustedIdentities: '*' | readonly ReadonlyMap<string, string>[];
}

/** A validated trust policy document. */
export interface TrustPolicyDocument {
  readonly statements: readonly TrustPolicyStatement[];
}

const MAX_POLICY_BYTES = 1024 * 1024;
const MAX_STATEMENTS = 256;
const TYPES: readonly ValidationType[] = ['integrity', 'authenticity', 'authenticTimestamp', 'expiry', 'revocation'];
/** `registry/repository` with no tag or digest. */
const SCOPE = /^[a-z0-9]+(?:[.-][a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+$/;

/**
 * Parses and validates a trust policy document.
 *
 * @throws OcitrustError NOTATION_TRUST_POLICY_INVALID
 */
export function parseTrustPolicy(bytes: Uint8Array | string, what = 'trust policy'): TrustPolicyDocument {
  let doc: unknown;
  try {
    doc = parseJson(bytes, { maxBytes: MAX_POLICY_BYTES, maxDepth: 16, what });
  } catch (e) {
    if (isOcitrustError(e)) throw new OcitrustError('NOTATION_TRUST_POLICY_INVALID', `${what}: ${e.message}`);
    throw e;
  }
  const problems: string[] = [];
  const add = (ptr: string, msg: string): void => void problems.push(`${ptr}: ${msg}`);
  const statements: TrustPolicyStatement[] = [];
  if (!isJsonObject(doc)) add('', 'expected a JSON object');
  else {
    if (doc['version'] !== '1.0') add('/version', `expected "1.0", got ${JSON.stringify(doc['version'])}`);
    const list = doc['trustPolicies'];
    if (!Array.isArray(list) || list.length === 0) add('/trustPolicies', 'expected a non-empty list of statements');
    else if (list.length > MAX_STATEMENTS) add('/trustPolicies', `expected at most ${MAX_STATEMENTS} statements, got ${list.length}`);
    else list.forEach((s, i) => {
      const st = statement(s, `/trustPolicies/${i}`, add);
      if (st) statements.push(st);
    });
    for (const k of Object.keys(doc)) if (k !== 'version' && k !== 'trustPolicies') add(`/${k}`, 'unknown field');
  }
  // Names unique; a scope in one statement only; `*` in one statement only.
  const names = new Set<string>();
  const scopes = new Map<string, string>();
  for (const s of statements) {
    if (names.has(s.name)) add('/trustPolicies', `statement name ${JSON.stringify(s.name)} is used twice`);
    names.add(s.name);
    for (const sc of s.registryScopes) {
      if (scopes.has(sc)) add('/trustPolicies', `registry scope ${JSON.stringify(sc)} is in statements ${JSON.stringify(scopes.get(sc))} and ${JSON.stringify(s.name)}`);
      scopes.set(sc, s.name);
    }
  }
  if (problems.length > 0) {
    throw new OcitrustError('NOTATION_TRUST_POLICY_INVALID', `${what} is not valid:\n  ${problems.join('\n  ')}`, { details: { problems } });
  }
  return Object.freeze({ statements: Object.freeze(statements) });
}

function statement(s: unknown, ptr: string, add: (ptr: string, msg: string) => void): TrustPolicyStatement | undefined {
  if (!isJsonObject(s)) {
    add(ptr, 'expected an object');
    return undefined;
  }
  let ok = true;
  const fail = (p: string, m: string): void => {
    ok = false;
    add(`${ptr}${p}`, m);
  };
  for (const k of Object.keys(s)) if (!['name', 'registryScopes', 'signatureVerification', 'trustStores', 'trustedIdentities'].includes(k)) fail(`/${k}`, 'unknown field');
  const name = s['name'];
  if (typeof name !== 'string' || name.length === 0 || name.length > 128) fail('/name', `expected a name, got ${JSON.stringify(name)}`);
  const rs = s['registryScopes'];
  const scopes: string[] = [];
  if (!Array.isArray(rs) || rs.length === 0) fail('/registryScopes', 'expected a non-empty list');
  else {
    rs.forEach((sc, j) => {
      if (sc === '*' || (typeof sc === 'string' && SCOPE.test(sc) && sc.length <= 512)) scopes.push(sc as string);
      else fail(`/registryScopes/${j}`, `expected "*" or registry/repository without tag or digest, got ${JSON.stringify(sc)}`);
    });
    if (scopes.includes('*') && rs.length > 1) fail('/registryScopes', '"*" must be the only scope of its statement');
  }
  const sv = s['signatureVerification'];
  let level: Level = 'strict';
  const actions: Record<ValidationType, Action> = { ...LEVELS.strict };
  let verifyTimestamp: 'always' | 'afterCertExpiry' = 'always';
  if (!isJsonObject(sv)) fail('/signatureVerification', 'expected an object with level');
  else {
    for (const k of Object.keys(sv)) if (!['level', 'override', 'verifyTimestamp'].includes(k)) fail(`/signatureVerification/${k}`, 'unknown field');
    if (typeof sv['level'] !== 'string' || !Object.prototype.hasOwnProperty.call(LEVELS, sv['level'])) fail('/signatureVerification/level', `expected strict, permissive, audit or skip, got ${JSON.stringify(sv['level'])}`);
    else {
      level = sv['level'] as Level;
      Object.assign(actions, LEVELS[level]);
    }
    const ov = sv['override'];
    if (ov !== undefined) {
      if (!isJsonObject(ov)) fail('/signatureVerification/override', 'expected an object');
      else if (level === 'skip') fail('/signatureVerification/override', 'level skip cannot be overridden');
      else {
        for (const [k, v] of Object.entries(ov)) {
          if (!TYPES.includes(k as ValidationType)) fail(`/signatureVerification/override/${k}`, `expected one of ${TYPES.join(', ')}`);
          else if (k === 'integrity') fail('/signatureVerification/override/integrity', 'integrity cannot be overridden');
          else if (v !== 'enforce' && v !== 'log' && v !== 'skip') fail(`/signatureVerification/override/${k}`, `expected enforce, log or skip, got ${JSON.stringify(v)}`);
          else if (k === 'authenticity' && v === 'skip') fail('/signatureVerification/override/authenticity', 'authenticity cannot be skipped');
          else actions[k as ValidationType] = v;
        }
      }
    }
    const vt = sv['verifyTimestamp'];
    if (vt !== undefined) {
      if (vt !== 'always' && vt !== 'afterCertExpiry') fail('/signatureVerification/verifyTimestamp', `expected always or afterCertExpiry, got ${JSON.stringify(vt)}`);
      else verifyTimestamp = vt;
    }
  }
  const stores: { type: StoreType; name: string }[] = [];
  const ts = s['trustStores'];
  const ti = s['trustedIdentities'];
  let identities: '*' | ReadonlyMap<string, string>[] = [];
  if (level === 'skip') {
    if ((Array.isArray(ts) && ts.length > 0) || (Array.isArray(ti) && ti.length > 0)) fail('', 'level skip must not name trustStores or trustedIdentities');
  } else {
    if (!Array.isArray(ts) || ts.length === 0 || ts.length > 64) fail('/trustStores', 'expected a non-empty list of type:name');
    else ts.forEach((e, j) => {
      const m = typeof e === 'string' ? /^([A-Za-z]+):(.+)$/.exec(e) : null;
      if (!m || !STORE_TYPES.includes(m[1] as StoreType) || !STORE_NAME.test(m[2]!)) fail(`/trustStores/${j}`, `expected ca:NAME, signingAuthority:NAME or tsa:NAME, got ${JSON.stringify(e)}`);
      else stores.push({ type: m[1] as StoreType, name: m[2]! });
    });
    if (stores.length > 0 && !stores.some((x) => x.type !== 'tsa')) fail('/trustStores', 'expected a ca or signingAuthority store besides tsa stores');
    if (!Array.isArray(ti) || ti.length === 0 || ti.length > 256) fail('/trustedIdentities', 'expected a non-empty list');
    else if (ti.includes('*')) {
      if (ti.length > 1) fail('/trustedIdentities', '"*" must be the only trusted identity');
      identities = '*';
    } else {
      ti.forEach((e, j) => {
        const m = typeof e === 'string' ? /^x509\.subject:(.*)$/.exec(e) : null;
        const dn = m ? parseDn(m[1]!.trim()) : undefined;
        if (!dn) fail(`/trustedIdentities/${j}`, `expected "*" or "x509.subject: <DN>", got ${JSON.stringify(e)}`);
        else if (!dn.has('C') || !dn.has('ST') || !dn.has('O')) fail(`/trustedIdentities/${j}`, 'an x509.subject identity must contain C, ST and O');
        else (identities as ReadonlyMap<string, string>[]).push(dn);
      });
    }
  }
  if (!ok) return undefined;
  return Object.freeze({
    name: name as string,
    registryScopes: Object.freeze(scopes),
    level,
    actions: Object.freeze(actions),
    verifyTimestamp,
    trustStores: Object.freeze(stores),
    trustedIdentities: identities === '*' ? '*' : Object.freeze(identities),
  });
}

/**
 * The statement for a repository (`registry/path`): the one naming it exactly, else the `*`
 * statement, else undefined.
 */
export function statementFor(doc: TrustPolicyDocument, repository: string): TrustPolicyStatement | undefined {
  return doc.statements.find((s) => s.registryScopes.includes(repository)) ?? doc.statements.find((s) => s.registryScopes.includes('*'));
}
