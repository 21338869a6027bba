import { join } from 'node:path';
import { OcitrustError, assertArg } from '../lib/errors/index.js';
import { parseTime, systemClock } from '../lib/clock.js';
import { openDb } from './storage/index.js';
import { trustMigrations } from './trust/migrations.js';
import { AuditLog } from './audit.js';
import { webhookEvents, webhookMigrations } from './webhooks/index.js';
import { tokenCreatedEvent, tokenRevokedEvent } from './webhooks/denials.js';
import { createToken, listTokens, parsePatternList, revokeToken, TOKEN_ROLES, type TokenRecord, type TokenRole } from './tokens.js';

/** Options of {@link tokenCommand} (what `trust server token …` parses from its flags). */
export interface TokenCommandOptions {
  readonly action: 'create' | 'list' | 'revoke';
  /** `postgres://…` URL or SQLite path; default `<dataDir>/ocitrust.db`. */
  readonly database?: string;
  /** Default `ocitrust-data`. */
  readonly dataDir?: string;
  /** create: role. */
  readonly role?: string;
  /** create: comma-separated collection patterns (`reg.example.com/team/*,reg.example.com/other`). */
  readonly collections?: string;
  /** create: label shown in the audit log. */
  readonly name?: string;
  /** create: expiry, `YYYY-MM-DDTHH:MM:SSZ`. */
  readonly expires?: string;
  /** revoke: token id. */
  readonly id?: string;
}

/** What {@link tokenCommand} returns, for text or `--json` output. */
export type TokenCommandResult =
  | { readonly action: 'create'; readonly secret: string; readonly token: TokenRecord }
  | { readonly action: 'list'; readonly tokens: readonly TokenRecord[] }
  | { readonly action: 'revoke'; readonly token: TokenRecord };

/**
 * The operator's token administration, run directly against the server's database (this is how
 * the first admin token is made). Writes an audit entry with actor `cli` for create and revoke.
 * The CLI wires it as `trust server token create --role publisher --collections 'reg/team/*'`,
 * `trust server token list`, `trust server token revoke <id>`.
 *
 * @throws OcitrustError INVALID_ARGUMENT, TOKEN_PATTERN_INVALID, TOKEN_NOT_FOUND, STORAGE_*
 * @example const r = await tokenCommand({ action: 'create', role: 'admin', collections: '**', dataDir });
 */
export async function tokenCommand(o: TokenCommandOptions): Promise<TokenCommandResult> {
  assertArg(['create', 'list', 'revoke'].includes(o.action), 'action', 'create, list or revoke', o.action);
  const db = await openDb(o.database ?? join(o.dataDir ?? 'ocitrust-data', 'ocitrust.db'), { migrations: [trustMigrations, webhookMigrations] });
  try {
    const audit = new AuditLog(db, systemClock);
    const events = webhookEvents(db, systemClock);
    if (o.action === 'list') return { action: 'list', tokens: await listTokens(db) };
    if (o.action === 'revoke') {
      assertArg(typeof o.id === 'string' && o.id.length > 0, 'id', 'a token id (tok_…)', o.id);
      const id = o.id;
      const token = await db.transaction(async (tx) => {
        const t = await revokeToken(tx, id);
        const auditId = await audit.record({ actor: 'cli', action: 'token.revoke', outcome: 'ok', detail: t.id }, tx);
        await events.record(tx, tokenRevokedEvent(t, 'cli', auditId));
        return t;
      });
      return { action: 'revoke', token };
    }
    assertArg(TOKEN_ROLES.includes(o.role as TokenRole), '--role', TOKEN_ROLES.join(', '), o.role);
    assertArg(typeof o.collections === 'string' && o.collections.length > 0, '--collections', 'comma-separated collection patterns', o.collections);
    let expiresAt: Date | null = null;
    if (o.expires !== undefined) {
      expiresAt = parseTime(o.expires);
      if (!expiresAt) throw new OcitrustError('INVALID_ARGUMENT', `--expires: expected YYYY-MM-DDTHH:MM:SSZ, got ${JSON.stringify(o.expires.slice(0, 40))}`);
    }
    const collections = o.collections;
    const { secret, token } = await db.transaction(async (tx) => {
      const c = await createToken(tx, {
        role: o.role as TokenRole,
        patterns: parsePatternList(collections),
        ...(o.name !== undefined ? { name: o.name } : {}),
        expiresAt,
        createdBy: 'cli',
      });
      const auditId = await audit.record({ actor: 'cli', action: 'token.create', outcome: 'ok', detail: `${c.token.id} ${c.token.role} ${c.token.patterns.join(',')}` }, tx);
      await events.record(tx, tokenCreatedEvent(c.token, 'cli', auditId));
      return c;
    });
    return { action: 'create', secret, token };
  } finally {
    await db.close();
  }
}
