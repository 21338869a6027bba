/**
 * Notary v1 metadata documents (TUF as notary's `tuf/data` package writes it): the signed
 * envelope, the four top-level roles and delegated targets roles, checked for shape and
 * verified against a role's keys and threshold. Notary signs Go's canonical JSON of `signed`
 * (sorted keys, no whitespace, only `"` and `\` escaped): OLPC canonical JSON, which
 * {@link tufCanonicalBytes} writes. Keys are parsed by lib/keys (ecdsa, ecdsa-x509, rsa,
 * rsa-x509, ed25519 in Notary's spellings); a threshold counts distinct key fingerprints, so a
 * certificate and its bare key sign once.
 */
import { OcitrustError } from '../errors/index.js';
import { tufCanonicalBytes } from '../crypto/canonical.js';
import { PublicKey } from '../keys/key.js';
import { decodeBase64 } from '../crypto/base64.js';
import { isJsonObject } from '../json.js';

/** Most signatures read from one document, keys per role, delegations per targets. */
const MAX_SIGNATURES = 64;
const MAX_KEYS = 256;
const MAX_DELEGATIONS = 1024;
/** Most targets read from one targets document (docker repositories have hundreds to thousands of tags). */
const MAX_TARGETS = 1_000_000;

export type NotaryRoleType = 'Root' | 'Targets' | 'Snapshot' | 'Timestamp';

/** A role as root or a delegation defines it. */
export interface RoleKeys {
  readonly name: string;
  readonly keyids: readonly string[];
  readonly threshold: number;
}

/** One document as read: the bytes, the parsed `signed` part and its signatures. */
export interface NotaryDocument<S> {
  readonly bytes: Uint8Array;
  readonly signed: S;
  readonly signatures: readonly { keyid: string; sig: Uint8Array }[];
  /** The canonical bytes the signatures cover. */
  readonly message: Uint8Array;
}

/** `meta` entry of snapshot and timestamp. */
export interface FileMeta {
  readonly length: number;
  /** Lowercase hex by algorithm (`sha256`, `sha512`). */
  readonly hashes: Readonly<Record<string, string>>;
}

export interface RootSigned {
  readonly version: number;
  readonly expires: Date;
  readonly keys: ReadonlyMap<string, PublicKey>;
  readonly roles: Readonly<Record<'root' | 'targets' | 'snapshot' | 'timestamp', RoleKeys>>;
}

export interface TimestampSigned {
  readonly version: number;
  readonly expires: Date;
  readonly snapshot: FileMeta;
}

export interface SnapshotSigned {
  readonly version: number;
  readonly expires: Date;
  readonly meta: ReadonlyMap<string, FileMeta>;
}

/** A delegation of a targets role: its keys and the target paths (prefixes) it may sign. */
export interface Delegation extends RoleKeys {
  readonly paths: readonly string[];
}

export interface TargetsSigned {
  readonly version: number;
  readonly expires: Date;
  readonly targets: ReadonlyMap<string, FileMeta>;
  readonly delegationKeys: ReadonlyMap<string, PublicKey>;
  readonly delegations: readonly Delegation[];
}

const invalid = (what: string, msg: string): never => {
  throw new OcitrustError('NOTARY_METADATA_INVALID', `${what}: ${msg}`);
};

function int(v: unknown, what: string, min = 0): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) invalid(what, `expected an integer ≥ ${min}, got ${JSON.stringify(v)?.slice(0, 40)}`);
  return v as number;
}

function date(v: unknown, what: string): Date {
  // Go's RFC 3339 with up to nanoseconds and a zone offset.
  if (typeof v !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/.test(v)) invalid(what, `expected an RFC 3339 time, got ${JSON.stringify(v)?.slice(0, 40)}`);
  const d = new Date(Date.parse(v as string));
  if (!Number.isFinite(d.getTime())) invalid(what, `expected an RFC 3339 time, got ${JSON.stringify(v)}`);
  return d;
}

function fileMeta(v: unknown, what: string): FileMeta {
  if (!isJsonObject(v) || !isJsonObject(v.hashes)) return invalid(what, 'expected {length, hashes}');
  const hashes: Record<string, string> = {};
  for (const [alg, h] of Object.entries(v.hashes)) {
    if (alg !== 'sha256' && alg !== 'sha512') continue;
    if (typeof h !== 'string') invalid(`${what}.hashes.${alg}`, 'expected base64');
    let raw: Uint8Array;
    try {
      raw = decodeBase64(h as string, `${what}.hashes.${alg}`);
    } catch {
      return invalid(`${what}.hashes.${alg}`, 'expected standard base64');
    }
    if (raw.length !== (alg === 'sha256' ? 32 : 64)) invalid(`${what}.hashes.${alg}`, `expected a ${alg} hash, got ${raw.length} bytes`);
    hashes[alg] = Buffer.from(raw).toString('hex');
  }
  if (hashes.sha256 === undefined) invalid(what, 'expected a sha256 hash');
  return { length: int(v.length, `${what}.length`), hashes };
}

function roleKeys(name: string, v: unknown, keys: ReadonlyMap<string, PublicKey>, what: string): RoleKeys {
  // Notary writes `"keyids": null` for a delegation whose last key was removed: a role nobody can sign.
  if (!isJsonObject(v) || !(Array.isArray(v.keyids) || v.keyids === null)) return invalid(what, 'expected {keyids, threshold}');
  const list: unknown[] = v.keyids ?? [];
  if (list.length > MAX_KEYS) invalid(what, `expected at most ${MAX_KEYS} keyids, got ${list.length}`);
  const keyids = list.map((k, i) => (typeof k === 'string' ? k : invalid(`${what}.keyids[${i}]`, 'expected a string')));
  for (const k of keyids) if (!keys.has(k)) invalid(what, `keyid ${k.slice(0, 16)}… is not in the key list`);
  return { name, keyids, threshold: int(v.threshold, `${what}.threshold`, 1) };
}

function parseKeys(v: unknown, what: string): Map<string, PublicKey> {
  if (!isJsonObject(v)) return invalid(what, 'expected an object of keys');
  const entries = Object.entries(v);
  if (entries.length > MAX_KEYS) invalid(what, `expected at most ${MAX_KEYS} keys, got ${entries.length}`);
  const out = new Map<string, PublicKey>();
  for (const [id, k] of entries) {
    let key: PublicKey;
    try {
      key = PublicKey.fromJSON(k);
    } catch (e) {
      return invalid(`${what}.${id.slice(0, 16)}`, (e as Error).message);
    }
    // Notary's keyid is the SHA-256 of the key object's canonical JSON; another id would let one key count twice.
    if (key.keyid !== id) invalid(`${what}.${id.slice(0, 16)}`, `keyid does not match the key (expected ${key.keyid})`);
    out.set(id, key);
  }
  return out;
}

/**
 * Parses a document's envelope and checks `signed._type`.
 * @throws NOTARY_NOT_A_SERVER for bytes that are not a Notary document of that role (not JSON,
 *   no signed/signatures, another `_type`): what a server that is not Notary answers
 */
export function parseEnvelope(bytes: Uint8Array, type: NotaryRoleType, what: string): { signed: Record<string, unknown>; signatures: { keyid: string; sig: Uint8Array }[]; message: Uint8Array } {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new OcitrustError('NOTARY_NOT_A_SERVER', `${what}: expected Notary TUF metadata (JSON), got ${bytes.length} bytes that are not JSON`);
  }
  if (!isJsonObject(doc) || !isJsonObject(doc.signed) || !Array.isArray(doc.signatures)) {
    throw new OcitrustError('NOTARY_NOT_A_SERVER', `${what}: expected Notary TUF metadata {signed, signatures}, got ${JSON.stringify(doc)?.slice(0, 80)}`);
  }
  if (doc.signed._type !== type) throw new OcitrustError('NOTARY_NOT_A_SERVER', `${what}: expected _type ${type}, got ${JSON.stringify(doc.signed._type)?.slice(0, 40)}`);
  if (doc.signatures.length > MAX_SIGNATURES) invalid(what, `expected at most ${MAX_SIGNATURES} signatures, got ${doc.signatures.length}`);
  const signatures = doc.signatures.map((s, i) => {
    if (!isJsonObject(s) || typeof s.keyid !== 'string' || typeof s.sig !== 'string' || typeof s.method !== 'string') return invalid(`${what}.signatures[${i}]`, 'expected {keyid, method, sig}');
    let sig: Uint8Array;
    try {
      sig = decodeBase64(s.sig as string, 'sig');
    } catch {
      return invalid(`${what}.signatures[${i}].sig`, 'expected standard base64');
    }
    return { keyid: s.keyid as string, sig };
  });
  let message: Uint8Array;
  try {
    message = tufCanonicalBytes(doc.signed);
  } catch (e) {
    return invalid(what, (e as Error).message);
  }
  return { signed: doc.signed, signatures, message };
}

/**
 * Checks that at least `role.threshold` distinct keys of the role signed `doc`.
 * @throws TUF_THRESHOLD_NOT_MET naming the counts
 */
export function checkThreshold(doc: { signatures: readonly { keyid: string; sig: Uint8Array }[]; message: Uint8Array }, role: RoleKeys, keys: ReadonlyMap<string, PublicKey>, what: string): string[] {
  const signers = validSigners(doc, role.keyids, keys);
  if (signers.size < role.threshold) {
    throw new OcitrustError('TUF_THRESHOLD_NOT_MET', `${what}: expected valid signatures of ${role.threshold} of the ${role.name} keys, got ${signers.size}`);
  }
  return [...signers.values()];
}

/** fingerprint → keyid of the keys among `keyids` whose signature over the document verifies. */
export function validSigners(doc: { signatures: readonly { keyid: string; sig: Uint8Array }[]; message: Uint8Array }, keyids: readonly string[], keys: ReadonlyMap<string, PublicKey>): Map<string, string> {
  const allowed = new Set(keyids);
  const out = new Map<string, string>();
  for (const s of doc.signatures) {
    if (!allowed.has(s.keyid)) continue;
    const key = keys.get(s.keyid);
    if (!key || out.has(key.fingerprint)) continue;
    if (key.verify(s.sig, doc.message)) out.set(key.fingerprint, s.keyid);
  }
  return out;
}

export function parseRoot(bytes: Uint8Array, what: string): NotaryDocument<RootSigned> {
  const env = parseEnvelope(bytes, 'Root', what);
  const s = env.signed;
  const keys = parseKeys(s.keys, `${what}.keys`);
  if (!isJsonObject(s.roles)) return invalid(what, 'expected roles');
  const roles = {} as Record<'root' | 'targets' | 'snapshot' | 'timestamp', RoleKeys>;
  for (const r of ['root', 'targets', 'snapshot', 'timestamp'] as const) roles[r] = roleKeys(r, s.roles[r], keys, `${what}.roles.${r}`);
  return { bytes, ...env, signed: { version: int(s.version, `${what}.version`, 1), expires: date(s.expires, `${what}.expires`), keys, roles } };
}

export function parseTimestamp(bytes: Uint8Array, what: string): NotaryDocument<TimestampSigned> {
  const env = parseEnvelope(bytes, 'Timestamp', what);
  const s = env.signed;
  if (!isJsonObject(s.meta)) return invalid(what, 'expected meta');
  return { bytes, ...env, signed: { version: int(s.version, `${what}.version`, 1), expires: date(s.expires, `${what}.expires`), snapshot: fileMeta(s.meta.snapshot, `${what}.meta.snapshot`) } };
}

export function parseSnapshot(bytes: Uint8Array, what: string): NotaryDocument<SnapshotSigned> {
  const env = parseEnvelope(bytes, 'Snapshot', what);
  const s = env.signed;
  if (!isJsonObject(s.meta)) return invalid(what, 'expected meta');
  const entries = Object.entries(s.meta);
  if (entries.length > MAX_DELEGATIONS + 2) invalid(what, `expected at most ${MAX_DELEGATIONS + 2} meta entries, got ${entries.length}`);
  const meta = new Map(entries.map(([k, v]) => [k, fileMeta(v, `${what}.meta.${k}`)] as const));
  return { bytes, ...env, signed: { version: int(s.version, `${what}.version`, 1), expires: date(s.expires, `${what}.expires`), meta } };
}

export function parseTargets(bytes: Uint8Array, what: string): NotaryDocument<TargetsSigned> {
  const env = parseEnvelope(bytes, 'Targets', what);
  const s = env.signed;
  if (!isJsonObject(s.targets)) return invalid(what, 'expected targets');
  const list = Object.entries(s.targets);
  if (list.length > MAX_TARGETS) invalid(what, `expected at most ${MAX_TARGETS} targets, got ${list.length}`);
  const targets = new Map<string, FileMeta>();
  for (const [name, v] of list) targets.set(name, fileMeta(v, `${what}.targets[${JSON.stringify(name.slice(0, 60))}]`));
  let delegationKeys = new Map<string, PublicKey>();
  const delegations: Delegation[] = [];
  if (s.delegations !== undefined && s.delegations !== null) {
    const d = s.delegations;
    if (!isJsonObject(d) || !Array.isArray(d.roles)) return invalid(what, 'expected delegations {keys, roles}');
    delegationKeys = parseKeys(d.keys ?? {}, `${what}.delegations.keys`);
    if (d.roles.length > MAX_DELEGATIONS) invalid(what, `expected at most ${MAX_DELEGATIONS} delegations, got ${d.roles.length}`);
    d.roles.forEach((r, i) => {
      const w = `${what}.delegations.roles[${i}]`;
      if (!isJsonObject(r) || typeof r.name !== 'string') return invalid(w, 'expected {name, keyids, threshold, paths}');
      const paths = Array.isArray(r.paths) ? r.paths.map((p, j) => (typeof p === 'string' ? p : invalid(`${w}.paths[${j}]`, 'expected a string'))) : [];
      delegations.push({ ...roleKeys(r.name, r, delegationKeys, w), paths });
    });
  }
  return { bytes, ...env, signed: { version: int(s.version, `${what}.version`, 1), expires: date(s.expires, `${what}.expires`), targets, delegationKeys, delegations } };
}
