import { randomBytes } from 'node:crypto';
import { OcitrustError, assertArg } from '../lib/errors/index.js';
import { sha256Hex } from '../lib/crypto/hash.js';
import { systemClock, formatTime, type Clock } from '../lib/clock.js';
import { parseJson } from '../lib/json.js';
import type { Queryable, Row } from './storage/types.js';
import { isCollectionPattern, matchesPattern } from './names.js';

/**
 * Roles a token can have on the collections its patterns match, weakest first:
 * reader (GET when anonymous reads are off), publisher (publish targets), admin (publish root and
 * targets, create collections, manage tokens, read the audit log).
 */
export type TokenRole = 'reader' | 'publisher' | 'admin';

/** Every role, weakest first. */
export const TOKEN_ROLES: readonly TokenRole[] = Object.freeze(['reader', 'publisher', 'admin']);

const RANK: Record<TokenRole, number> = { reader: 1, publisher: 2, admin: 3 };

/** True when a token of role `have` may do what needs role `need`. */
export function roleAllows(have: TokenRole, need: TokenRole): boolean {
  return RANK[have] >= RANK[need];
}

/** A stored token (never its secret: only the SHA-256 of it is kept). */
export interface TokenRecord {
  readonly id: string;
  readonly name: string;
  readonly role: TokenRole;
  /** Collection patterns (`reg.example.com/team/*`, `reg.example.com/**`, `**`). */
  readonly patterns: readonly string[];
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly revokedAt: string | null;
  /** Who created it: a token id, or `cli` for the operator's command line. */
  readonly createdBy: string | null;
}

/** True when `token` is usable at `now` and has at least role `need` on `collection`. */
export function tokenAllows(token: TokenRecord, need: TokenRole, collection: string | null, now: Date): boolean {
  if (!tokenUsable(token, now) || !roleAllows(token.role, need)) return false;
  // Collection-less operations (listing tokens, the whole audit log) need a pattern for everything.
  if (collection === null) return token.patterns.includes('**');
  return token.patterns.some((p) => matchesPattern(p, collection));
}

/** True when the token is neither revoked nor expired at `now`. */
export function tokenUsable(token: TokenRecord, now: Date): boolean {
  if (token.revokedAt !== null) return false;
  return token.expiresAt === null || Date.parse(token.expiresAt) > now.getTime();
}

/** Token secrets look like `ocit_<43 base64url chars>`; anything else is rejected before hashing. */
const TOKEN_RE = /^ocit_[A-Za-z0-9_-]{43}$/;

/** True when `s` has the shape of a token secret. */
export function isTokenSecret(s: unknown): s is string {
  return typeof s === 'string' && TOKEN_RE.test(s);
}

/** The stored hash of a token secret: hex SHA-256 (the secret has 256 random bits, so no KDF is needed). */
export function hashToken(secret: string): string {
  return sha256Hex(secret);
}

/** Options of {@link createToken}. */
export interface CreateTokenOptions {
  readonly role: TokenRole;
  readonly patterns: readonly string[];
  /** A label for the audit log; defaults to the id. */
  readonly name?: string;
  readonly expiresAt?: Date | null;
  readonly createdBy?: string | null;
  readonly clock?: Clock;
}

/**
 * Creates a token and stores only its hash. The secret is returned once and cannot be recovered.
 *
 * @throws OcitrustError INVALID_ARGUMENT (role, name), TOKEN_PATTERN_INVALID, STORAGE_* from the database
 * @example const { secret } = await createToken(db, { role: 'publisher', patterns: ['reg.example.com/team/*'] })
 */
export async function createToken(db: Queryable, opts: CreateTokenOptions): Promise<{ secret: string; token: TokenRecord }> {
  assertArg(TOKEN_ROLES.includes(opts.role), 'role', `one of ${TOKEN_ROLES.join(', ')}`, opts.role);
  assertArg(Array.isArray(opts.patterns) && opts.patterns.length > 0 && opts.patterns.length <= 64, 'patterns', '1 to 64 collection patterns', opts.patterns);
  for (const p of opts.patterns) {
    if (!isCollectionPattern(p)) {
      throw new OcitrustError('TOKEN_PATTERN_INVALID', `${JSON.stringify(String(p).slice(0, 80))} is not a collection pattern (e.g. reg.example.com/team/*, reg.example.com/**, **)`);
    }
  }
  const name = opts.name ?? null;
  assertArg(name === null || (typeof name === 'string' && /^[A-Za-z0-9._@:/-]{1,128}$/.test(name)), 'name', '1-128 characters of letters, digits and ._@:/-', name);
  const now = (opts.clock ?? systemClock).now();
  const id = 'tok_' + randomBytes(8).toString('hex');
  const secret = 'ocit_' + randomBytes(32).toString('base64url');
  const expiresAt = opts.expiresAt ?? null;
  assertArg(expiresAt === null || (expiresAt instanceof Date && expiresAt.getTime() > now.getTime()), 'expiresAt', 'a Date in the future', expiresAt);
  await db.exec(
    'INSERT INTO trust_tokens (id, name, hash, role, patterns, created_at, expires_at, revoked_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8)',
    [id, name ?? id, hashToken(secret), opts.role, JSON.stringify([...new Set(opts.patterns)]), now.getTime(), expiresAt?.getTime() ?? null, opts.createdBy ?? null],
  );
  const token = await getToken(db, id);
  return { secret, token: token! };
}

/** Every token, newest first. */
export async function listTokens(db: Queryable): Promise<TokenRecord[]> {
  const rows = await db.query('SELECT * FROM trust_tokens ORDER BY created_at DESC, id');
  return rows.map(toRecord);
}

/** One token by id, or null. */
export async function getToken(db: Queryable, id: string): Promise<TokenRecord | null> {
  const rows = await db.query('SELECT * FROM trust_tokens WHERE id = $1', [id]);
  return rows[0] ? toRecord(rows[0]) : null;
}

/** The token whose secret is `secret`, or null (unknown or malformed; revoked ones are returned, check {@link tokenUsable}). */
export async function findTokenBySecret(db: Queryable, secret: string): Promise<TokenRecord | null> {
  if (!isTokenSecret(secret)) return null;
  const rows = await db.query('SELECT * FROM trust_tokens WHERE hash = $1', [hashToken(secret)]);
  return rows[0] ? toRecord(rows[0]) : null;
}

/**
 * Revokes a token (kept for the audit trail; revoking twice keeps the first time).
 * @throws OcitrustError TOKEN_NOT_FOUND
 */
export async function revokeToken(db: Queryable, id: string, clock: Clock = systemClock): Promise<TokenRecord> {
  await db.exec('UPDATE trust_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL', [id, clock.now().getTime()]);
  const t = await getToken(db, id);
  if (!t) throw new OcitrustError('TOKEN_NOT_FOUND', `no token with id ${JSON.stringify(id.slice(0, 40))}`);
  return t;
}

function toRecord(r: Row): TokenRecord {
  let patterns: string[] = [];
  try {
    const v = parseJson(String(r.patterns), { maxBytes: 64 * 1024, what: 'token patterns' });
    if (Array.isArray(v)) patterns = v.filter((x): x is string => typeof x === 'string');
  } catch {
    patterns = []; // an unreadable row grants nothing
  }
  const t = (v: unknown): string | null => (v === null || v === undefined ? null : formatTime(new Date(Number(v))));
  const role = TOKEN_ROLES.includes(r.role as TokenRole) ? (r.role as TokenRole) : 'reader';
  return Object.freeze({
    id: String(r.id),
    name: String(r.name),
    role,
    patterns: Object.freeze(patterns),
    createdAt: t(r.created_at)!,
    expiresAt: t(r.expires_at),
    revokedAt: t(r.revoked_at),
    createdBy: r.created_by === null || r.created_by === undefined ? null : String(r.created_by),
  });
}

/** JSON schema of a {@link TokenRecord} (routes and OpenAPI). */
export const tokenRecordSchema = {
  $id: 'Token',
  type: 'object',
  required: ['id', 'name', 'role', 'patterns', 'createdAt', 'expiresAt', 'revokedAt', 'createdBy'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    role: { type: 'string', enum: ['reader', 'publisher', 'admin'] },
    patterns: { type: 'array', items: { type: 'string' } },
    createdAt: { type: 'string' },
    expiresAt: { type: ['string', 'null'] },
    revokedAt: { type: ['string', 'null'] },
    createdBy: { type: ['string', 'null'] },
  },
} as const;

/** Parses `--collections a,b` style input. */
export function parsePatternList(s: string): string[] {
  return s.split(',').map((x) => x.trim()).filter((x) => x.length > 0);
}

