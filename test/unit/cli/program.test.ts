// Lazy command loading (issue 8 item 5): the program registers only the command argv invokes
// when that is unambiguous, and every command whenever commander needs to see them all.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildProgram, invokedCommand } from '../../../cli/program.js';
import type { CliIO } from '../../../cli/io.js';

const ALL = ['key', 'init', 'signer', 'sign', 'verify', 'inspect', 'root', 'revoke', 'copy', 'save', 'load', 'server', 'verify-manifests', 'import-notary', 'login', 'logout', 'whoami', 'completion'];

function quietIO(): CliIO {
  return { stdout: { write: () => true }, stderr: { write: () => true }, stdin: process.stdin, env: {}, cwd: process.cwd() };
}

describe('invokedCommand', () => {
  it('finds the command after global options and their values', () => {
    assert.equal(invokedCommand(['verify', 'a/b:c']), 'verify');
    assert.equal(invokedCommand(['sign', '--help']), 'sign');
    assert.equal(invokedCommand(['--server', 'http://x', '--home', '/h', '-o', 'json', 'verify', 'img']), 'verify');
    assert.equal(invokedCommand(['--passphrase-file', 'verify', '--token-file', 'sign', 'key', 'list']), 'key');
    assert.equal(invokedCommand(['--pin-file', 'init', 'sign', 'x']), 'sign', '--pin-file takes a value');
    assert.equal(invokedCommand(['--server=http://x', '--output=json', '-ojson', 'inspect', 'x']), 'inspect');
    assert.equal(invokedCommand(['-q', '--plain-http', '--quiet', 'verify-manifests', 'f.yaml']), 'verify-manifests');
    assert.equal(invokedCommand(['--version', 'server']), 'server');
  });

  it('loads everything when commander must see every command', () => {
    for (const argv of [
      [],
      ['--help'],
      ['-h', 'verify'],
      ['help', 'verify'],
      ['completion', 'bash'],
      ['verfy'],
      ['--bogus', 'verify'],
      ['-qo', 'json', 'verify'],
      ['--', 'verify'],
      ['--server'],
      ['--server', 'x'],
      ['-', 'verify'],
      ['--passphrase-file=verify'],
    ]) {
      assert.equal(invokedCommand(argv), undefined, JSON.stringify(argv));
    }
  });
});

describe('buildProgram', () => {
  it('registers only the invoked command, or all of them in help order', async () => {
    const names = async (argv: string[]) => (await buildProgram(quietIO(), { exitCode: 0 }, argv)).commands.map((c) => c.name()).filter((n) => n !== 'help');
    assert.deepEqual(await names(['--server', 'http://x', 'verify', 'img']), ['verify']);
    assert.deepEqual(await names(['server', 'token', 'list']), ['server']);
    assert.deepEqual(await names([]), ALL);
    assert.deepEqual(await names(['help']), ALL);
    assert.deepEqual(await names(['completion', 'bash']), ALL);
    assert.deepEqual(await names(['nope']), ALL);
  });
});
