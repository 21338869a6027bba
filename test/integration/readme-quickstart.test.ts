// The README's quick start, run VERBATIM: the fenced block under "## Quick start" is extracted
// from README.md and run with bash (-e: every step must succeed) from the project root, as a
// reader would after the set-up command, against the built binary (dist/). Only environment
// differs: a scratch HOME and a free OCITRUST_PORT (the block reads it with a default). So the
// README cannot drift from what works (issue 14).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../helpers/cli.js';
import { missingPrograms } from '../helpers/oci-layout.js';

/** The shell block of the README's quick start section. */
function quickStartBlock(readme: string): string {
  const section = /^## Quick start[^\n]*\n([^]*?)(?=^## )/m.exec(readme);
  assert.ok(section, 'README.md has a "## Quick start" section');
  const block = /```sh\n([^]*?)```/.exec(section[1]!);
  assert.ok(block, 'the quick start section has a ```sh block');
  return block[1]!;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

const skip = missingPrograms('skopeo', 'bash');

test('README quick start: pasted into bash, it signs, verifies, and refuses the moved tag', { timeout: 180_000, skip }, async () => {
  const block = quickStartBlock(await readFile(join(PROJECT_ROOT, 'README.md'), 'utf8'));
  const home = await mkdtemp(join(tmpdir(), 'ocitrust-readme-'));
  const port = await freePort();
  // Its own process group, so the server the block leaves running in the background is stopped
  // with it (by the group id of this one child).
  const child = spawn('bash', ['-e', '-c', block], {
    cwd: PROJECT_ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH, HOME: home, OCITRUST_PORT: String(port), NO_COLOR: '1', LANG: 'C.UTF-8' },
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (out += d.toString('utf8')));
  try {
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0, out);
    const image = `127.0.0.1:${port}/team/app`;
    const steps: [string, RegExp][] = [
      ['login with the bootstrap token', new RegExp(`Logged in to http://127\\.0\\.0\\.1:${port} as bootstrap-admin \\(admin on \\*\\*; expires \\d{4}-`)],
      ['whoami', /bootstrap-admin \(tok_[0-9a-f]{16}\) on .*: admin on \*\*; expires /],
      ['skopeo push of v1', /Writing manifest to image destination/],
      ['key generate', /Generated key alice; public key written to /],
      ['init', new RegExp(`Initialized ${image.replace(/\./g, '\\.')} on `)],
      ['signer add', /Added signer alice to /],
      ['sign', /Signed .* as alice → sha256:[0-9a-f]{64} \(referrers API\)/],
      ['verify', new RegExp(`✓ ${image.replace(/\./g, '\\.')}:v1@sha256:[0-9a-f]{64} {2}verified {2}alice`)],
      ['tampered image refused', new RegExp(`✗ ${image.replace(/\./g, '\\.')}:v1@sha256:[0-9a-f]{64} {2}NOT verified: .*\\[NO_SIGNATURES\\]`)],
      ['exit code 1 for the refusal', /refused: exit 1\s*$/],
    ];
    let at = 0;
    for (const [what, re] of steps) {
      const m = re.exec(out.slice(at));
      assert.ok(m, `step "${what}" missing (in order) from:\n${out}`);
      at += m.index + m[0].length;
    }
    // The bootstrap token is in a file only its owner reads, and never in the server's log.
    const tokenFile = join(home, 'ocitrust-quickstart', 'server', 'admin-token');
    assert.equal((await stat(tokenFile)).mode & 0o777, 0o600);
    const token = (await readFile(tokenFile, 'utf8')).trim();
    assert.match(token, /^ocit_/);
    const log = await readFile(join(home, 'ocitrust-quickstart', 'server.log'), 'utf8');
    assert.match(log, /created the first admin token .* in .*admin-token/);
    assert.ok(!log.includes(token), 'the token is not in the server log');
    assert.ok(!out.includes(token), 'the token is not printed');
  } finally {
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      /* the group is gone already */
    }
    await rm(home, { recursive: true, force: true });
  }
});
