import { OcitrustError } from '../lib/errors/index.js';
import { formatTime, parseTime, type Clock } from '../lib/clock.js';
import { parseJson, isJsonObject } from '../lib/json.js';
import type { Queryable, Row, SqlValue } from './storage/types.js';

/** How an audited attempt ended. */
export type AuditOutcome = 'ok' | 'denied' | 'rejected' | 'error';

/** What {@link AuditLog.record} stores: who did what, to which collection, with what result. */
export interface AuditInput {
  /** Token name, or `anonymous`, or `cli`. */
  readonly actor: string;
  readonly tokenId?: string | null;
  /** e.g. `publish`, `collection.create`, `token.create`, `token.revoke`, `audit.read`, `metadata.read`. */
  readonly action: string;
  readonly collection?: string | null;
  /** Versions involved, e.g. `{root: 2, targets: 5, snapshot: 7}`. */
  readonly versions?: Readonly<Record<string, number>> | null;
  /** Client address. */
  readonly source?: string | null;
  readonly outcome: AuditOutcome;
  /** Error code of a denied or rejected attempt. */
  readonly code?: string | null;
  /** Short free text (never secrets). */
  readonly detail?: string | null;
}

/** A stored audit entry. */
export interface AuditEntry {
  readonly id: number;
  /** `YYYY-MM-DDTHH:MM:SSZ`. */
  readonly at: string;
  readonly actor: string;
  readonly tokenId: string | null;
  readonly action: string;
  readonly collection: string | null;
  readonly versions: Record<string, number> | null;
  readonly source: string | null;
  readonly outcome: AuditOutcome;
  readonly code: string | null;
  readonly detail: string | null;
}

/** Filters and paging of {@link AuditLog.query}. */
export interface AuditQuery {
  readonly collection?: string;
  /** Matches the actor name or the token id. */
  readonly actor?: string;
  /** Inclusive lower bound, `YYYY-MM-DDTHH:MM:SSZ`. */
  readonly since?: string;
  /** Exclusive upper bound. */
  readonly until?: string;
  readonly outcome?: AuditOutcome;
  /** 1–1000, default 100. */
  readonly limit?: number;
  /** The `nextCursor` of the previous page. */
  readonly cursor?: string;
}

/** The default retention (days); the issue asks for at least 90. */
export const DEFAULT_AUDIT_RETENTION_DAYS = 90;

/**
 * The audit log: every write and every denied attempt, in the same database as the trust data
 * (a successful publish writes its entry inside the publish transaction, so an acknowledged
 * publish always has its entry). Pages go newest first by a cursor over the entry id.
 */
export class AuditLog {
  constructor(
    private readonly db: Queryable,
    private readonly clock: Clock,
    private readonly onWrite?: (outcome: AuditOutcome) => void,
  ) {}

  /** Appends one entry, on `tx` when given (inside a transaction); returns its id (webhook events link to it). */
  async record(e: AuditInput, tx?: Queryable): Promise<number> {
    const rows = await (tx ?? this.db).query<{ id: number }>(
      'INSERT INTO trust_audit (at, actor, token_id, action, collection, versions, source, outcome, code, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id',
      [
        this.clock.now().getTime(),
        e.actor.slice(0, 200),
        e.tokenId ?? null,
        e.action,
        e.collection?.slice(0, 300) ?? null,
        e.versions ? JSON.stringify(e.versions) : null,
        e.source ?? null,
        e.outcome,
        e.code ?? null,
        e.detail?.slice(0, 500) ?? null,
      ],
    );
    this.onWrite?.(e.outcome);
    return Number(rows[0]?.id ?? 0);
  }

  /**
   * One page of entries, newest first.
   * @throws OcitrustError AUDIT_QUERY_INVALID for a bad cursor or time bound
   */
  async query(q: AuditQuery): Promise<{ entries: AuditEntry[]; nextCursor: string | null }> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    const add = (sql: string, v: SqlValue): void => {
      params.push(v);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (q.collection !== undefined) add('collection = ?', q.collection);
    if (q.actor !== undefined) {
      params.push(q.actor);
      where.push(`(actor = $${params.length} OR token_id = $${params.length})`);
    }
    if (q.since !== undefined) add('at >= ?', timeBound(q.since, 'since'));
    if (q.until !== undefined) add('at < ?', timeBound(q.until, 'until'));
    if (q.outcome !== undefined) add('outcome = ?', q.outcome);
    if (q.cursor !== undefined) add('id < ?', decodeCursor(q.cursor));
    const limit = q.limit ?? 100;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) {
      throw new OcitrustError('AUDIT_QUERY_INVALID', `limit: expected an integer from 1 to 1000, got ${String(limit).slice(0, 20)}`);
    }
    params.push(limit + 1);
    const sql = `SELECT * FROM trust_audit${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${params.length}`;
    const rows = await this.db.query(sql, params);
    const entries = rows.slice(0, limit).map(toEntry);
    const last = entries[entries.length - 1];
    return { entries, nextCursor: rows.length > limit && last ? encodeCursor(last.id) : null };
  }

  /** Deletes entries older than `days` days; returns how many. */
  async prune(days: number): Promise<number> {
    const cutoff = this.clock.now().getTime() - days * 86_400_000;
    const r = await this.db.exec('DELETE FROM trust_audit WHERE at < $1', [cutoff]);
    return r.changes;
  }
}

function timeBound(s: string, what: string): number {
  const d = parseTime(s);
  if (!d) throw new OcitrustError('AUDIT_QUERY_INVALID', `${what}: expected YYYY-MM-DDTHH:MM:SSZ, got ${JSON.stringify(s.slice(0, 40))}`);
  return d.getTime();
}

function encodeCursor(id: number): string {
  return Buffer.from(`a${id}`).toString('base64url');
}

function decodeCursor(c: string): number {
  const s = /^[A-Za-z0-9_-]{1,40}$/.test(c) ? Buffer.from(c, 'base64url').toString('utf8') : '';
  const m = /^a([1-9][0-9]{0,15})$/.exec(s);
  if (!m) throw new OcitrustError('AUDIT_QUERY_INVALID', 'cursor: expected a nextCursor value returned by the server');
  return Number(m[1]);
}

function toEntry(r: Row): AuditEntry {
  let versions: Record<string, number> | null = null;
  if (typeof r.versions === 'string') {
    try {
      const v = parseJson(r.versions, { maxBytes: 4096, what: 'audit versions' });
      if (isJsonObject(v)) versions = v as Record<string, number>;
    } catch {
      versions = null;
    }
  }
  const s = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
  return {
    id: Number(r.id),
    at: formatTime(new Date(Number(r.at))),
    actor: String(r.actor),
    tokenId: s(r.token_id),
    action: String(r.action),
    collection: s(r.collection),
    versions,
    source: s(r.source),
    outcome: String(r.outcome) as AuditOutcome,
    code: s(r.code),
    detail: s(r.detail),
  };
}

/** JSON schema of an {@link AuditEntry} (routes and OpenAPI). */
export const auditEntrySchema = {
  $id: 'AuditEntry',
  type: 'object',
  required: ['id', 'at', 'actor', 'tokenId', 'action', 'collection', 'versions', 'source', 'outcome', 'code', 'detail'],
  properties: {
    id: { type: 'integer' },
    at: { type: 'string' },
    actor: { type: 'string' },
    tokenId: { type: ['string', 'null'] },
    action: { type: 'string' },
    collection: { type: ['string', 'null'] },
    versions: { type: ['object', 'null'], additionalProperties: { type: 'integer' } },
    source: { type: ['string', 'null'] },
    outcome: { type: 'string', enum: ['ok', 'denied', 'rejected', 'error'] },
    code: { type: ['string', 'null'] },
    detail: { type: ['string', 'null'] },
  },
} as const;
