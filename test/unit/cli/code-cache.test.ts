// cli/code-cache.ts (issue 20): the bundled CLI runs from a per-command V8 code cache that is
// used only when it names this very bundle and sits in a folder of this user's alone.
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cacheName, codeCacheDir } from '../../../cli/code-cache.js';

/** Loads a bundle as cli/main.ts does and prints {result, fromCache}. */
const DRIVER = fileURLToPath(new URL('./code-cache-driver.ts', import.meta.url));

/** A stand-in for trust.cjs: a CommonJS script exporting run(), with some functions to compile. */
function bundleSource(answer: number, pad = ''): string {
  return `'use strict';${pad}\nfunction square(x) { return x * x; }\nexports.run = async (argv) => square(${answer}) + argv.length;\n`;
}

describe('code cache of the bundled CLI', () => {
  let dir: string;
  let bundle: string;
  let env: NodeJS.ProcessEnv;
  const cacheDir = (): string => join(dir, 'cache', 'ocitrust');

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ocitrust-code-cache-'));
    bundle = join(dir, 'trust.cjs');
    writeFileSync(bundle, bundleSource(3));
    env = { HOME: join(dir, 'home'), XDG_CACHE_HOME: join(dir, 'cache') };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  // Each run in its own process, as `trust` runs: within one process V8 answers a second
  // compile of the same source from memory and never looks at the cache.
  async function runOnce(argv: string[], id = 'build-1'): Promise<{ result: number; fromCache: boolean }> {
    const r = spawnSync(process.execPath, ['--import', 'tsx', DRIVER, bundle, id, JSON.stringify(env), ...argv], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as { result: number; fromCache: boolean };
  }

  test('the first run writes the command\'s cache (folder 0700, file 0600); the next run takes it and answers the same', async () => {
    assert.deepEqual(await runOnce(['verify', 'x']), { result: 11, fromCache: false });
    assert.deepEqual(readdirSync(cacheDir()), ['verify.v8']);
    assert.equal(statSync(cacheDir()).mode & 0o777, 0o700);
    assert.equal(statSync(join(cacheDir(), 'verify.v8')).mode & 0o777, 0o600);
    assert.deepEqual(await runOnce(['verify', 'y']), { result: 11, fromCache: true });
    // Another command has its own file.
    assert.deepEqual(await runOnce(['sign', 'x', 'y']), { result: 12, fromCache: false });
    assert.deepEqual(readdirSync(cacheDir()).sort(), ['sign.v8', 'verify.v8']);
  });

  test('a cache of another bundle is never taken, even of the same length: another build id, or the same file rewritten', async () => {
    await runOnce(['verify']);
    assert.equal((await runOnce(['verify'], 'build-2')).fromCache, false, 'another build id');
    assert.equal((await runOnce(['verify'], 'build-2')).fromCache, true, 'rewritten for build-2');
    // Same length, other content, same build id (a hand edit): the file's identity changed.
    const before = readFileSync(bundle, 'latin1');
    writeFileSync(bundle, bundleSource(4));
    assert.equal(readFileSync(bundle, 'latin1').length, before.length);
    utimesSync(bundle, new Date(Date.now() + 5000), new Date(Date.now() + 5000));
    assert.deepEqual(await runOnce(['verify'], 'build-2'), { result: 17, fromCache: false });
  });

  test('a damaged cache is refused by V8 or by its header, the command still runs, and the file is rewritten', async () => {
    await runOnce(['verify']);
    const file = join(cacheDir(), 'verify.v8');
    const bytes = readFileSync(file);
    // Header intact, payload garbage.
    const header = bytes.indexOf(0x0a, bytes.indexOf(0x0a) + 1) + 1;
    writeFileSync(file, Buffer.concat([bytes.subarray(0, header), Buffer.alloc(bytes.length - header, 0x41)]), { mode: 0o600 });
    assert.deepEqual(await runOnce(['verify']), { result: 10, fromCache: false });
    assert.equal((await runOnce(['verify'])).fromCache, true, 'rewritten');
    writeFileSync(file, 'not a cache', { mode: 0o600 });
    assert.deepEqual(await runOnce(['verify']), { result: 10, fromCache: false });
  });

  test('a run that failed writes no cache: the next successful one does', async () => {
    writeFileSync(bundle, bundleSource(11));
    assert.deepEqual(await runOnce(['verify']), { result: 122, fromCache: false });
    assert.throws(() => readdirSync(cacheDir()), /ENOENT/, 'exit code 1 (the driver fails a result over 100)');
    writeFileSync(bundle, bundleSource(3));
    assert.deepEqual(await runOnce(['verify']), { result: 10, fromCache: false });
    assert.deepEqual(await runOnce(['verify']), { result: 10, fromCache: true });
  });

  test('a folder or file others can write is neither read nor written', async () => {
    await runOnce(['verify']);
    chmodSync(join(cacheDir(), 'verify.v8'), 0o666);
    assert.equal((await runOnce(['verify'])).fromCache, false, 'file writable by others');
    chmodSync(join(cacheDir(), 'verify.v8'), 0o600);
    assert.equal((await runOnce(['verify'])).fromCache, true);
    chmodSync(cacheDir(), 0o777);
    assert.equal((await runOnce(['verify'])).fromCache, false, 'folder writable by others');
    assert.equal((await runOnce(['sign'])).fromCache, false);
    assert.deepEqual(readdirSync(cacheDir()), ['verify.v8'], 'nothing written into a folder others can write');
  });

  test('OCITRUST_CODE_CACHE=off: no cache read or written; an unwritable folder only costs the compile', async () => {
    env.OCITRUST_CODE_CACHE = 'off';
    assert.deepEqual(await runOnce(['verify']), { result: 10, fromCache: false });
    assert.throws(() => readdirSync(cacheDir()), /ENOENT/);
    delete env.OCITRUST_CODE_CACHE;
    writeFileSync(join(dir, 'cache-is-a-file'), '');
    env.XDG_CACHE_HOME = join(dir, 'cache-is-a-file');
    assert.deepEqual(await runOnce(['verify']), { result: 10, fromCache: false });
  });

  test('the folder: $XDG_CACHE_HOME/ocitrust (absolute only), else $HOME/.cache/ocitrust', () => {
    assert.equal(codeCacheDir({ XDG_CACHE_HOME: '/x/cache', HOME: '/h' }), '/x/cache/ocitrust');
    assert.equal(codeCacheDir({ XDG_CACHE_HOME: 'relative', HOME: '/h' }), '/h/.cache/ocitrust');
    assert.equal(codeCacheDir({ HOME: '/h' }), '/h/.cache/ocitrust');
    assert.equal(codeCacheDir({ HOME: '/h', OCITRUST_CODE_CACHE: 'off' }), undefined);
  });

  test('the file is named for the command; anything else shares trust.v8', () => {
    assert.equal(cacheName(['verify', 'img']), 'verify.v8');
    assert.equal(cacheName(['-o', 'json', 'sign', 'img']), 'json.v8');
    assert.equal(cacheName(['--version']), 'trust.v8');
    assert.equal(cacheName(['../../etc/passwd']), 'trust.v8');
    assert.equal(cacheName([]), 'trust.v8');
    // Help is another code path than the command: its own file.
    assert.equal(cacheName(['verify', '--help']), 'verify-help.v8');
    assert.equal(cacheName(['verify', '-h']), 'verify-help.v8');
    assert.equal(cacheName(['--help']), 'trust-help.v8');
    assert.equal(cacheName(['help', 'verify']), 'help.v8');
  });
});
