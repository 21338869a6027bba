// `--help` on every command carries an example; completion scripts are valid shell; and the
// built package (dist/, the npm "bin": the esbuild bundle) runs, made by the real build — tsc and
// scripts/build-cli.mjs — into a scratch folder.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { run } from '../../cli/run.js';
import { buildProgram } from '../../cli/program.js';
import type { CliIO } from '../../cli/io.js';
import { PROJECT_ROOT, CliSession, runTrust } from '../helpers/cli.js';
import { hasProgram, missingPrograms } from '../helpers/oci-layout.js';

function captureIO(): CliIO & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (s: string) => (out += s), isTTY: false },
    stderr: { write: (s: string) => (err += s), isTTY: false },
    stdin: process.stdin,
    env: { NO_COLOR: '1' },
    cwd: PROJECT_ROOT,
    out: () => out,
    err: () => err,
  };
}

function commandPaths(cmd: Command, prefix: string[] = []): string[][] {
  const out: string[][] = [];
  for (const c of cmd.commands) {
    if (c.name() === 'help') continue;
    const p = [...prefix, c.name()];
    out.push(p);
    out.push(...commandPaths(c, p));
  }
  return out;
}

describe('trust CLI help, completion and the built binary', { timeout: 300_000 }, () => {
  test('every command has --help with an example, exit 0', async () => {
    const program = await buildProgram(captureIO(), { exitCode: 0 });
    const paths = commandPaths(program);
    for (const expected of ['key generate', 'key import', 'key export', 'key list', 'key rotate', 'init', 'signer add', 'signer rotate', 'signer remove', 'signer list', 'sign', 'verify', 'inspect', 'root export', 'revoke', 'copy', 'server', 'server token create', 'completion', 'verify-manifests']) {
      assert.ok(paths.some((p) => p.join(' ') === expected), `command ${expected} exists`);
    }
    for (const p of paths) {
      const io = captureIO();
      const code = await run([...p, '--help'], io);
      assert.equal(code, 0, `${p.join(' ')} --help`);
      assert.match(io.out(), /\nExamples?:\n {2}\$ .*\btrust /, `${p.join(' ')} --help shows an example`);
      assert.match(io.out(), new RegExp(`^Usage: trust ${p.join(' ')}`), p.join(' '));
    }
    const top = captureIO();
    assert.equal(await run(['--help'], top), 0);
    assert.match(top.out(), /Exit codes: 0 success\/verified, 1 verification failed, 2 usage or input error, 3 environment error/);
  });

  test('trust server --help lists every setting of the settings table: its flag and its variable', async () => {
    const { SETTINGS } = await import('../../server/config/settings.js');
    const io = captureIO();
    assert.equal(await run(['server', '--help'], io), 0);
    const help = io.out().replace(/\s+/g, ' ');
    for (const s of SETTINGS) {
      assert.ok(help.includes(`${s.flag}${s.arg ? ` ${s.arg}` : ''} `), `${s.flag} in trust server --help`);
      if (s.type === 'bool') assert.ok(help.includes(`--no-${s.flag.slice(2)} `), `--no-${s.flag.slice(2)}`);
      assert.ok(help.includes(`env ${s.env}`), `${s.env} in trust server --help`);
    }
    assert.ok(help.includes('--listen <addr>'));
  });

  test('completion scripts: bash parses them, and they know the commands and options', async (t) => {
    const io = captureIO();
    assert.equal(await run(['completion', 'bash'], io), 0);
    const script = io.out();
    assert.match(script, /complete -F _trust trust/);
    assert.match(script, /"signer"\) echo "add rotate remove list"/);
    assert.match(script, /"sign"\) echo "--signer --key --recursive --expires --collection --concurrency --help"/);
    const zsh = captureIO();
    assert.equal(await run(['completion', 'zsh'], zsh), 0);
    assert.match(zsh.out(), /^#compdef trust\n/);
    if (!hasProgram('bash')) return t.skip('bash not installed');
    const r = spawnSync('bash', ['-c', `${script}\nCOMP_WORDS=(trust signer a); COMP_CWORD=2; _trust; echo "\${COMPREPLY[@]}"`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'add');
  });

  test('key import of an openssl key, export of its public half: the same SPKI PEM as openssl', { skip: missingPrograms('openssl') }, async () => {
    const s = new CliSession();
    try {
      const pem = join(s.home, 'bob.pem');
      const gen = spawnSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', pem], { encoding: 'utf8' });
      assert.equal(gen.status, 0, gen.stderr);
      const pub = spawnSync('openssl', ['pkey', '-in', pem, '-pubout'], { encoding: 'utf8' });
      assert.equal(pub.status, 0, pub.stderr);
      const imp = await s.run(['key', 'import', pem]);
      assert.equal(imp.code, 0, imp.stderr);
      assert.match(imp.stdout.trim(), /^[0-9a-f]{64}$/);
      const exp = await s.run(['key', 'export', '--public', 'bob']);
      assert.equal(exp.code, 0, exp.stderr);
      assert.equal(exp.stdout, pub.stdout);
      const again = await s.run(['key', 'import', '--name', 'bob2', pem]);
      assert.equal(again.code, 2, 'the same key twice is refused');
      assert.match(again.stderr, /\[KEY_EXISTS\]/);
    } finally {
      s.cleanup();
    }
  });

  describe('the built package', () => {
    let out: string;
    let s: CliSession;
    before(() => {
      // The real build, into a scratch folder inside the project (so node_modules resolve).
      out = mkdtempSync(join(PROJECT_ROOT, '.test-dist-'));
      const tsc = join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
      const r = spawnSync(process.execPath, [tsc, '-p', join(PROJECT_ROOT, 'tsconfig.build.json'), '--outDir', out], { encoding: 'utf8', cwd: PROJECT_ROOT });
      assert.equal(r.status, 0, `build failed:\n${r.stdout}\n${r.stderr}`);
      const b = spawnSync(process.execPath, [join(PROJECT_ROOT, 'scripts', 'build-cli.mjs'), '--outdir', join(out, 'cli', 'bundle')], { encoding: 'utf8', cwd: PROJECT_ROOT });
      assert.equal(b.status, 0, `bundle failed:\n${b.stdout}\n${b.stderr}`);
      s = new CliSession();
    });
    after(() => {
      if (out) rmSync(out, { recursive: true, force: true });
      s?.cleanup();
    });

    test('package.json bin points at the bundle, which has a node shebang; tsc still builds cli/main.js', async () => {
      const pkg = JSON.parse(await readFile(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string>; version: string };
      assert.equal(pkg.bin.trust, 'dist/cli/bundle/trust.js');
      const main = join(out, 'cli', 'bundle', 'trust.js');
      assert.ok(existsSync(main));
      assert.match(await readFile(main, 'utf8'), /^#!\/usr\/bin\/env node\n/);
      assert.ok(existsSync(join(out, 'cli', 'main.js')));
    });

    test('runs: --version, key generate, key list -o json, a usage error', async () => {
      const pkg = JSON.parse(await readFile(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
      const main = join(out, 'cli', 'bundle', 'trust.js');
      const exec = (args: string[]) => runTrust(args, { env: s.env, script: main });
      const v = await exec(['--version']);
      assert.equal(v.code, 0, v.stderr);
      assert.equal(v.stdout, `${pkg.version}\n`);
      const late = await exec(['-q', '--server', 'http://127.0.0.1:1', '--version']);
      assert.equal(late.stdout, `${pkg.version}\n`, 'the version after global options too');
      // Only the invoked command is loaded, yet help lists every one, and a typo gets a suggestion.
      const help = await exec(['--help']);
      assert.equal(help.code, 0, help.stderr);
      for (const c of ['key', 'init', 'signer', 'sign', 'verify', 'inspect', 'root', 'revoke', 'copy', 'server', 'verify-manifests', 'completion']) {
        assert.match(help.stdout, new RegExp(`\\n  ${c} `), `--help lists ${c}`);
      }
      const vh = await exec(['--server', 'http://127.0.0.1:1', 'verify', '--help']);
      assert.equal(vh.code, 0, vh.stderr);
      assert.match(vh.stdout, /^Usage: trust verify \[options\] <image\.\.\.>/);
      const typo = await exec(['verfy', 'x']);
      assert.equal(typo.code, 2);
      assert.match(typo.stderr, /^trust: unknown command 'verfy'\n\(Did you mean verify\?\)/);
      // Errors from the bundle: one line, the stable code, no stack trace.
      const badRef = await exec(['verify', 'NOT A REF']);
      assert.equal(badRef.code, 2);
      assert.match(badRef.stderr, /^trust: invalid image reference "NOT A REF": .*\[REFERENCE_INVALID\]\n$/);
      const down = await exec(['--server', 'http://127.0.0.1:1', 'signer', 'list', 'localhost:1/x']);
      assert.equal(down.code, 3);
      assert.match(down.stderr, /^trust: [^\n]+ \[[A-Z_]+_UNREACHABLE\]\n$/);
      const g = await exec(['key', 'generate', 'distkey', '--dir', s.home]);
      assert.equal(g.code, 0, g.stderr);
      assert.match(g.stdout.trim(), /^[0-9a-f]{64}$/);
      const l = await exec(['key', 'list', '-o', 'json']);
      assert.equal(l.code, 0, l.stderr);
      assert.deepEqual(JSON.parse(l.stdout).keys.map((k: { name: string; keyid: string }) => [k.name, k.keyid]), [['distkey', g.stdout.trim()]]);
      const bad = await exec(['verify']);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /missing required argument/);
    });
  });
});
