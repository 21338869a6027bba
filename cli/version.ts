/**
 * The ocitrust version `trust --version` prints. The bundled CLI (scripts/build-cli.mjs) has it
 * inlined at build time, so printing it reads no file; run from the sources or the plain tsc
 * output, it comes from package.json.
 */

// Replaced by a string literal in the bundle (esbuild `define`); undeclared everywhere else,
// which `typeof` tolerates.
declare const __OCITRUST_VERSION__: string | undefined;

/** The package version, or `0.0.0` when it cannot be determined. */
export async function cliVersion(): Promise<string> {
  if (typeof __OCITRUST_VERSION__ === 'string') return __OCITRUST_VERSION__;
  try {
    const { readFile } = await import('node:fs/promises');
    // cli/version.ts runs from the source tree and from dist/cli; package.json is found either way.
    for (const rel of ['../package.json', '../../package.json']) {
      try {
        const pkg = JSON.parse(await readFile(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
        if (pkg.name === 'ocitrust' && typeof pkg.version === 'string') return pkg.version;
      } catch {
        // try the next location
      }
    }
  } catch {
    // fall through
  }
  return '0.0.0';
}
