// Architecture rules that the type checker cannot see: lib/ imports no adapter, the pure
// layers do no I/O, and the public entry point loads without the server's dependencies.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('../../', import.meta.url).pathname;

function files(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) files(p, out);
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

const importsOf = (p: string): string[] =>
  [...readFileSync(p, 'utf8').matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => (m[1] ?? m[2])!);

describe('module boundaries', () => {
  it('lib/ imports nothing from server/, cli/ or hook/', () => {
    for (const f of files(join(root, 'lib'))) {
      for (const spec of importsOf(f)) {
        assert.ok(!/(^|\/)\.\.\/(\.\.\/)*(server|cli|hook)\//.test(spec), `${relative(root, f)} imports ${spec}`);
      }
    }
  });

  it('no CLI command imports another command (shared code lives beside them, e.g. cli/verify-outcome.ts)', () => {
    for (const f of files(join(root, 'cli', 'commands'))) {
      for (const spec of importsOf(f)) assert.ok(!/^\.\/[^/]+\.js$/.test(spec), `${relative(root, f)} imports ${spec}`);
    }
  });

  it('the pure layers (verify, metadata, statements, crypto) do no I/O and use no server packages', () => {
    const banned = /^(node:)?(fs|fs\/promises|net|http|https|http2|child_process|dgram|tls)$|^(fastify|pg|better-sqlite3|undici)/;
    for (const area of ['verify', 'metadata', 'statements', 'crypto']) {
      for (const f of files(join(root, 'lib', area))) {
        for (const spec of importsOf(f)) assert.ok(!banned.test(spec), `${relative(root, f)} imports ${spec}`);
      }
    }
  });

  it('the public entry point loads and exports the documented names', async () => {
    const lib = await import('../../lib/index.js');
    for (const name of ['verifyImage', 'verifyReference', 'signImage', 'Updater', 'KeyStore', 'HttpRegistryClient', 'OcitrustError', 'parseReference']) {
      assert.equal(typeof (lib as Record<string, unknown>)[name], 'function', name);
    }
  });
});
