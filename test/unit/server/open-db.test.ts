// openDb (server/storage/index.ts) picks the driver from the URL; a URL of any other scheme is
// an input error, never a SQLite file quietly created under a name like "mysql:/x".
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isOcitrustError } from '../../../lib/errors/index.js';
import { isPostgresUrl, openDb } from '../../../server/storage/index.js';

describe('openDb', () => {
  it('refuses URLs of other databases, creating nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ocitrust-opendb-'));
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      for (const url of ['mysql://x', 'postgress://db/x', 'sqlite3://x', 'http://db.example/x']) {
        await assert.rejects(openDb(url), (e: unknown) => isOcitrustError(e, 'INVALID_ARGUMENT') && /postgres:\/\//.test(e.message) && !/\n\s+at /.test(e.message), url);
      }
      for (const leftover of ['mysql:', 'postgress:', 'sqlite3:', 'http:']) assert.equal(existsSync(join(dir, leftover)), false, leftover);
    } finally {
      process.chdir(cwd);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('opens SQLite for a path and for sqlite:PATH', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ocitrust-opendb-'));
    try {
      for (const p of [join(dir, 'a.db'), `sqlite:${join(dir, 'b.db')}`]) {
        const db = await openDb(p);
        await db.close();
      }
      assert.ok(existsSync(join(dir, 'a.db')) && existsSync(join(dir, 'b.db')));
      assert.equal(isPostgresUrl('postgresql://u@h/db'), true);
      assert.equal(isPostgresUrl(join(dir, 'a.db')), false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
