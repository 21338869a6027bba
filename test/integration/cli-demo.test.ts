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
});
