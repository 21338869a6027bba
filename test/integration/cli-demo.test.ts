// The README's first command: the end-to-end demo on the embedded defaults (a trust server with
// its embedded registry, the real trust commands, a tampered image refused) exits 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../helpers/cli.js';

test('cli/demo.ts: signs, verifies, and refuses the tampered image', { timeout: 120_000 }, () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'cli', 'demo.ts')], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    timeout: 110_000,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1' },
  });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /\$ trust sign .*\n.*\(referrers API\)\n\(exit 0\)/);
  assert.match(r.stdout, /\$ trust verify \S+:v1\n✓ .* verified {2}alice/);
  assert.match(r.stdout, /replaces .* with other content[^]*\$ trust verify \S+:v1\n✗ .*NOT verified: .*\[NO_SIGNATURES\]\n\(exit 1\)/);
  assert.match(r.stdout, /Demo finished: signed image verified, tampered image refused\./);
  assert.doesNotMatch(r.stdout, /!!/);
  assert.match(r.stdout, /Run `npm start -- --keep` to keep the server and its folder running/);
});

test('npm start -- --keep: the server and folder stay, and the printed commands work as printed', { timeout: 180_000 }, async (t) => {
  const { spawn } = await import('node:child_process');
  const { existsSync, rmSync } = await import('node:fs');
  const { runTrust } = await import('../helpers/cli.js');
  const child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'cli', 'demo.ts'), '--keep'], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const block = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /Try it yourself[^]*?trust inspect \S+\n/.exec(out);
      if (m) resolve(m[0]);
    });
    void exited.then((code) => reject(new Error(`demo exited ${code} before the block:\n${out}`)));
  });
  const folder = /the folder (\S+) stays/.exec(block)![1]!;
  t.after(() => rmSync(folder, { recursive: true, force: true }));
  const env: Record<string, string> = {};
  for (const [, k, v] of block.matchAll(/(OCITRUST_[A-Z_]+)=(\S+)/g)) env[k!] = v!;
  assert.deepEqual(Object.keys(env).sort(), ['OCITRUST_HOME', 'OCITRUST_PASSPHRASE', 'OCITRUST_SERVER']);
  const tokenFile = /--token-file (\S+)/.exec(block)![1]!;
  const login = await runTrust(['login', env.OCITRUST_SERVER!, '--token-file', tokenFile], { env, dist: true });
  assert.equal(login.code, 0, login.stderr);
  const digestRef = /trust verify (\S+@sha256:[0-9a-f]{64}) +# verified/.exec(block)![1]!;
  const good = await runTrust(['verify', digestRef], { env, dist: true });
  assert.equal(good.code, 0, good.stdout + good.stderr);
  const tagRef = /trust verify (\S+:v1) +# refused/.exec(block)![1]!;
  const bad = await runTrust(['verify', tagRef], { env, dist: true });
  assert.equal(bad.code, 1, bad.stdout + bad.stderr);
  child.kill('SIGINT');
  assert.equal(await exited, 0, out);
  assert.match(out, /Stopped the server; the folder \S+ stays/);
  assert.ok(existsSync(join(folder, 'home')), 'the folder is kept');
});
