/**
 * Attack (issue 12, item 14): a blob upload retried after a server crash failed with
 * DIGEST_INVALID — the finishing PUT carried the last chunk, the crashed attempt had already
 * appended it, and the retry appended it a second time.
 *
 * A real registry process (test/helpers/embedded-registry.ts run as a program) is killed with
 * SIGKILL at each step of a finishing PUT (crash points of server/registry/failpoints.ts: after
 * the chunk is written, after the digest is verified, after the blob file is in place, after the
 * blob is linked), restarted on the same data, and the same PUT is sent again: it must answer
 * 201 with exactly the uploaded bytes, on SQLite and PostgreSQL. A PUT retried after a success
 * answers 201 again; a different digest on a finished session does not.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedRegistry } from '../helpers/embedded-registry.js';
import { freshPostgresDatabase, postgresSkipReason, type TestDatabase } from '../helpers/postgres.js';
import { UPLOAD_FAILPOINTS } from '../../server/registry/failpoints.js';

const sha = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const helper = new URL('../helpers/embedded-registry.ts', import.meta.url).pathname;

/** Starts the registry as a child process with `failpoint` armed; resolves with its URL. */
async function childRegistry(dataDir: string, dbUrl: string, failpoint: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', helper, dataDir, dbUrl], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, OCITRUST_TEST_FAILPOINTS: failpoint },
  });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  const { host } = JSON.parse(line.toString()) as { host: string };
  return { child, url: `http://${host}` };
}

/** A session with the first 1000 bytes of `whole` acknowledged; returns its Location. */
async function sessionWithFirstChunk(url: string, name: string, whole: Uint8Array): Promise<string> {
  const start = await fetch(`${url}/v2/${name}/blobs/uploads/`, { method: 'POST' });
  assert.equal(start.status, 202);
  const loc = start.headers.get('location')!;
  const r = await fetch(`${url}${loc}`, { method: 'PATCH', body: whole.subarray(0, 1000), headers: { 'content-type': 'application/octet-stream', 'content-range': '0-999' } });
  assert.equal(r.status, 202);
  await r.arrayBuffer();
  return r.headers.get('location')!;
}

/** The finishing PUT with the last chunk (with or without Content-Range, as clients differ). */
function finish(url: string, loc: string, whole: Uint8Array, withRange: boolean): Promise<Response> {
  const rest = whole.subarray(1000);
  return fetch(`${url}${loc}${loc.includes('?') ? '&' : '?'}digest=${sha(whole)}`, {
    method: 'PUT',
    body: rest,
    headers: { 'content-type': 'application/octet-stream', ...(withRange ? { 'content-range': `1000-${whole.length - 1}` } : {}) },
  });
}

for (const engine of ['sqlite', 'postgres'] as const) {
  const skip = engine === 'postgres' ? postgresSkipReason() : undefined;
  describe(`attack: a finishing blob PUT retried after a SIGKILL (${engine})`, { skip }, () => {
    const dbs: TestDatabase[] = [];
    const dirs: string[] = [];
    after(async () => {
      for (const d of dbs) await d.drop();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });

    async function crashThenRetry(point: string, withRange: boolean): Promise<void> {
      const dataDir = mkdtempSync(join(tmpdir(), 'ocitrust-upload-retry-'));
      dirs.push(dataDir);
      const pg = engine === 'postgres' ? await freshPostgresDatabase() : undefined;
      if (pg) dbs.push(pg);
      const dbUrl = pg?.url ?? join(dataDir, 'ocitrust.db');
      const whole = randomBytes(3000);
      const { child, url } = await childRegistry(dataDir, dbUrl, point);
      let loc: string;
      try {
        loc = await sessionWithFirstChunk(url, 'retry/app', whole);
        const exited = once(child, 'exit');
        // The server dies inside this request: the client sees a broken connection, as after a crash.
        await assert.rejects(finish(url, loc, whole, withRange));
        const [, signal] = (await exited) as [number | null, string | null];
        assert.equal(signal, 'SIGKILL', `the registry must have died at ${point}`);
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }

      const restarted = await startEmbeddedRegistry({ dataDir, dbUrl });
      try {
        const retry = await finish(restarted.url, loc, whole, withRange);
        const body = await retry.text();
        assert.equal(retry.status, 201, `retry after a crash at ${point}: ${retry.status} ${body}`);
        assert.equal(retry.headers.get('docker-content-digest'), sha(whole));
        const got = await fetch(`${restarted.url}/v2/retry/app/blobs/${sha(whole)}`);
        assert.equal(got.status, 200);
        assert.ok(Buffer.from(await got.arrayBuffer()).equals(whole), 'exactly the uploaded bytes');
        // Retried once more (a client that lost the first 201 too): still 201, nothing changes.
        const again = await finish(restarted.url, loc, whole, withRange);
        await again.arrayBuffer();
        assert.equal(again.status, 201);
        // The finished session does not take another blob.
        const other = randomBytes(3000);
        other.set(whole.subarray(0, 1000), 0);
        const wrong = await finish(restarted.url, loc, other, withRange);
        const wrongBody = (await wrong.json()) as { errors: { code: string }[] };
        assert.equal(wrong.status, 404, JSON.stringify(wrongBody));
        assert.equal(wrongBody.errors[0]?.code, 'BLOB_UPLOAD_UNKNOWN');
      } finally {
        await restarted.close();
      }
    }

    for (const point of UPLOAD_FAILPOINTS) {
      it(`crash at ${point}, then the same PUT (no Content-Range) → 201 with the right bytes`, async () => {
        await crashThenRetry(point, false);
      });
    }
    it('crash after the chunk was appended, then the same PUT with Content-Range → 201', async () => {
      await crashThenRetry('registry.upload.appended', true);
    });

    it('a PUT retried after a success (the 201 was lost) answers 201 again', async () => {
      const reg = await startEmbeddedRegistry(engine === 'postgres' ? { db: 'postgres' } : {});
      try {
        const whole = randomBytes(3000);
        const loc = await sessionWithFirstChunk(reg.url, 'retry/ok', whole);
        for (let i = 0; i < 3; i++) {
          const r = await finish(reg.url, loc, whole, i === 1);
          await r.arrayBuffer();
          assert.equal(r.status, 201, `attempt ${i + 1}`);
        }
        const got = await fetch(`${reg.url}/v2/retry/ok/blobs/${sha(whole)}`);
        assert.ok(Buffer.from(await got.arrayBuffer()).equals(whole));
        // A session finished in another repository is not this one's.
        const elsewhere = await fetch(`${reg.url}${loc.replace('/retry/ok/', '/retry/other/')}?digest=${sha(whole)}`, { method: 'PUT' });
        assert.equal(elsewhere.status, 404);
      } finally {
        await reg.close();
      }
    });
  });
}
