// Hot reload of the admission policy file (server/policy-reload.ts): edits take effect without
// a restart, a broken edit keeps the last good policy, and the webhooks of a real server follow
// the file.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicyFile } from '../../lib/policy/load.js';
import { watchPolicyFile, type WatchedPolicy } from '../../server/policy-reload.js';
import { testApp } from '../helpers/trust-server.js';
import { podReview } from '../helpers/admission-review.js';

// Both decide before any network I/O: skip, and a denied tag.
const ALLOW_ALL = 'version: 1\nrules:\n  - name: app\n    images: ["registry.example.com/**"]\n    mode: skip\n';
const DENY_LATEST = 'version: 1\nrules:\n  - name: app\n    images: ["registry.example.com/**"]\n    denyTags: [latest]\n';

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('policy file hot reload', () => {
  it('follows edits, keeps the last good policy on a broken or refused edit, stops when told', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ocitrust-policy-'));
    const path = join(dir, 'policy.yaml');
    writeFileSync(path, ALLOW_ALL);
    const events: ({ ok: true; revision: string } | { ok: false; error: unknown })[] = [];
    let refuse = false;
    const w = watchPolicyFile(path, await loadPolicyFile(path), {
      intervalMs: 20,
      check: () => {
        if (refuse) throw new Error('refused by the server check');
      },
      onReload: (r) => events.push(r),
    });
    try {
      const first = w.get().revision;
      writeFileSync(path, DENY_LATEST);
      await until(() => w.get().revision !== first, 'the edit to take effect');
      const second = w.get().revision;
      assert.ok(events.at(-1)?.ok);

      writeFileSync(path, 'version: 1\nrules: [ {name: x\n');
      await until(() => events.some((e) => !e.ok), 'the broken edit to be reported');
      assert.equal(w.get().revision, second, 'a broken edit keeps the last good policy');

      refuse = true;
      writeFileSync(path, ALLOW_ALL);
      assert.equal(await w.reload(), false);
      assert.equal(w.get().revision, second, 'a refused edit keeps the last good policy');
      refuse = false;
      assert.equal(await w.reload(), true);
      assert.equal(w.get().revision, first);

      w.stop();
      writeFileSync(path, DENY_LATEST + '# edited after stop\n');
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(w.get().revision, first, 'no reload after stop');
    } finally {
      w.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an edit made while a reload runs, or before the first poll, is not lost', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ocitrust-policy-'));
    const path = join(dir, 'policy.yaml');
    writeFileSync(path, ALLOW_ALL);
    const initial = await loadPolicyFile(path);
    // Edited right after the initial load, before any poll: fs.watchFile would have taken this
    // as its baseline and never reloaded.
    writeFileSync(path, DENY_LATEST);
    let w: WatchedPolicy | undefined;
    let raced = false;
    w = watchPolicyFile(path, initial, {
      intervalMs: 20,
      check: (p) => {
        // A tightening edit lands while this (older) read is being checked, and the poll asks
        // for a reload meanwhile: it must be read once more, not dropped.
        if (!raced && p.revision !== initial.revision) {
          raced = true;
          writeFileSync(path, DENY_LATEST + '# tightened again\n');
          void w!.reload();
        }
      },
    });
    try {
      await until(() => raced, 'the first reload');
      const last = (await loadPolicyFile(path)).revision;
      await until(() => w!.get().revision === last, 'the edit made during the reload to take effect');
    } finally {
      w.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the admission webhooks of a running server follow the policy file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ocitrust-policy-'));
    const path = join(dir, 'policy.yaml');
    writeFileSync(path, ALLOW_ALL);
    let watched: WatchedPolicy | undefined;
    const t = await testApp({ admission: { policy: path, policyReloadIntervalMs: 20, onPolicyWatch: (w) => (watched = w) } });
    const review = podReview({ namespace: 'default', images: ['registry.example.com/app:latest'] });
    const allowed = async (): Promise<boolean> => {
      const r = await t.app.inject({ method: 'POST', url: '/admission/validate', payload: review });
      assert.equal(r.statusCode, 200, r.body);
      return r.json().response.allowed as boolean;
    };
    try {
      assert.equal(await allowed(), true);
      const before = watched!.get().revision;
      writeFileSync(path, DENY_LATEST);
      await until(() => watched!.get().revision !== before, 'the server to reload');
      assert.equal(await allowed(), false, 'the new policy denies :latest');
      writeFileSync(path, 'not: [valid');
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(await allowed(), false, 'a broken edit leaves the last good policy in force');
    } finally {
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
