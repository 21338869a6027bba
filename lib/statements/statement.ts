import { OcitrustError, assertArg } from '../errors/index.js';
import { parseJson, isJsonObject } from '../json.js';
import { canonicalBytes } from '../crypto/canonical.js';
import { parseDigest } from '../crypto/hash.js';
import { formatTime, parseTime } from '../clock.js';
import { DEFAULT_LIMITS } from '../config.js';

/** in-toto Statement v1 `_type` (in-toto/attestation spec/v1/statement.md). */
export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
/** DSSE payloadType of in-toto statements. */
export const INTOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
/** predicateType of the ocitrust signature predicate (DESIGN §4). */
export const SIGNATURE_PREDICATE_TYPE = 'https://ocitrust.dev/signature/v1';

/** One statement subject (an in-toto ResourceDescriptor with name and digest set). */
export interface StatementSubject {
  readonly name?: string;
  /** Digest set: algorithm → lowercase hex. */
  readonly digest: Readonly<Record<string, string>>;
}

/** The ocitrust signature predicate, typed. Times are parsed from `YYYY-MM-DDTHH:MM:SSZ`. */
export interface SignaturePredicate {
  readonly tag?: string;
  readonly mediaType: string;
  readonly size: number;
  /** The delegated role the signer signs as. */
  readonly role: string;
  readonly signedAt: Date;
  readonly expires?: Date;
}

interface StatementBase {
  readonly subject: readonly StatementSubject[];
  readonly predicateType: string;
  /** The predicate object as parsed (unknown fields kept; `{}` when absent). */
  readonly predicate: Readonly<Record<string, unknown>>;
  /** The whole statement as parsed, unknown fields kept. */
  readonly json: Readonly<Record<string, unknown>>;
}

/** A statement carrying the ocitrust signature predicate. */
export interface SignatureStatement extends StatementBase {
  readonly kind: 'signature';
  readonly signature: SignaturePredicate;
}

/** A statement with any other predicate type (SBOM, provenance, …): an attestation. */
export interface Attestation extends StatementBase {
  readonly kind: 'attestation';
}

/** A parsed in-toto Statement v1. */
export type Statement = SignatureStatement | Attestation;

/** What a signer vouches for (DESIGN §4: "this manifest digest is `<repository>[:tag]`"). */
export interface SignatureStatementInput {
  readonly repository: string;
  /** Manifest digest, `sha256:<hex>` or `sha512:<hex>`. */
  readonly digest: string;
  readonly tag?: string;
  readonly mediaType: string;
  readonly size: number;
  readonly role: string;
  readonly signedAt: Date;
  readonly expires?: Date;
}

/** Tag grammar of the distribution reference spec. */
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const HEX_LEN: Readonly<Record<string, number>> = { sha256: 64, sha384: 96, sha512: 128 };
/** Hex pattern per digest algorithm of {@link HEX_LEN}, compiled once. */
const HEX_RE: ReadonlyMap<string, RegExp> = new Map(Object.entries(HEX_LEN).map(([alg, len]) => [alg, new RegExp(`^[0-9a-f]{${len}}$`)]));
const MAX_SUBJECTS = 1024;

/**
 * The in-toto Statement v1 JSON of an ocitrust signature. Serialize it with
 * {@link statementBytes}.
 *
 * @throws INVALID_ARGUMENT on a missing or ill-typed field, INVALID_DIGEST on a bad digest.
 */
export function buildSignatureStatement(input: SignatureStatementInput): Record<string, unknown> {
  assertArg(isJsonObject(input), 'input', 'object', input);
  const { repository, digest, tag, mediaType, size, role, signedAt, expires } = input;
  assertArg(typeof repository === 'string' && repository.length > 0, 'repository', 'non-empty string', repository);
  const d = parseDigest(digest);
  assertArg(tag === undefined || (typeof tag === 'string' && TAG_RE.test(tag)), 'tag', 'a tag matching [A-Za-z0-9_][A-Za-z0-9._-]{0,127}', tag);
  assertArg(typeof mediaType === 'string' && mediaType.length > 0, 'mediaType', 'non-empty string', mediaType);
  assertArg(Number.isSafeInteger(size) && size >= 0, 'size', 'non-negative integer', size);
  assertArg(typeof role === 'string' && role.length > 0, 'role', 'non-empty string', role);
  assertArg(signedAt instanceof Date && !Number.isNaN(signedAt.getTime()), 'signedAt', 'valid Date', signedAt);
  assertArg(expires === undefined || (expires instanceof Date && !Number.isNaN(expires.getTime())), 'expires', 'valid Date', expires);
  const predicate: Record<string, unknown> = { mediaType, size, role, signedAt: formatTime(signedAt) };
  if (tag !== undefined) predicate.tag = tag;
  if (expires !== undefined) predicate.expires = formatTime(expires);
  return buildStatement([{ name: repository, digest: { [d.algorithm]: d.hex } }], SIGNATURE_PREDICATE_TYPE, predicate);
}

/**
 * The JSON of a generic in-toto Statement v1 (attestations use this with their predicateType).
 * @throws INVALID_ARGUMENT on an empty subject list or predicateType.
 */
export function buildStatement(
  subject: readonly StatementSubject[],
  predicateType: string,
  predicate: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  assertArg(Array.isArray(subject) && subject.length > 0, 'subject', 'non-empty array', subject);
  assertArg(typeof predicateType === 'string' && predicateType.length > 0, 'predicateType', 'non-empty string', predicateType);
  assertArg(isJsonObject(predicate), 'predicate', 'object', predicate);
  return {
    _type: STATEMENT_TYPE,
    subject: subject.map((s) => (s.name === undefined ? { digest: { ...s.digest } } : { name: s.name, digest: { ...s.digest } })),
    predicateType,
    predicate: structuredClone(predicate) as Record<string, unknown>,
  };
}

/**
 * Statement bytes as signed: JCS canonical JSON (DESIGN §4), so one statement has one
 * serialization and its digest is stable.
 * @throws CANONICAL_JSON_UNSUPPORTED for floats or other non-canonical values.
 */
export function statementBytes(statement: Readonly<Record<string, unknown>>): Uint8Array {
  return canonicalBytes(statement);
}

/**
 * Parses an untrusted in-toto Statement v1 (a DSSE payload that has already verified).
 * Statements with predicateType {@link SIGNATURE_PREDICATE_TYPE} come back as `signature`
 * with the predicate checked and typed; every other predicate type comes back as an
 * `attestation` through the same subject checks. Unknown fields are kept in `json`.
 *
 * @throws INPUT_TOO_LARGE, JSON_MALFORMED, JSON_DUPLICATE_KEY, JSON_TOO_DEEP, STATEMENT_MALFORMED.
 *   Nothing else: garbage input never escapes as another error type.
 */
export function parseStatement(input: Uint8Array | string, opts: { maxBytes?: number } = {}): Statement {
  assertArg(typeof input === 'string' || input instanceof Uint8Array, 'input', 'Uint8Array or string', input);
  const v = parseJson(input, { maxBytes: opts.maxBytes ?? DEFAULT_LIMITS.maxPayloadBytes, maxDepth: 32, what: 'in-toto statement' });
  if (!isJsonObject(v)) bad('not a JSON object');
  const obj = v as Record<string, unknown>;
  if (own(obj, '_type') !== STATEMENT_TYPE) bad(`_type must be ${STATEMENT_TYPE}`);
  const subject = parseSubjects(own(obj, 'subject'));
  const predicateType = own(obj, 'predicateType');
  if (typeof predicateType !== 'string' || predicateType.length === 0) bad('predicateType must be a non-empty string');
  const rawPredicate = own(obj, 'predicate');
  if (rawPredicate !== undefined && !isJsonObject(rawPredicate)) bad('predicate must be an object');
  const predicate = Object.freeze((rawPredicate ?? {}) as Record<string, unknown>);
  const base = { subject, predicateType: predicateType as string, predicate, json: Object.freeze(obj) };
  if (predicateType !== SIGNATURE_PREDICATE_TYPE) return Object.freeze({ kind: 'attestation', ...base });
  if (rawPredicate === undefined) bad('the signature predicate is missing');
  if (subject.length !== 1 || subject[0]!.name === undefined) {
    // mediaType, size and tag describe one manifest, so a signature names exactly one.
    bad('a signature statement must have exactly one subject, with a name');
  }
  return Object.freeze({ kind: 'signature', ...base, signature: parseSignaturePredicate(predicate) });
}

function parseSubjects(v: unknown): readonly StatementSubject[] {
  if (!Array.isArray(v) || v.length === 0) bad('subject must be a non-empty array');
  const list = v as unknown[];
  if (list.length > MAX_SUBJECTS) bad(`more than ${MAX_SUBJECTS} subjects`);
  const out: StatementSubject[] = [];
  for (let i = 0; i < list.length; i++) {
    const s = list[i];
    if (!isJsonObject(s)) bad(`subject[${i}] is not an object`);
    const o = s as Record<string, unknown>;
    const name = own(o, 'name');
    if (name !== undefined && (typeof name !== 'string' || name.length === 0)) bad(`subject[${i}].name must be a non-empty string`);
    const digest = own(o, 'digest');
    if (!isJsonObject(digest)) bad(`subject[${i}].digest must be a non-empty object`);
    const algs = Object.keys(digest as Record<string, unknown>);
    if (algs.length === 0) bad(`subject[${i}].digest must be a non-empty object`);
    const set: Record<string, string> = {};
    for (const alg of algs) {
      const hex = (digest as Record<string, unknown>)[alg];
      if (typeof hex !== 'string') bad(`subject[${i}].digest[${JSON.stringify(alg.slice(0, 32))}] must be a string`);
      const re = HEX_RE.get(alg);
      if (re !== undefined && !re.test(hex as string)) {
        bad(`subject[${i}].digest.${alg} must be ${HEX_LEN[alg]} lowercase hex characters`);
      }
      Object.defineProperty(set, alg, { value: hex, enumerable: true });
    }
    out.push(Object.freeze(name === undefined ? { digest: Object.freeze(set) } : { name: name as string, digest: Object.freeze(set) }));
  }
  return Object.freeze(out);
}

function parseSignaturePredicate(p: Readonly<Record<string, unknown>>): SignaturePredicate {
  const tag = own(p, 'tag');
  const mediaType = own(p, 'mediaType');
  const size = own(p, 'size');
  const role = own(p, 'role');
  const signedAt = parseTimeQuick(own(p, 'signedAt'));
  const expiresRaw = own(p, 'expires');
  if (tag !== undefined && (typeof tag !== 'string' || !TAG_RE.test(tag))) bad('predicate.tag is not a valid tag');
  if (typeof mediaType !== 'string' || mediaType.length === 0) bad('predicate.mediaType must be a non-empty string');
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) bad('predicate.size must be a non-negative integer');
  if (typeof role !== 'string' || role.length === 0) bad('predicate.role must be a non-empty string');
  if (signedAt === null) bad('predicate.signedAt must be a time YYYY-MM-DDTHH:MM:SSZ');
  let expires: Date | undefined;
  if (expiresRaw !== undefined) {
    const e = parseTimeQuick(expiresRaw);
    if (e === null) bad('predicate.expires must be a time YYYY-MM-DDTHH:MM:SSZ');
    expires = e as Date;
  }
  const out: SignaturePredicate = {
    mediaType: mediaType as string,
    size: size as number,
    role: role as string,
    signedAt: signedAt as Date,
    ...(tag === undefined ? {} : { tag: tag as string }),
    ...(expires === undefined ? {} : { expires }),
  };
  return Object.freeze(out);
}

/**
 * {@link parseTime} with a shortcut for the common case, same answers: a string in the exact
 * form `YYYY-MM-DDTHH:MM:SSZ` with a year from 1970 on and every field in range (day within
 * its month) is read from its digits directly, without the Date string parser and the
 * toISOString round trip; anything else is left to parseTime itself. Such a string is exactly
 * what parseTime accepts, at the same instant, and formatTime gives it back unchanged.
 * Exported for the equivalence test only.
 */
export function parseTimeQuick(s: unknown): Date | null {
  if (typeof s === 'string' && s.length === 20) {
    const y = digits(s, 0, 4);
    const mo = digits(s, 5, 2);
    const d = digits(s, 8, 2);
    const h = digits(s, 11, 2);
    const mi = digits(s, 14, 2);
    const sec = digits(s, 17, 2);
    if (
      s.charCodeAt(4) === 0x2d && s.charCodeAt(7) === 0x2d && s.charCodeAt(10) === 0x54 &&
      s.charCodeAt(13) === 0x3a && s.charCodeAt(16) === 0x3a && s.charCodeAt(19) === 0x5a &&
      y >= 1970 && mo >= 1 && mo <= 12 && d >= 1 && d <= daysInMonth(y, mo) &&
      h >= 0 && h <= 23 && mi >= 0 && mi <= 59 && sec >= 0 && sec <= 59
    ) {
      return new Date(Date.UTC(y, mo - 1, d, h, mi, sec));
    }
  }
  return parseTime(s);
}

/** Value of `n` ASCII digits at `at`, or -1 when any of them is not a digit. */
function digits(s: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const c = s.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

function daysInMonth(y: number, mo: number): number {
  if (mo === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return mo === 4 || mo === 6 || mo === 9 || mo === 11 ? 30 : 31;
}

function bad(why: string): never {
  throw new OcitrustError('STATEMENT_MALFORMED', `in-toto statement: ${why}`);
}

function own(o: Readonly<Record<string, unknown>>, k: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined;
}
